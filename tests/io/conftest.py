"""Fixtures for tests/io: the real rasters in ../shared/data/geo and small helpers."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning

REPO = Path(__file__).resolve().parents[2]
GEO = REPO.parent / "shared" / "data" / "geo"


def geo_file(name: str) -> Path:
    """Path of a real raster in ../shared/data/geo, or skip the test saying why."""
    path = GEO / name
    if not path.exists():
        pytest.skip(f"real test raster {path} is absent (../shared/data is not checked out here)")
    return path


@pytest.fixture
def rgb_byte() -> Path:
    """Landsat-7 RGB, uint8, EPSG:32618, nodata 0, 718x791."""
    return geo_file("RGB.byte.tif")


@pytest.fixture
def rgb2_byte() -> Path:
    """Same pixels as RGB.byte.tif with a user-defined (non-EPSG) CRS and no nodata."""
    return geo_file("RGB2.byte.tif")


@pytest.fixture
def rgb1() -> Path:
    """400x400 uint8 RGB, user-defined CRS, nodata 0."""
    return geo_file("rgb1.tif")


def _write_raster(path: Path, array: np.ndarray, **profile) -> Path:
    base = dict(driver="GTiff", count=array.shape[0], height=array.shape[1], width=array.shape[2],
                dtype=array.dtype.name)
    base.update(profile)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **base) as ds:
            ds.write(array)
    return path


@pytest.fixture
def write_raster():
    """``write_raster(path, array (bands, rows, cols), **profile) -> path``: a GeoTIFF."""
    return _write_raster


@pytest.fixture
def child_python():
    """``(python, env)`` for a child process that imports hprn_geo from this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return sys.executable, env




def _cube(height: int, width: int, bands: int = 4, seed: int = 0) -> np.ndarray:
    """Float32 reflectance ``(bands, height, width)`` in [0, 1.2) with a NaN (nodata) patch and stripes."""
    rng = np.random.default_rng(seed)
    cube = rng.random((bands, height, width), dtype=np.float32) * 1.2
    cube[:, :7, :9] = np.nan
    cube[:, 100::97, 3] = np.nan
    return cube


def _write_strips(writer, cube: np.ndarray, rows: int, order=None) -> None:
    starts = list(range(0, cube.shape[1], rows))
    for index in order if order is not None else range(len(starts)):
        r0 = starts[index]
        writer.write_strip(index, r0, cube[:, r0:r0 + rows])


@pytest.fixture
def make_cube():
    """``make_cube(height, width, bands=4, seed=0)`` -> float32 (B, H, W) with NaN nodata."""
    return _cube


@pytest.fixture
def write_strips():
    """``write_strips(writer, cube, rows, order=None)``: write ``cube`` in strips of ``rows``."""
    return _write_strips
