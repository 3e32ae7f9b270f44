"""The cube formats hprn-geo writes, in one table: how a path names each, which writer writes it,
what STAC calls it, whether it can be a Cloud Optimized GeoTIFF. :func:`hprn_geo.io.open_writer`,
the STAC door (media types, ``--format``) and the QGIS runner read it; a new format is a new row
(no imports beyond the standard library, so the command line reads it at start-up)."""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any

__all__ = ["FORMATS", "OutputFormat", "format_for"]


@dataclass(frozen=True)
class OutputFormat:
    """One output format."""

    name: str
    """Short name (``hprn-geo stac --format``, the suffix of derived Items' cubes)."""
    label: str
    suffixes: tuple[str, ...]
    media_type: str
    """The STAC asset's ``type``."""
    writer: str
    """``"module:Class"`` of its :class:`~hprn_geo.io.CubeWriter`, imported when a cube is written."""
    cog: bool = False
    """Can be written as a Cloud Optimized GeoTIFF (its writer takes ``cog=``)."""
    directory: bool = False
    """The cube is a folder (Zarr), not a file."""
    parallel: bool = False
    """Many processes may write its blocks at once (its writer's ``write_rows_elsewhere``): a dask
    cluster's workers write them, else the cluster's client writes the blocks they compute."""

    def writer_class(self) -> Any:
        """The writer class, imported now."""
        module, name = self.writer.split(":")
        return getattr(importlib.import_module(module), name)


FORMATS: dict[str, OutputFormat] = {
    "tif": OutputFormat("tif", "GeoTIFF", (".tif", ".tiff"),
                        "image/tiff; application=geotiff; profile=cloud-optimized",
                        "hprn_geo.io.geotiff:GeoTIFFWriter", cog=True),
    "zarr": OutputFormat("zarr", "Zarr", (".zarr",), "application/vnd+zarr", "hprn_geo.io.zarr_store:ZarrWriter",
                         directory=True, parallel=True),
}
"""Name -> format; its order is the order of ``--format`` choices and of suffixes in messages."""


def format_for(path: str | os.PathLike[str]) -> OutputFormat | None:
    """The format a path's suffix names (case-insensitive), or None."""
    suffix = os.path.splitext(os.fspath(path).rstrip("/\\"))[1].lower()
    return next((f for f in FORMATS.values() if suffix in f.suffixes), None)
