"""Cubes in Zarr stores and NetCDF files (xarray, imported when a file is read)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hprn_geo.errors import DataFileError, RasterReadError
from hprn_geo.io.cube import Cube, to_nanometres

__all__ = ["read_xarray"]

_SPECTRAL_DIMS = ("wavelength", "band")


def read_xarray(path: str | Path, variable: str | None = None) -> Cube:
    """Read a cube from a Zarr store or NetCDF file with xarray.

    The variable must have a spectral dimension named ``wavelength`` or
    ``band`` and two others (kept in stored order as H, W). Wavelengths come
    from a ``wavelength`` coordinate along it (``units`` attribute ``nm`` or
    ``um``), band widths from an ``fwhm`` coordinate.

    Args:
        path: a ``.zarr`` store (folder) or NetCDF file.
        variable: the data variable; None picks the only one with a spectral dimension.

    Raises:
        RasterReadError: the store cannot be opened.
        DataFileError: no (or several) candidate variables, or the variable is not 3-D.
    """
    import xarray as xr

    path = Path(path)
    engine = "zarr" if path.suffix.lower() == ".zarr" or path.is_dir() else None
    try:
        dataset = xr.open_dataset(path, engine=engine, decode_coords="all")
    except (OSError, ValueError, KeyError) as error:
        raise RasterReadError(f"cannot open {path} with xarray: {error}") from error
    with dataset:
        array = dataset[_spectral_variable(dataset, variable, path)]
        spectral = next(dim for dim in _SPECTRAL_DIMS if dim in array.dims)
        if array.ndim != 3:
            raise DataFileError(f"{path.name}: {array.name!r} has dims {array.dims}; a cube needs 3")
        array = array.transpose(spectral, ...)
        wavelengths, fwhm = _coordinate(array, "wavelength", spectral), _coordinate(array, "fwhm", spectral)
        data = array.values.astype(np.float32)
        return Cube(data, wavelengths, fwhm, name=path.stem, extras={"dims": tuple(array.dims)})


def _spectral_variable(dataset: Any, variable: str | None, path: Path) -> str:
    if variable is not None:
        if variable not in dataset.data_vars:
            known = ", ".join(map(str, dataset.data_vars))
            raise DataFileError(f"{path.name} has no variable {variable!r}; it has: {known}")
        return variable
    names = [str(n) for n, v in dataset.data_vars.items() if any(d in v.dims for d in _SPECTRAL_DIMS)]
    if len(names) != 1:
        raise DataFileError(f"{path.name}: expected one variable with a 'wavelength' or 'band' dimension, found "
                            f"{names or 'none'}; pass variable= (variables: {', '.join(map(str, dataset.data_vars))})")
    return names[0]


def _coordinate(array: Any, name: str, spectral: str) -> np.ndarray | None:
    if name not in array.coords or array.coords[name].dims != (spectral,):
        return None
    coordinate = array.coords[name]
    return to_nanometres(coordinate.values, coordinate.attrs.get("units"))
