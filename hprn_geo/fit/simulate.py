"""Georeferenced RGB + hyperspectral pairs made from a real cube, for tests, benchmarks and the docs.

:func:`simulate_pair` does what a survey does to one scene (a fine 8-bit photo in another CRS, slightly
off, and a ``k`` times coarser cube); the georeference is made up, the spectra, the camera and the spatial
structure are real (docs/fit.md, "How well it does").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from rasterio.transform import array_bounds
from rasterio.warp import Resampling, calculate_default_transform, reproject

from hprn_geo.cameras import Camera
from hprn_geo.fit.scenefit import block_mean
from hprn_geo.io import CubeSpec, open_writer
from hprn_geo.io.cube import Cube
from hprn_geo.io.photo import srgb8
from hprn_geo.io.rgb import write_rgb
from hprn_geo.io.shared import load_shared
from hprn_geo.spectral import render_rgb

__all__ = ["SimulatedPair", "enmap_block", "simulate_pair"]


@dataclass(frozen=True)
class SimulatedPair:
    """The files :func:`simulate_pair` wrote and the truth behind them.

    Attributes:
        rgb_path: the 8-bit sRGB photo (fine pixels, ``rgb_crs``).
        cube_path: the float32 cube GeoTIFF with wavelengths and band widths (coarse pixels, ``cube_crs``).
        truth: (B, k*H, k*W) the fine reflectance the photo was rendered from.
        shift: (rows, cols) in cube pixels by which the photo's content lies displaced against the cube.
    """

    rgb_path: Path
    cube_path: Path
    truth: np.ndarray
    shift: tuple[float, float]


def simulate_pair(
    cube: np.ndarray,
    wavelengths: np.ndarray,
    camera: Camera,
    folder: str | Path,
    *,
    fwhm: np.ndarray | None = None,
    factor: int = 2,
    shift: tuple[float, float] = (0.3, -0.2),
    cube_crs: Any = "EPSG:32633",
    rgb_crs: Any = "EPSG:32632",
    origin: tuple[float, float] = (370_000.0, 5_810_000.0),
    pixel: float = 30.0,
) -> SimulatedPair:
    """Write ``rgb.tif`` and ``cube.tif`` into ``folder`` from one real fine-resolution cube.

    Args:
        cube: (B, k*H, k*W) reflectance at the photo's resolution (rows and columns beyond a multiple of
            ``factor`` are dropped).
        wavelengths: (B,) nm.
        camera: the photo's spectral response.
        folder: where the two files go.
        fwhm: (B,) band widths to write with the cube, or None.
        factor: k, photo pixels per cube pixel along each axis.
        shift: (rows, cols), cube pixels: the photo's georeferencing error (its content lies displaced by this).
        cube_crs, rgb_crs: the two rasters' CRSs.
        origin: (x, y) of the cube's top-left corner in ``cube_crs``.
        pixel: the cube's pixel size in ``cube_crs`` units.

    Returns:
        The paths and the truth.
    """
    folder = Path(folder)
    height, width = (n // factor * factor for n in cube.shape[1:])
    truth = np.ascontiguousarray(cube[:, :height, :width], np.float32)
    coarse = Affine(pixel, 0.0, origin[0], 0.0, -pixel, origin[1])
    spec = CubeSpec(height // factor, width // factor, wavelengths, cube_crs, coarse, fwhm=fwhm)
    with open_writer(folder / "cube.tif", spec, overwrite=True) as writer:
        writer.write_strip(0, 0, block_mean(truth, factor))
    photo = coarse @ Affine.scale(1.0 / factor) @ Affine.translation(shift[1] * factor, shift[0] * factor)
    linear = render_rgb(truth, camera.on_grid(wavelengths))
    transform, out_width, out_height = calculate_default_transform(
        cube_crs, rgb_crs, width, height, *array_bounds(height, width, photo)
    )
    warped = np.full((3, out_height, out_width), np.nan, np.float32)
    reproject(linear, warped, src_transform=photo, src_crs=cube_crs, dst_transform=transform, dst_crs=rgb_crs,
              dst_nodata=np.nan, resampling=Resampling.bilinear)  # fmt: skip
    valid = np.isfinite(warped).all(axis=0)
    encoded = np.where(valid, np.maximum(srgb8(np.nan_to_num(warped)), 1), 0).astype(np.uint8)
    rgb_path = write_rgb(folder / "rgb.tif", encoded, rgb_crs, transform, nodata=0)
    return SimulatedPair(rgb_path, folder / "cube.tif", truth, shift)


def enmap_block(data_dir: str | Path) -> Cube:
    """The shared data's largest block of adjacent EnMAP tiles: (91, 64, 128) L2A reflectance at 30 m, Potsdam.

    Eight 32 x 32 tiles (columns 96-223, rows 96-159 of the source scene) side by side, with their
    exact wavelengths and FWHM; ``extras`` holds the block's ``crs`` (UTM 33N) and ``transform``.
    """
    rows = [[load_shared(f"enmap_potsdam_tile_{col}_{row}", data_dir) for col in (96, 128, 160, 192)] for row in (96, 128)]
    data = np.concatenate([np.concatenate([tile.data for tile in row], axis=2) for row in rows], axis=1)
    first = rows[0][0]
    extras = {"crs": first.extras["crs"], "transform": first.extras["transform"]}
    return Cube(data, first.wavelengths, first.fwhm, "enmap_potsdam_block", extras)
