"""Raster input and cube output: read RGB windows from any GDAL raster, write
hyperspectral cubes to GeoTIFF/COG or Zarr with their geometry and band
metadata, atomically and resumably. See ``docs/formats.md``.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULE = {"RasterScene": "read", "open_scene": "read", "InputScaling": "scaling", "infer_scaling": "scaling",
           "CubeSpec": "write", "CubeWriter": "write", "GeoTIFFWriter": "write", "ZarrWriter": "write",
           "open_writer": "write"}
"""Each public name -> the module under ``hprn_geo.io`` it lives in."""

__all__ = list(_MODULE)


def __getattr__(name: str) -> Any:
    """The names of ``__all__``, imported from their module on first use, so that importing one
    light module of the package (``hprn_geo.io.photo``, for the command line's choices) does not
    import rasterio, xarray and zarr."""
    if name not in _MODULE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"hprn_geo.io.{_MODULE[name]}"), name)
