"""The cube formats hprn-geo writes, in one table: how a path names each, what STAC calls it,
whether it can be a Cloud Optimized GeoTIFF. :func:`hprn_geo.io.open_writer`, the STAC door, the
command line's choices and the QGIS runner read it (no imports beyond the standard library)."""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["FORMATS", "OutputFormat", "format_for"]


@dataclass(frozen=True)
class OutputFormat:
    """One output format."""

    name: str
    """Short name (``hprn-geo stac --format``, file extension of derived Items' cubes)."""
    label: str
    suffixes: tuple[str, ...]
    media_type: str
    """The STAC asset's ``type``."""
    cog: bool
    """Can be written as a Cloud Optimized GeoTIFF."""


FORMATS = (
    OutputFormat("tif", "GeoTIFF", (".tif", ".tiff"), "image/tiff; application=geotiff; profile=cloud-optimized", True),
    OutputFormat("zarr", "Zarr", (".zarr",), "application/vnd+zarr", False),
)


def format_for(path: str | os.PathLike[str]) -> OutputFormat | None:
    """The format a path's suffix names (case-insensitive), or None."""
    suffix = os.path.splitext(os.fspath(path).rstrip("/\\"))[1].lower()
    return next((f for f in FORMATS if suffix in f.suffixes), None)
