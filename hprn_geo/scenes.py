"""The data side shared by training, evaluation, classification and scene fits: scenes on a
wavelength grid (:func:`load_scene`), the RGB input convention (:class:`InputConvention`) and its
rendering (:class:`RGBRenderer`), and patch geometry.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hprn_geo.cameras import Camera, PhotoDegradation, augment_rgb
from hprn_geo.errors import DataFileError
from hprn_geo.io.cube import Cube
from hprn_geo.io.cubes import read_cube
from hprn_geo.io.shared import SHARED_CUBES, load_shared
from hprn_geo.sensors import NIR, SENSORS
from hprn_geo.spectral import normalised_response, render_rgb, resample

__all__ = [
    "InputConvention",
    "RGBRenderer",
    "Scene",
    "camera_folder",
    "load_scene",
    "patch_positions",
    "random_dihedral",
    "scene_name",
    "to_grid",
    "training_pairs",
    "window_sums",
]


@dataclass(frozen=True)
class Scene:
    """One scene on the output wavelength grid.

    Attributes:
        name: the name it was asked by (a shared name, a pattern's common stem, or a file stem).
        cube: (B, H, W) float32 reflectance, NaN where there is no data (outside
            mosaicked tiles, or masked by the file).
    """

    name: str
    cube: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        """(H, W) bool: pixels with data in every band."""
        return np.isfinite(self.cube).all(axis=0)

    def spectra(self) -> np.ndarray:
        """(B, N) the valid pixels' spectra."""
        return self.cube[:, self.valid]


def load_scene(
    source: str,
    wavelengths: Sequence[float],
    data_dir: str | Path | None = None,
    fwhm: float | Sequence[float] | None = None,
    edge_clamp_nm: float = 2.0,
) -> Scene:
    """Read a reflectance cube and resample it to ``wavelengths``.

    Args:
        source: a cube file; a name of :data:`hprn_geo.io.shared.SHARED_CUBES`;
            or a glob over those names (``"enmap_potsdam_tile_*"``), whose
            tiles are mosaicked by their ``tile_xy_offset`` into one scene.
        wavelengths: (B,) target band centres, nm.
        data_dir: the shared data folder (for names).
        fwhm: target band width(s) for Gaussian resampling, or None for linear interpolation.
        edge_clamp_nm: see :func:`to_grid`.

    Pixels that a cube's ``mask`` extra marks 0 (MUUFL's ``mask_sub``) become NaN.

    Raises:
        DataFileError: unknown source, radiance instead of reflectance, or a
            cube that does not cover the wavelength range.
    """
    cubes = _read_sources(source, data_dir)
    grids = [_masked(to_grid(cube, wavelengths, fwhm, edge_clamp_nm), cube) for cube in cubes]
    offsets = [cube.extras.get("tile_xy_offset") for cube in cubes]
    return Scene(scene_name(source), grids[0] if len(grids) == 1 else _mosaic(grids, offsets, source))


def scene_name(source: str) -> str:
    """The name :func:`load_scene` gives ``source``: a file's stem, or a shared name (a glob
    of tiles without its wildcard tail: ``"enmap_potsdam_tile_*"`` -> ``"enmap_potsdam_tile"``)."""
    return Path(source).stem if Path(source).exists() else source.rstrip("*_?")


def training_pairs(scenes: Sequence[Scene], renderer: RGBRenderer) -> tuple[np.ndarray, np.ndarray]:
    """The valid pixels of ``scenes`` as (rgb (3, N), spectra (B, N)), RGB by the fixed convention."""
    rgb = np.concatenate([renderer.fixed(s.cube)[:, s.valid] for s in scenes], axis=1)
    return rgb, np.concatenate([s.spectra() for s in scenes], axis=1)


def _masked(grid: np.ndarray, cube: Cube) -> np.ndarray:
    """NaN where the cube's ``mask`` extra (an (H, W) array, 0 = no data) says so, as MUUFL's ``mask_sub``."""
    mask = cube.extras.get("mask")
    if mask is not None and np.shape(mask) == grid.shape[1:]:
        grid[:, np.asarray(mask) == 0] = np.nan
    return grid


def _read_sources(source: str, data_dir: str | Path | None) -> list[Cube]:
    if Path(source).exists():
        cubes = [read_cube(source)]
    else:
        names = fnmatch.filter(SHARED_CUBES, source)
        if not names:
            raise DataFileError(f"{source!r} is neither a file nor a shared cube name; known: {', '.join(SHARED_CUBES)}")
        if data_dir is None:
            raise DataFileError(f"shared cube {source!r} needs the shared data folder (data_dir / --data-dir)")
        cubes = [load_shared(name, data_dir) for name in names]
    for cube in cubes:
        if cube.kind != "reflectance":
            raise DataFileError(f"cube {cube.name!r} holds {cube.kind}, not reflectance; it cannot be a target")
        if cube.wavelengths is None:
            raise DataFileError(f"cube {cube.name!r} has no wavelengths; they are needed to resample it")
    return cubes


def to_grid(
    cube: Cube, wavelengths: Sequence[float], fwhm: float | Sequence[float] | None = None, edge_clamp_nm: float = 2.0
) -> np.ndarray:
    """Resample a cube onto a wavelength grid, clamping a short gap at either end.

    A cube whose range stops short of the grid by at most ``edge_clamp_nm``
    (Samson starts at 401 nm, a 400-700 nm grid at 400) is extended with a
    copy of its edge band at the grid's end before resampling: constant
    extrapolation over the gap.

    Args:
        cube: the source cube with wavelengths.
        wavelengths: (B,) target centres, nm.
        fwhm: target band width(s) (nm), a scalar or (B,), or None (linear interpolation).
        edge_clamp_nm: largest gap that is filled.

    Returns:
        (B, H, W) float32.

    Raises:
        DataFileError: a gap wider than ``edge_clamp_nm``.
    """
    target = np.asarray(wavelengths, dtype=np.float64)
    source = np.asarray(cube.wavelengths, dtype=np.float64)
    data = cube.data
    low, high = source.argmin(), source.argmax()
    gaps = (source[low] - target.min(), target.max() - source[high])
    if max(gaps) > edge_clamp_nm:
        raise DataFileError(
            f"cube {cube.name!r} covers {source.min():g}-{source.max():g} nm, short of the grid's "
            f"{target.min():g}-{target.max():g} nm by more than edge_clamp_nm={edge_clamp_nm:g}"
        )
    if gaps[0] > 0:
        source, data = np.append(source, target.min()), np.concatenate([data, data[low : low + 1]])
    if gaps[1] > 0:
        source, data = np.append(source, target.max()), np.concatenate([data, data[high : high + 1]])
    widths = None if fwhm is None else np.broadcast_to(np.asarray(fwhm, np.float64), target.shape)
    return resample(data, source, target, fwhm=widths).astype(np.float32)


def _mosaic(grids: list[np.ndarray], offsets: list[object], source: str) -> np.ndarray:
    """Tiles (B, h, w) placed at their (col, row) offsets on a NaN canvas."""
    if any(offset is None for offset in offsets):
        raise DataFileError(f"{source!r} matches several cubes that are not tiles with offsets; name one")
    cols, rows = (np.array([offset[i] for offset in offsets]) for i in (0, 1))  # type: ignore[index]
    cols, rows = cols - cols.min(), rows - rows.min()
    height = max(r + g.shape[1] for r, g in zip(rows, grids))
    width = max(c + g.shape[2] for c, g in zip(cols, grids))
    canvas = np.full((grids[0].shape[0], height, width), np.nan, np.float32)
    for grid, row, col in zip(grids, rows, cols):
        canvas[:, row : row + grid.shape[1], col : col + grid.shape[2]] = grid
    return canvas


# ---------------------------------------------------------------- RGB input


@dataclass(frozen=True)
class InputConvention:
    """How a model's RGB input is made from reflectance; exactly one field is set.

    Attributes:
        camera: a camera or satellite sensor of :func:`hprn_geo.sensors.load_responses`; RGB =
            :func:`hprn_geo.spectral.render_rgb` through it (white -> 1); ``NAME+nir``: R, G, B and NIR.
        rgb_bands: 1-based (R, G, B) bands of the output grid used as RGB.

    The card's ``input`` text starts with a machine-readable prefix,
    ``"camera:NAME"`` or ``"bands:R,G,B"``, that :meth:`from_card` reads back.
    """

    camera: str | None = None
    rgb_bands: tuple[int, int, int] | None = None

    def __post_init__(self) -> None:
        if (self.camera is None) == (self.rgb_bands is None):
            raise DataFileError("an input convention needs exactly one of camera and rgb_bands")

    def describe(self) -> str:
        """The card's ``input`` text."""
        if self.camera is not None:
            return (
                f"camera:{self.camera} | linear RGB rendered from reflectance through this camera response, "
                "each channel normalised so a white reflector gives 1 (RGB in reflectance units, no gamma)"
            )
        r, g, b = self.rgb_bands  # type: ignore[misc]
        return f"bands:{r},{g},{b} | RGB = the cube's own bands {r}, {g}, {b} (1-based; R, G, B) as reflectance"

    @classmethod
    def from_card(cls, text: str) -> InputConvention:
        """Inverse of :meth:`describe` (reads the prefix only)."""
        prefix = text.split("|")[0].strip()
        kind, _, value = prefix.partition(":")
        if kind == "camera" and value:
            return cls(camera=value)
        if kind == "bands" and value:
            return cls(rgb_bands=tuple(int(v) for v in value.split(",")))  # type: ignore[arg-type]
        raise DataFileError(f"the card's input {text!r} does not say how to render RGB; pass a camera or rgb bands")


class RGBRenderer:
    """Renders RGB from target cubes by an input convention, plain or augmented.

    Args:
        convention: the fixed input convention (validation, test, baselines).
        wavelengths: (B,) the cubes' grid, nm.
        cameras: available cameras by name (needed for a camera convention or augmentation).
        augment: camera names drawn at random for training (``("all",)`` for every real camera,
            no satellite sensor).
        fixed_fraction: share of training renders through the fixed convention.
        noise_std: Gaussian noise added to training RGB, reflectance units.
        degradation: what real photos do to training RGB (after the noise).
        holdout: camera names never drawn for augmentation.
    """

    def __init__(
        self,
        convention: InputConvention,
        wavelengths: Sequence[float],
        cameras: Mapping[str, Camera] | None = None,
        augment: Sequence[str] = (),
        fixed_fraction: float = 1.0,
        noise_std: float = 0.0,
        degradation: PhotoDegradation = PhotoDegradation(),
        holdout: Sequence[str] = (),
    ) -> None:
        self.convention = convention
        self.wavelengths = np.asarray(wavelengths, dtype=np.float64)
        cameras = dict(cameras or {})
        every_camera = [n for n in cameras if n.removesuffix(NIR) not in SENSORS]
        names = [n for n in (every_camera if tuple(augment) == ("all",) else augment) if n not in holdout]
        missing = [n for n in names + [convention.camera or ""] if n and n not in cameras]
        if missing:
            raise DataFileError(f"unknown camera(s) {missing}; known: {', '.join(cameras) or 'none loaded'}")
        self.fixed_camera = cameras[convention.camera] if convention.camera else None
        self.augment = [cameras[n] for n in names]
        self.fixed_fraction = fixed_fraction if self.augment else 1.0
        self.noise_std = noise_std
        self.degradation = degradation

    def fixed(self, cube: np.ndarray) -> np.ndarray:
        """(B, H, W) reflectance -> (C, H, W) float32 RGB by the fixed convention, noise-free (C = 4: R, G, B
        and NIR, for a sensor's ``+nir`` convention)."""
        if self.fixed_camera is not None:
            return render_rgb(cube, self.fixed_camera.on_grid(self.wavelengths))
        return cube[[b - 1 for b in self.convention.rgb_bands]].astype(np.float32)  # type: ignore[union-attr]

    def input_response(self) -> np.ndarray:
        """(C, B) float64 ``R`` with :meth:`fixed` ``(cube) == R @ cube``: the card's ``input_response``.

        A camera: its response on the grid, each row summing to 1 (white -> 1);
        ``rgb_bands``: one-hot rows selecting those bands.
        """
        if self.fixed_camera is not None:
            return normalised_response(self.fixed_camera.on_grid(self.wavelengths))
        return np.eye(self.wavelengths.size)[[b - 1 for b in self.convention.rgb_bands]]  # type: ignore[union-attr]

    def training(self, cube: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(B, H, W) -> (3, H, W): a random camera (or the fixed convention), noise, then the photo degradation."""
        if self.fixed_fraction < 1.0 and rng.random() >= self.fixed_fraction:
            rgb = augment_rgb(cube, self.wavelengths, self.augment, rng, (1.0, 1.0), self.noise_std)
        else:
            rgb = self.fixed(cube)
            if self.noise_std > 0:
                rgb = rgb + rng.normal(0.0, self.noise_std, size=rgb.shape).astype(np.float32)
        return self.degradation(rgb, rng) if self.degradation.active else rgb


def camera_folder(srf_dir: str | Path | None, data_dir: str | Path | None) -> Path:
    """The camera response folder: ``srf_dir``, else ``data_dir/srf``."""
    if srf_dir:
        return Path(srf_dir)
    if data_dir:
        return Path(data_dir) / "srf"
    raise DataFileError("camera responses are needed: give the srf folder or the shared data folder")


# ------------------------------------------------------------------ patches


def random_dihedral(arrays: Sequence[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """The same random turn (a multiple of 90 degrees) and maybe mirror of each (C, P, P) array (views)."""
    turns, mirror = int(rng.integers(4)), bool(rng.integers(2))
    turned = [np.rot90(array, turns, axes=(1, 2)) for array in arrays]
    return [array[:, :, ::-1] for array in turned] if mirror else turned


def window_sums(values: np.ndarray, size: int) -> np.ndarray:
    """Sums of ``values`` (H, W) over every ``size x size`` window, by (row, col) of its top-left corner:
    (H - size + 1, W - size + 1), from an integral image."""
    table = np.pad(np.cumsum(np.cumsum(values, 0), 1), ((1, 0), (1, 0)))
    return table[size:, size:] - table[:-size, size:] - table[size:, :-size] + table[:-size, :-size]


def patch_positions(valid: np.ndarray, size: int) -> np.ndarray:
    """(K, 2) top-left (row, col) of every ``size x size`` window with all pixels valid."""
    height, width = valid.shape
    if height < size or width < size:
        return np.zeros((0, 2), np.int64)
    return np.argwhere(window_sums(~valid, size) == 0)
