"""Real camera spectral responses, and RGB augmentation through them.

:func:`load_cameras` reads the 32 measured responses of the shared ``srf/`` folder (docs/spectral.md);
:func:`augment_rgb` renders a reflectance cube through a randomly chosen one, with a random exposure and sensor
noise, so that a model trained on the rendered RGB does not learn one camera's colours. ``ntire2020_nikon_d40``
is, despite its name, camspec's Canon 40D with a gain per channel. The CAVE matrix ``iniA`` (3, 31) has negative
lobes (down to -0.26), which no physical sensor has: they are clipped to 0. The NTIRE 2022 QE's two green
columns (G1, G2) are averaged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hprn_geo.colour_science import import_colour
from hprn_geo.errors import DataFileError, RasterReadError
from hprn_geo.spectral import render_rgb, response_on_grid

__all__ = ["Camera", "PhotoDegradation", "augment_rgb", "load_cameras"]

_CAMSPEC = "camspec_jiang2013_28cams.npz"
_NTIRE2020 = {
    "ntire2020_cie1964": "ntire2020_cie1964_w_gain.npz",
    "ntire2020_nikon_d40": "ntire2020_nikon_d40_w_gain.npz",
}
_CAVE = "cave_nikon_d700_response.mat"
_NTIRE2022 = "ntire2022_rgb_camera_qe.csv"


@dataclass(frozen=True, eq=False)
class Camera:
    """A camera's spectral response.

    Attributes:
        name: e.g. ``"Nikon D700"`` or ``"ntire2022_qe"``.
        wavelengths: ``(K,)`` float64, nm.
        response: ``(K, 3)`` float64, columns R, G, B, non-negative, any scale.
    """

    name: str
    wavelengths: np.ndarray
    response: np.ndarray

    def on_grid(self, wavelengths: np.ndarray) -> np.ndarray:
        """The response on another grid, ``(B, 3)``, zero outside the camera's range."""
        return response_on_grid(self.wavelengths, self.response, wavelengths)


def load_cameras(srf_dir: Path) -> dict[str, Camera]:
    """Read the 32 real camera responses of the shared ``srf/`` folder.

    Args:
        srf_dir: folder holding ``camspec_jiang2013_28cams.npz``, ``ntire2020_cie1964_w_gain.npz``,
            ``ntire2020_nikon_d40_w_gain.npz``, ``cave_nikon_d700_response.mat`` and ``ntire2022_rgb_camera_qe.csv``.

    Returns:
        Cameras by name, camspec's 28 first (in file order), then
        ``ntire2020_cie1964``, ``ntire2020_nikon_d40``, ``cave_nikon_d700``,
        ``ntire2022_qe``.

    Raises:
        RasterReadError: a file is missing.
        DataFileError: a file does not have the expected layout.
    """
    srf_dir = Path(srf_dir)
    cameras = _read_camspec(_need(srf_dir / _CAMSPEC))
    for name, filename in _NTIRE2020.items():
        cameras[name] = _read_ntire2020(_need(srf_dir / filename), name)
    cameras["cave_nikon_d700"] = _read_cave(_need(srf_dir / _CAVE))
    cameras["ntire2022_qe"] = _read_ntire2022(_need(srf_dir / _NTIRE2022))
    return cameras


def augment_rgb(cube: np.ndarray, wavelengths: np.ndarray, cameras: Sequence[Camera], rng: np.random.Generator,
                exposure: tuple[float, float] = (0.7, 1.3), noise_std: float = 0.005) -> np.ndarray:
    """Render a reflectance cube to RGB through a random camera, exposure and noise.

    ``rgb = exposure * render_rgb(cube, camera) + noise``: camera and exposure drawn uniformly, white rendering
    to 1 (:func:`hprn_geo.spectral.render_rgb`); the noise is additive white Gaussian in reflectance units, the
    same at every signal level (read noise; no shot noise). The result is not clipped.

    Args:
        cube: ``(B, H, W)`` reflectance.
        wavelengths: ``(B,)`` nm.
        cameras: at least one camera, each sensitive in all three channels somewhere in the cube's range.
        rng: the source of randomness (reproducible for a seeded generator).
        exposure: (low, high) range of the exposure factor.
        noise_std: noise standard deviation; 0 for none.

    Returns:
        ``(3, H, W)`` float32.
    """
    if not cameras:
        raise ValueError("augment_rgb needs at least one camera")
    camera = cameras[int(rng.integers(len(cameras)))]
    rgb = render_rgb(cube, camera.on_grid(wavelengths))
    rgb *= np.float32(rng.uniform(*exposure))
    if noise_std > 0:
        rgb += rng.normal(0.0, noise_std, size=rgb.shape).astype(np.float32)
    return rgb


