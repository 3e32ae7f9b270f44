"""Reading hyperspectral cubes in the formats the field uses: :func:`read_cube` picks the reader.

Each format has its module under ``hprn_geo.io`` (``mat``, ``envi``, ``raster_cube``, ``xarray_cube``,
``band_stack``); every reader returns a :class:`~hprn_geo.io.cube.Cube` (``data`` ``(B, H, W)`` float32,
``wavelengths`` ``(B,)`` nm when known). What each reads, and where it finds wavelengths, scaling and
nodata: ``docs/spectral.md`` ("Readers"). The shared data folder's cubes: :mod:`hprn_geo.io.shared`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hprn_geo.io.band_stack import read_band_stack
from hprn_geo.io.cube import Cube
from hprn_geo.io.envi import read_envi
from hprn_geo.io.mat import read_mat
from hprn_geo.io.raster_cube import read_raster
from hprn_geo.io.xarray_cube import read_xarray

__all__ = ["read_cube"]

_XARRAY_SUFFIXES = {".zarr", ".nc", ".nc4", ".cdf", ".netcdf"}
_ENVI_DATA_SUFFIXES = {"", ".img", ".dat", ".raw", ".bsq", ".bil", ".bip"}


def read_cube(path: str | Path, **kwargs: Any) -> Cube:
    """Read a cube with the reader its path calls for.

    ``.mat`` -> :func:`read_mat`; ``.zarr``, ``.nc`` -> :func:`read_xarray`;
    ``.hdr`` or a data file with a header beside it -> :func:`read_envi`; a
    folder of images or a glob pattern -> :func:`read_band_stack`; anything
    else -> :func:`read_raster`. ``kwargs`` go to the reader.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".mat":
        return read_mat(path, **kwargs)
    if suffix in _XARRAY_SUFFIXES:
        return read_xarray(path, **kwargs)
    if path.is_dir() or any(char in path.name for char in "*?["):
        return read_band_stack(path, **kwargs)
    has_header = path.with_suffix(".hdr").is_file() or Path(f"{path}.hdr").is_file()
    if suffix == ".hdr" or (suffix in _ENVI_DATA_SUFFIXES and has_header):
        return read_envi(path, **kwargs)
    return read_raster(path, **kwargs)
