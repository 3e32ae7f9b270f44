"""A small georeferenced RGB sample scene painted with real measured spectra.

It needs nothing but the installed packages: the spectra are measurements shipped by colour-science (the
BabelColor average of the X-Rite ColorChecker patches, the CIE 1995 test colour samples), and so is the camera,
the Nikon D5100 (NPL). The layout is a made-up landscape on a 10 m grid in UTM zone 32N (EPSG:32632): fields,
meadows, forest, bare soil and built-up blocks as warped Voronoi regions, a meandering river, a straight road and
a nodata triangle in the top-left corner; every pixel is its own smooth random mixture of its class's spectra.
RGB is rendered with :func:`hprn_geo.spectral.render_rgb` (white -> 1) and stored as ``round(255 * rgb)``,
clipped to 1-255 on valid pixels so that 0 means nodata only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from affine import Affine
from scipy.spatial import cKDTree

from hprn_geo.colour_science import import_colour
from hprn_geo.errors import OptionError
from hprn_geo.io.rgb import write_rgb
from hprn_geo.spectral import render_rgb, response_on_grid

__all__ = ["CLASSES", "WAVELENGTHS", "SampleScene", "camera_response", "sample_scene", "write_sample_scene"]

#: Band centres (nm) of the true cube: 400-700 nm every 10 nm.
WAVELENGTHS = np.arange(400.0, 701.0, 10.0)
#: Label of each class; 0 is nodata.
CLASSES = ("nodata", "water", "forest", "meadow", "crop", "soil", "urban", "road")
#: Each class's endmembers: (colour-science source, sample, base proportion).
MATERIALS: dict[str, tuple[tuple[str, str, float], ...]] = {
    "water": (("checker", "black 2 (1.5 D)", 0.9), ("checker", "blue sky", 0.07), ("checker", "bluish green", 0.03)),
    "forest": (("checker", "foliage", 0.6), ("tcs", "TCS14", 0.4)),
    "meadow": (("checker", "yellow green", 0.5), ("checker", "foliage", 0.5)),
    "crop": (("tcs", "TCS03", 0.6), ("tcs", "TCS02", 0.4)),
    "soil": (("checker", "dark skin", 0.6), ("tcs", "TCS02", 0.4)),
    "urban": (
        ("checker", "neutral 5 (.70 D)", 0.5),
        ("checker", "neutral 6.5 (.44 D)", 0.35),
        ("checker", "moderate red", 0.15),
    ),
    "road": (("checker", "neutral 3.5 (1.05 D)", 0.6), ("checker", "neutral 5 (.70 D)", 0.4)),
}
#: Size (pixels) of the texture within each class's regions: crowns, roofs, field patches.
TEXTURE_PX = {"water": 128, "forest": 6, "meadow": 24, "crop": 48, "soil": 32, "urban": 5, "road": 128}
CAMERA = "Nikon 5100 (NPL)"
CRS = "EPSG:32632"
PIXEL_SIZE_M = 10.0
ORIGIN_UTM = (690_000.0, 5_330_000.0)
NODATA = 0
_LAND = ("forest", "meadow", "crop", "soil", "urban")
_LAND_ODDS = (0.25, 0.25, 0.25, 0.12, 0.13)


@dataclass(frozen=True)
class SampleScene:
    """A painted scene and the truth behind it.

    Attributes:
        rgb: ``(3, H, W)`` uint8, 0 on nodata pixels only.
        cube: ``(31, H, W)`` float32 true reflectance on :data:`WAVELENGTHS`, NaN on nodata.
        labels: ``(H, W)`` uint8 index into :data:`CLASSES` (0 = nodata).
        crs: ``"EPSG:32632"``.
        transform: 10 m north-up affine transform.
    """

    rgb: np.ndarray
    cube: np.ndarray
    labels: np.ndarray
    crs: str
    transform: Affine

    @property
    def valid(self) -> np.ndarray:
        """``(H, W)`` bool, True where the scene has data."""
        return self.labels != 0


def sample_scene(size: int = 512, seed: int = 0) -> SampleScene:
    """Paint a ``size`` x ``size`` scene; the same ``seed`` gives the same scene."""
    if size < 16:
        raise OptionError(f"size must be at least 16 pixels, got {size}")
    rng = np.random.default_rng(seed)
    labels = _layout(rng, size)
    cube = np.clip(_paint(rng, labels), 0.0, 1.0)
    rgb = render_rgb(cube, camera_response())
    valid = labels != 0
    rgb8 = np.where(valid, np.clip(np.rint(rgb * 255.0), 1, 255), NODATA).astype(np.uint8)
    cube[:, ~valid] = np.nan
    transform = Affine(PIXEL_SIZE_M, 0.0, ORIGIN_UTM[0], 0.0, -PIXEL_SIZE_M, ORIGIN_UTM[1])
    return SampleScene(rgb8, cube, labels, CRS, transform)


def write_sample_scene(path: str | Path, size: int = 512, seed: int = 0) -> Path:
    """Write :func:`sample_scene` as an RGB GeoTIFF with nodata 0; returns ``path``.

    Its values are linear (``round(255 * rgb)``), so the bands declare the scale 1/255:
    ``encoding="auto"`` reads them as linear, not as an sRGB photo.

    The true cube is not written; call :func:`sample_scene` with the same
    ``size`` and ``seed`` to get it.
    """
    scene = sample_scene(size, seed)
    return write_rgb(path, scene.rgb, scene.crs, scene.transform, nodata=NODATA, scale=1 / 255)


def _smooth_noise(rng: np.random.Generator, size: int, cells: int, amplitude: float, offset: float = 0.0) -> np.ndarray:
    """``(size, size)`` float32 smooth noise, ``offset + amplitude * N(0, 1)`` at every pixel.

    A ``(cells + 1)`` x ``(cells + 1)`` grid of standard normal values is
    interpolated with Gaussian weights (rows of unit L2 norm, so every pixel
    keeps unit variance); features are about ``size / cells`` pixels across.
    """
    position = (np.arange(size) + 0.5) * cells / size
    basis = np.exp(-0.5 * ((position[:, None] - np.arange(cells + 1)[None, :]) / 0.7) ** 2)
    basis = (basis / np.linalg.norm(basis, axis=1, keepdims=True)).astype(np.float32)
    field = basis @ rng.standard_normal((cells + 1, cells + 1), dtype=np.float32) @ basis.T
    return offset + amplitude * field


def _layout(rng: np.random.Generator, size: int) -> np.ndarray:
    """``(size, size)`` uint8 labels: warped Voronoi land regions, a river, a road, a nodata corner."""
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32)
    warp = size / 40.0
    warped_rows = rows + warp * _smooth_noise(rng, size, 5, 1.0)
    warped_cols = cols + warp * _smooth_noise(rng, size, 5, 1.0)
    seeds = rng.uniform(0, size, size=(max(8, round(36 * (size / 512) ** 2)), 2))
    _, region = cKDTree(seeds).query(np.stack([warped_rows.ravel(), warped_cols.ravel()], axis=1))
    region_class = rng.choice(len(_LAND), size=len(seeds), p=_LAND_ODDS)
    land = np.array([CLASSES.index(name) for name in _LAND], dtype=np.uint8)
    labels = land[region_class][region.reshape(size, size)]
    phase, meander = rng.uniform(0, 2 * np.pi), rng.uniform(1.0, 2.0)
    river = size * (0.55 + 0.12 * np.sin(2 * np.pi * meander * warped_cols / size + phase))
    labels[np.abs(warped_rows - river) < size * 0.012 + 2] = CLASSES.index("water")
    angle = rng.uniform(0.2, 1.2)
    labels[np.abs((rows - size / 2) * np.cos(angle) - (cols - size / 2) * np.sin(angle)) < 1.5] = CLASSES.index("road")
    labels[rows + cols < size / 6] = CLASSES.index("nodata")
    return labels


def _paint(rng: np.random.Generator, labels: np.ndarray) -> np.ndarray:
    """``(31, H, W)`` float32 reflectance: each pixel a mixture of its class's real spectra.

    Proportions are ``base * exp(0.6 * noise)`` renormalised to sum to 1, with
    smooth noise of the class's texture scale; a two-scale brightness field
    (about +-8 % over the landscape, +-3 % over a few pixels) multiplies the result.
    """
    size = labels.shape[0]
    cube = np.zeros((WAVELENGTHS.size, labels.size), dtype=np.float32)
    flat = labels.ravel()
    for label, name in enumerate(CLASSES[1:], start=1):
        where = np.flatnonzero(flat == label)
        cells = max(1, round(size / TEXTURE_PX[name]))
        spectra = np.stack([_spectrum(source, sample) for source, sample, _ in MATERIALS[name]])
        weights = np.stack(
            [base * np.exp(_smooth_noise(rng, size, cells, 0.6).ravel()[where]) for _, _, base in MATERIALS[name]]
        )
        cube[:, where] = spectra.T.astype(np.float32) @ (weights / weights.sum(axis=0))
    brightness = _smooth_noise(rng, size, 6, 0.08, offset=1.0) + _smooth_noise(rng, size, max(1, size // 4), 0.03)
    cube *= brightness.ravel()
    return cube.reshape(WAVELENGTHS.size, size, size)


def _spectrum(source: str, sample: str) -> np.ndarray:
    """A real reflectance spectrum from colour-science on :data:`WAVELENGTHS`, ``(31,)``."""
    colour = import_colour()
    if source == "checker":
        distribution = colour.characterisation.SDS_COLOURCHECKERS["BabelColor Average"][sample]
    else:
        distribution = colour.quality.datasets.SDS_TCS["CIE 1995"][sample]
    return np.interp(WAVELENGTHS, distribution.wavelengths, distribution.values)


def camera_response() -> np.ndarray:
    """The measured Nikon D5100 response on :data:`WAVELENGTHS`, ``(31, 3)``."""
    colour = import_colour()
    camera = colour.MSDS_CAMERA_SENSITIVITIES[CAMERA]
    return response_on_grid(camera.wavelengths, camera.values, WAVELENGTHS)
