"""One small real crop on which the xarray/dask front doors are compared with the CLI."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window

TILE, OVERLAP = 64, 8
CROP = Window(col_off=100, row_off=0, width=200, height=200)  # the scene's corner: about 1/4 nodata


def write_crop(src: Path, dst: Path) -> Path:
    """A 200 x 200 GeoTIFF cut from ``src`` with its CRS, transform and nodata."""
    with rasterio.open(src) as scene:
        profile = {k: v for k, v in scene.profile.items() if k not in ("blockxsize", "blockysize")}
        profile.update(width=CROP.width, height=CROP.height, transform=scene.window_transform(CROP))
        with rasterio.open(dst, "w", **profile) as out:
            out.write(scene.read(window=CROP))
    return dst


def cli_cube(checkpoint: Path, src: Path, dst: Path) -> np.ndarray:
    """What ``hprn-geo predict --tile 64 --overlap 8`` writes for ``src``, read back: (8, H, W)."""
    from hprn_geo.predict import PredictOptions, Predictor
    from hprn_geo.registry import load_checkpoint

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the untrained-model warning
        Predictor(load_checkpoint(checkpoint), PredictOptions(tile=TILE, overlap=OVERLAP)).predict_file(src, dst)
    with rasterio.open(dst) as cube:
        return cube.read()
