"""Writing plain 8-bit RGB GeoTIFFs (sample scenes, quick looks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import ColorInterp
from rasterio.errors import RasterioError

from hprn_geo.errors import BandCountError, OutputError, UnsupportedDtypeError
from hprn_geo.io.publish import published

__all__ = ["write_rgb"]


def write_rgb(
    path: str | Path,
    rgb: np.ndarray,
    crs: Any,
    transform: Affine,
    nodata: int | None = None,
    scale: float | None = None,
) -> Path:
    """Write a tiled, DEFLATE-compressed RGB GeoTIFF (photometric RGB).

    The file is written under a temporary name beside ``path`` and renamed
    when complete, so a half-written file never carries the final name.

    Args:
        path: output ``.tif``; replaced if it exists.
        rgb: ``(3, H, W)`` uint8, bands R, G, B.
        crs: anything rasterio accepts as a CRS (``"EPSG:32632"``, a ``CRS``), or None.
        transform: affine pixel -> CRS transform.
        nodata: the nodata value (0-255) of all three bands, or None.
        scale: a band scale to declare (value = raw x scale), or None. Declaring one marks the
            values as linear measurements: ``encoding="auto"`` then reads them as linear, not as sRGB.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        BandCountError: ``rgb`` is not ``(3, H, W)``.
        UnsupportedDtypeError: ``rgb`` is not uint8.
        OutputError: the file cannot be written.
    """
    if rgb.ndim != 3 or rgb.shape[0] != 3:
        raise BandCountError(f"write_rgb needs a (3, H, W) array; got shape {rgb.shape}")
    if rgb.dtype != np.uint8:
        raise UnsupportedDtypeError(f"write_rgb writes uint8 only; got {rgb.dtype}")
    path = Path(path)
    profile = {
        "driver": "GTiff", "width": rgb.shape[2], "height": rgb.shape[1], "count": 3, "dtype": "uint8",
        "crs": crs, "transform": transform, "nodata": nodata, "tiled": True, "blockxsize": 256,
        "blockysize": 256, "compress": "deflate", "photometric": "RGB", "interleave": "pixel",
    }  # fmt: skip
    try:
        with published(path, hidden=True) as partial, rasterio.open(partial, "w", **profile) as dataset:
            dataset.write(rgb)
            dataset.colorinterp = (ColorInterp.red, ColorInterp.green, ColorInterp.blue)
            dataset.descriptions = ("red", "green", "blue")
            if scale is not None:
                dataset.scales = (scale,) * 3
    except (OSError, RasterioError) as error:
        raise OutputError(f"cannot write {path}: {error}") from error
    return path
