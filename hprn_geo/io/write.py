"""Writing ``(B, H, W)`` reflectance cubes: GeoTIFF, COG or Zarr, window by window or strip by strip.

:func:`open_writer` picks the format from the suffix and returns a :class:`CubeWriter`, atomic (a lock,
a ``.partial`` and a journal beside the target) and resumable; see ``docs/formats.md`` ("Output",
"Atomic and resumable writing").
"""

from __future__ import annotations

import os
from pathlib import Path

from hprn_geo.errors import OutputError
from hprn_geo.io.cubewriter import CubeSpec, CubeWriter
from hprn_geo.io.formats import FORMATS, OutputFormat, format_for
from hprn_geo.io.geotiff import GeoTIFFWriter
from hprn_geo.io.publish import check_overwrite
from hprn_geo.io.zarr_store import ZarrWriter

__all__ = ["CubeSpec", "CubeWriter", "GeoTIFFWriter", "ZarrWriter", "open_writer"]


def open_writer(
    path: str | os.PathLike[str],
    spec: CubeSpec,
    *,
    cog: bool = False,
    overwrite: bool = False,
    resume: bool = False,
) -> CubeWriter:
    """Open a writer for a cube; the format follows the suffix (.tif/.tiff, .zarr).

    Args:
        path: the final output path.
        spec: shape, wavelengths, georeferencing, dtype and tags of the cube.
        cog: write a Cloud-Optimized GeoTIFF (GeoTIFF suffixes only).
        overwrite: replace an existing target (at commit, atomically).
        resume: continue an interrupted write from its partial and journal;
            without them, start fresh.

    Raises:
        OutputError: unsupported suffix, target exists without ``overwrite``,
            parent directory missing or not writable, ``cog`` with Zarr,
            a journal written for a different spec, or any write failure;
            :class:`~hprn_geo.errors.OutputLockedError` when another run is writing the target.
    """
    target = Path(os.path.abspath(os.fspath(path)))
    output = format_for(target)
    if output is None:
        suffixes = ", ".join(suffix for f in FORMATS.values() for suffix in f.suffixes)
        raise OutputError(f"cannot write {path}: unsupported suffix {target.suffix or '(none)'!r}; use {suffixes}")
    if cog and not output.cog:
        cog_suffixes = " or ".join(suffix for f in FORMATS.values() if f.cog for suffix in f.suffixes)
        raise OutputError(f"cannot write {path}: COG output needs a {cog_suffixes} suffix")
    _check_target(target, str(path), overwrite, output)
    options = {"cog": cog} if output.cog else {}
    writer: CubeWriter = output.writer_class()(target, spec, overwrite=overwrite, **options)
    return writer.start(resume)


def _check_target(target: Path, shown: str, overwrite: bool, output: OutputFormat) -> None:
    """Refuse before writing anything: existing target, missing/unwritable parent."""
    parent = target.parent
    if not parent.exists():
        raise OutputError(f"cannot write {shown}: directory {parent} does not exist")
    if not parent.is_dir():
        raise OutputError(f"cannot write {shown}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {shown}: directory {parent} is not writable")
    check_overwrite(target, overwrite, shown)
    if not output.directory and target.is_dir():
        raise OutputError(f"cannot write {shown}: it is a directory")
