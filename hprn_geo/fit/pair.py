"""An RGB raster and a hyperspectral raster of the same ground brought onto one grid: the cube's, and for
the RGB one aligned with it and ``k`` times finer (docs/fit.md, steps 1 and 2).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from rasterio.transform import array_bounds
from rasterio.warp import Resampling, calculate_default_transform, reproject, transform_bounds
from rasterio.windows import Window, from_bounds

from hprn_geo.errors import (
    DataFileError,
    MissingCRSError,
    MissingCRSWarning,
    MissingWavelengthsError,
    NoOverlapError,
    NotReflectanceWarning,
)
from hprn_geo.io import RasterScene, open_scene
from hprn_geo.io.cube import Cube
from hprn_geo.io.raster_cube import read_raster

__all__ = ["ScenePair", "parse_bands", "read_pair", "read_wavelengths"]

MARGIN = 2
"""RGB pixels read beyond the part under the target grid, for the resampling kernel."""

REFLECTANCE_LIMIT = 1.5
"""A cube whose 99th percentile exceeds this is not reflectance in [0, 1] (radiance, or unscaled integers)."""


@dataclass(frozen=True)
class ScenePair:
    """An RGB on a grid ``factor`` times finer than the cube's, over their overlap.

    Attributes:
        rgb: (3, k*H, k*W) float32 linear RGB as ``predict`` reads it, NaN where the RGB has no data.
        cube: (B, H, W) float32, NaN where the cube has no data.
        wavelengths: (B,) band centres, nm.
        fwhm: (B,) band widths, nm, or None when the file does not say.
        factor: k, the RGB pixels per cube pixel along each axis.
        crs: the cube's CRS (rasterio ``CRS``).
        transform: the cube grid's transform over the overlap (its pixel (0, 0) is cube pixel ``window``'s corner).
        window: the overlap as a window of the whole cube.
        bands: the cube's 1-based bands kept.
        rgb_path, cube_path: the files.
        input_text: how the RGB was read (scaling, encoding), for the model card.
    """

    rgb: np.ndarray
    cube: np.ndarray
    wavelengths: np.ndarray
    fwhm: np.ndarray | None
    factor: int
    crs: Any
    transform: Affine
    window: Window
    bands: tuple[int, ...]
    rgb_path: str
    cube_path: str
    input_text: str

    @property
    def valid(self) -> np.ndarray:
        """(H, W) bool: cube pixels with data in every band and RGB data in every one of their k x k pixels."""
        k, (_, height, width) = self.factor, self.cube.shape
        seen = np.isfinite(self.rgb).all(axis=0).reshape(height, k, width, k).all(axis=(1, 3))
        return seen & np.isfinite(self.cube).all(axis=0)


def read_wavelengths(path: str | Path) -> np.ndarray:
    """(B,) nm from a text file of numbers (separated by spaces, commas, semicolons or new lines).

    Raises:
        DataFileError: not a list of finite numbers.
    """
    try:
        values = np.array([float(v) for v in re.split(r"[\s,;]+", Path(path).read_text().strip())])
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise DataFileError(f"--wavelengths {path}: not a list of numbers ({exc})") from exc
    if values.size == 0 or not np.isfinite(values).all():
        raise DataFileError(f"--wavelengths {path}: holds values that are not finite numbers")
    return values


def parse_bands(text: str, count: int) -> tuple[int, ...]:
    """``"1-50,60,70-80"`` -> the 1-based band numbers, each within 1..``count``.

    Raises:
        DataFileError: not such a list, or a band out of range.
    """
    bands: list[int] = []
    try:
        for part in text.split(","):
            low, _, high = part.strip().partition("-")
            bands.extend(range(int(low), int(high or low) + 1))
    except ValueError:
        raise DataFileError(f"--bands expects 1-based band numbers and ranges like 1-50,60, got {text!r}") from None
    if not bands or min(bands) < 1 or max(bands) > count:
        raise DataFileError(f"--bands {text!r}: the cube has bands 1-{count}")
    return tuple(bands)


def read_pair(
    rgb: str | Path,
    cube: str | Path,
    wavelengths: Sequence[float] | str | Path | None = None,
    bands: Sequence[int] | str | None = None,
    shift: tuple[float, float] = (0.0, 0.0),
    rgb_bands: tuple[int, int, int] | None = None,
) -> ScenePair:
    """Read an RGB raster and a hyperspectral raster onto the cube's grid over their overlap.

    Args:
        rgb: any GDAL RGB raster (an orthophoto), read as ``predict`` reads it.
        cube: any GDAL raster of B bands (GeoTIFF, ENVI, ...).
        wavelengths: (B,) nm, a text file of them, or None / ``"auto"``: from the cube's metadata.
        bands: 1-based cube bands to keep, or their list as text (``"1-50,60"``, :func:`parse_bands`); default all.
        shift: (rows, cols) in cube pixels by which the RGB's content lies displaced against the cube
            (as :func:`hprn_geo.fit.coregister.check_registration` measures it); the RGB is moved back.
        rgb_bands: three 1-based bands of a multiband RGB raster.

    Returns:
        The pair; see :class:`ScenePair`.

    Raises:
        MissingCRSError: either raster has no CRS.
        MissingWavelengthsError: the cube has no wavelengths and none were given.
        NoOverlapError: the rasters do not overlap.
        DataFileError: ``wavelengths`` or ``bands`` do not fit the cube.

    Warns:
        NotReflectanceWarning: the cube's values look like radiance rather than reflectance.
    """
    hsi = _read_cube(cube, wavelengths, bands)
    crs, transform = hsi.extras["crs"], hsi.extras["transform"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingCRSWarning)
        scene = open_scene(rgb, rgb_bands)
    with scene:
        if scene.crs is None:
            raise MissingCRSError(f"{rgb} has no CRS: it cannot be brought onto the cube's grid")
        window = _overlap(scene, hsi, str(rgb), str(cube))
        factor = max(1, round(_pixel_size(transform) / _pixel_size_in(scene, crs)))
        fine = transform @ Affine.translation(window.col_off, window.row_off) @ Affine.scale(1.0 / factor)
        fine = fine @ Affine.translation(shift[1] * factor, shift[0] * factor)  # sample where the content lies
        warped = _warp(scene, crs, fine, (int(window.height) * factor, int(window.width) * factor))
        text = f"scaling: {scene.scaling.reason}; encoding: {scene.encoding.reason}"
    rows, cols = window.toslices()
    return ScenePair(
        rgb=warped, cube=hsi.data[:, rows, cols], wavelengths=np.asarray(hsi.wavelengths, np.float64), fwhm=hsi.fwhm,
        factor=factor, crs=crs, transform=transform @ Affine.translation(window.col_off, window.row_off),
        window=window, bands=tuple(hsi.extras["bands"]), rgb_path=str(rgb), cube_path=str(cube),
        input_text=f"photo:{Path(rgb).name} | linear RGB as hprn-geo reads the photo ({text})",
    )  # fmt: skip


def _read_cube(
    path: str | Path, wavelengths: Sequence[float] | str | Path | None, bands: Sequence[int] | str | None
) -> Cube:
    """The cube with its wavelengths (given or from the metadata) and only ``bands``."""
    cube = read_raster(path)
    if cube.extras["crs"] is None:
        raise MissingCRSError(f"{path} has no CRS: the RGB cannot be brought onto its grid")
    if isinstance(wavelengths, (str, Path)) and str(wavelengths) != "auto":
        wavelengths = read_wavelengths(wavelengths)
    if wavelengths is not None and not isinstance(wavelengths, (str, Path)):
        grid = np.asarray(wavelengths, np.float64)
        if grid.shape != (cube.data.shape[0],):
            raise DataFileError(f"{grid.size} wavelengths given, but {path} has {cube.data.shape[0]} bands")
        cube = Cube(cube.data, grid, cube.fwhm, cube.name, cube.extras)
    if cube.wavelengths is None:
        raise MissingWavelengthsError(
            f"{path} has no wavelengths in its metadata (band descriptions, 'wavelength' tags or ENVI header); "
            "pass --wavelengths FILE"
        )
    count = cube.data.shape[0]
    kept = parse_bands(bands, count) if isinstance(bands, str) else tuple(bands or range(1, count + 1))
    index = [b - 1 for b in kept]
    fwhm = None if cube.fwhm is None else cube.fwhm[index]
    top = float(np.nanpercentile(cube.data[index], 99)) if np.isfinite(cube.data[index]).any() else 0.0
    if top > REFLECTANCE_LIMIT:
        warnings.warn(
            f"{path}: values reach {top:.4g} (99th percentile); reflectance lies in [0, 1]: "
            "this looks like radiance or unscaled integers, and the fitted model will predict the same units",
            NotReflectanceWarning, stacklevel=3,
        )  # fmt: skip
    return Cube(cube.data[index], cube.wavelengths[index], fwhm, cube.name, {**cube.extras, "bands": kept})


def _pixel_size(transform: Affine) -> float:
    """The side of a pixel (square root of its area) in CRS units."""
    return math.sqrt(abs(transform.determinant))


def _pixel_size_in(scene: RasterScene, crs: Any) -> float:
    """The RGB's pixel side in ``crs`` units (rasterio's default warp resolution)."""
    bounds = array_bounds(scene.height, scene.width, scene.transform)
    transform, _, _ = calculate_default_transform(scene.crs, crs, scene.width, scene.height, *bounds)
    return _pixel_size(transform)


def _overlap(scene: RasterScene, cube: Cube, rgb_name: str, cube_name: str) -> Window:
    """The cube pixels whose area the RGB covers at least in part, as a window of the cube."""
    crs, transform = cube.extras["crs"], cube.extras["transform"]
    height, width = cube.data.shape[1:]
    bounds = transform_bounds(scene.crs, crs, *array_bounds(scene.height, scene.width, scene.transform), densify_pts=21)
    window = from_bounds(*bounds, transform=transform)
    row0, col0 = max(0, math.floor(window.row_off)), max(0, math.floor(window.col_off))
    row1 = min(height, math.ceil(window.row_off + window.height))
    col1 = min(width, math.ceil(window.col_off + window.width))
    if row1 <= row0 or col1 <= col0:
        raise NoOverlapError(f"{rgb_name} and {cube_name} do not overlap (compared in the cube's CRS, {crs})")
    return Window(col0, row0, col1 - col0, row1 - row0)


def _warp(scene: RasterScene, crs: Any, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
    """The scene's linear RGB warped onto (``crs``, ``transform``, ``shape``): (3, *shape) float32, NaN = no data.

    Only the part of the scene under the target grid (and a margin of :data:`MARGIN` pixels) is read."""
    bounds = transform_bounds(crs, scene.crs, *array_bounds(shape[0], shape[1], transform), densify_pts=21)
    needed = from_bounds(*bounds, transform=scene.transform)
    row0 = min(max(0, math.floor(needed.row_off) - MARGIN), scene.height - 1)
    col0 = min(max(0, math.floor(needed.col_off) - MARGIN), scene.width - 1)
    row1 = max(min(scene.height, math.ceil(needed.row_off + needed.height) + MARGIN), row0 + 1)
    col1 = max(min(scene.width, math.ceil(needed.col_off + needed.width) + MARGIN), col0 + 1)
    rgb, valid = scene.read_window(row0, col0, row1 - row0, col1 - col0)
    source = np.where(valid, rgb, np.nan).astype(np.float32)
    out = np.full((3, *shape), np.nan, np.float32)
    coarser = _pixel_size_in(scene, crs) < 0.75 * _pixel_size(transform)
    reproject(
        source, out, src_transform=scene.transform @ Affine.translation(col0, row0), src_crs=scene.crs,
        src_nodata=np.nan, dst_transform=transform, dst_crs=crs, dst_nodata=np.nan,
        resampling=Resampling.average if coarser else Resampling.bilinear,
    )  # fmt: skip
    return out
