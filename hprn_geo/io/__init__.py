"""Raster input and cube output: read RGB windows from any GDAL raster, write
hyperspectral cubes to GeoTIFF/COG or Zarr with their geometry and band
metadata, atomically and resumably. See ``docs/formats.md``.
"""

from __future__ import annotations

from hprn_geo.io.read import RasterScene, open_scene
from hprn_geo.io.scaling import InputScaling, infer_scaling
from hprn_geo.io.write import (
    CubeSpec,
    CubeWriter,
    GeoTIFFWriter,
    ZarrWriter,
    open_writer,
)

__all__ = [
    "CubeSpec",
    "CubeWriter",
    "GeoTIFFWriter",
    "InputScaling",
    "RasterScene",
    "ZarrWriter",
    "infer_scaling",
    "open_scene",
    "open_writer",
]