@dataclass(frozen=True)
class PhotoDegradation:
    """What a real photograph does to linear RGB, drawn at random for training.

    Applied in this order to ``(3, H, W)`` linear RGB in reflectance units:

    1. white-balance error: each channel times ``exp(N(0, white_balance_std))``;
    2. a mis-linearised photo: values clipped to [0, 1] and raised to an
       exponent drawn log-uniformly from ``gamma_range``;
    3. with probability ``quantize_fraction``: sRGB-encoded (IEC 61966-2-1,
       colour-science's ``eotf_inverse_sRGB``), rounded to 8 bits and decoded;
    4. a Gaussian blur of sigma drawn uniformly from [0, ``blur_sigma``] pixels.

    The target spectra are not changed: the model learns to see through these.

    Attributes:
        white_balance_std: log-gain standard deviation per channel.
        gamma_range: (low, high) exponent; (1, 1) for none.
        quantize_fraction: share of images quantised to 8-bit sRGB.
        blur_sigma: largest blur, pixels.
    """

    white_balance_std: float = 0.0
    gamma_range: tuple[float, float] = (1.0, 1.0)
    quantize_fraction: float = 0.0
    blur_sigma: float = 0.0

    @property
    def active(self) -> bool:
        """Whether any degradation is switched on."""
        return bool(self.white_balance_std or self.gamma_range != (1.0, 1.0) or self.quantize_fraction or self.blur_sigma)

    def __call__(self, rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(3, H, W) -> (3, H, W) float32, degraded."""
        out = np.asarray(rgb, np.float64)
        if self.white_balance_std:
            out = out * np.exp(rng.normal(0.0, self.white_balance_std, size=(3, 1, 1)))
        if self.gamma_range != (1.0, 1.0):
            low, high = np.log(self.gamma_range)
            out = np.clip(out, 0.0, 1.0) ** np.exp(rng.uniform(low, high))
        if rng.random() < self.quantize_fraction:
            colour = import_colour()
            encoded = np.round(colour.models.eotf_inverse_sRGB(np.clip(out, 0.0, 1.0)) * 255.0) / 255.0
            out = colour.models.eotf_sRGB(encoded)
        if self.blur_sigma:
            from scipy.ndimage import gaussian_filter  # on first use: scipy costs `hprn-geo models` 0.24 s

            out = gaussian_filter(out, (0.0, *(2 * [rng.uniform(0.0, self.blur_sigma)])), mode="reflect")
        return out.astype(np.float32)


def _need(path: Path) -> Path:
    if not path.is_file():
        raise RasterReadError(f"camera response file not found: {path}")
    return path


def _camera(name: str, wavelengths: np.ndarray, response: np.ndarray, source: Path) -> Camera:
    wavelengths = np.asarray(wavelengths, dtype=np.float64).ravel()
    response = np.asarray(response, dtype=np.float64)
    if response.shape != (wavelengths.size, 3):
        raise DataFileError(f"{source.name}: {name} response is {response.shape}, expected ({wavelengths.size}, 3)")
    return Camera(name, wavelengths, np.clip(response, 0.0, None))


def _read_camspec(path: Path) -> dict[str, Camera]:
    with np.load(path, allow_pickle=False) as data:
        if "wavelengths" not in data.files:
            raise DataFileError(f"{path.name} has no 'wavelengths'; keys: {', '.join(data.files)}")
        grid = data["wavelengths"]
        return {name: _camera(name, grid, data[name], path) for name in data.files if name != "wavelengths"}


def _read_ntire2020(path: Path, name: str) -> Camera:
    with np.load(path, allow_pickle=False) as data:
        if not {"filters", "bands"} <= set(data.files):
            raise DataFileError(f"{path.name} needs 'filters' and 'bands'; keys: {', '.join(data.files)}")
        return _camera(name, data["bands"], data["filters"], path)


def _read_cave(path: Path) -> Camera:
    import scipy.io  # on first use, as gaussian_filter

    data = scipy.io.loadmat(path)
    if "iniA" not in data:
        raise DataFileError(f"{path.name} has no 'iniA'; keys: {', '.join(k for k in data if not k.startswith('__'))}")
    return _camera("cave_nikon_d700", np.arange(400.0, 701.0, 10.0), data["iniA"].T, path)  # 400-700 nm assumed


def _read_ntire2022(path: Path) -> Camera:
    header = path.read_text().splitlines()[0].split(",")
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    columns = {name.strip(): table[:, i] for i, name in enumerate(header)}
    if not {"R", "G1", "G2", "B"} <= set(columns):
        raise DataFileError(f"{path.name} needs columns R, G1, G2, B; has {', '.join(columns)}")
    green = (columns["G1"] + columns["G2"]) / 2.0
    return _camera("ntire2022_qe", table[:, 0], np.stack([columns["R"], green, columns["B"]], axis=1), path)
