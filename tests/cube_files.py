"""Reading back the cubes the tests write (a helper module: tests/ is on sys.path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
import xarray as xr


def read_values(path: Path) -> np.ndarray:
    """(B, H, W) values of a cube written as GeoTIFF/COG or Zarr."""
    if path.suffix == ".zarr":
        with xr.open_dataset(path, engine="zarr") as ds:
            return ds["reflectance"].values
    with rasterio.open(path) as ds:
        return ds.read()
