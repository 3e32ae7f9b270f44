"""MATLAB cubes: v5 files (scipy.io) and v7.3 files (HDF5, h5py), their variables in MATLAB's axis order."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import scipy.io

from hprn_geo.errors import DataFileError, RasterReadError
from hprn_geo.io.cube import Cube, to_nanometres

__all__ = ["read_mat", "read_mat_arrays", "require_array"]

_WAVELENGTH_KEYS = ("wavelengths", "wavelength", "wavlength")


def read_mat(path: str | Path, key: str | None = None, wavelength_key: str | None = None) -> Cube:
    """Read a cube stored as a ``(rows, cols, bands)`` array in a MATLAB file.

    MATLAB v5 (scipy.io) and v7.3 (HDF5, h5py) files; every 2-D array of the image's shape (masks,
    label maps) goes into ``extras``.

    Args:
        path: the ``.mat`` file.
        key: the cube's variable; None picks the only 3-D numeric array.
        wavelength_key: the wavelength variable; None tries ``wavelengths``,
            ``wavelength`` and ``wavlength``.

    Raises:
        RasterReadError: the file is missing or not a MATLAB file.
        DataFileError: a key is missing (the message lists the keys there
            are), there is no single 3-D array, or a vector has the wrong length.
    """
    path = Path(path)
    arrays = read_mat_arrays(path)
    key = key if key is not None else _only_cube_key(arrays, path)
    data = require_array(arrays, key, path)
    if data.ndim != 3:
        raise DataFileError(f"{path.name}: {key!r} has shape {data.shape}; a cube needs 3 dimensions")
    bands, image_shape = data.shape[2], data.shape[:2]
    extras = {name: value for name, value in arrays.items() if value.shape == image_shape}
    wavelengths = _mat_vector(arrays, path, wavelength_key, _WAVELENGTH_KEYS, bands)
    fwhm = _mat_vector(arrays, path, None, ("fwhm",), bands)
    return Cube(np.moveaxis(data, -1, 0).astype(np.float32), wavelengths, fwhm, name=path.stem, extras=extras)


def read_mat_arrays(path: Path) -> dict[str, np.ndarray]:
    """Numeric and text variables of a MATLAB file, in MATLAB's axis order (v7.3: numeric only)."""
    if not path.is_file():
        raise RasterReadError(f"no such file: {path}")
    if h5py.is_hdf5(path):
        return _load_mat73(path)
    try:
        contents = scipy.io.loadmat(path)
    except (ValueError, TypeError, OSError, NotImplementedError) as error:
        raise RasterReadError(f"cannot read {path} as a MATLAB file: {error}") from error
    return {name: value for name, value in contents.items() if _is_numeric(value, "biufU")}


def _load_mat73(path: Path) -> dict[str, np.ndarray]:
    """MATLAB v7.3: HDF5 datasets hold the arrays with their axes reversed."""
    arrays = {}
    with h5py.File(path, "r") as handle:
        for name, item in handle.items():
            if not isinstance(item, h5py.Dataset) or name.startswith("#"):
                continue
            matlab_class = item.attrs.get("MATLAB_class", b"")
            matlab_class = matlab_class.decode() if isinstance(matlab_class, bytes) else str(matlab_class)
            value = item[()]
            if matlab_class in ("char", "cell", "struct") or not _is_numeric(value):
                continue
            arrays[name] = np.asarray(value).T.astype(bool) if matlab_class == "logical" else np.asarray(value).T
    return arrays


def _is_numeric(value: Any, kinds: str = "biuf") -> bool:
    """A non-empty array of one of the dtype ``kinds`` (numbers by default)."""
    return isinstance(value, np.ndarray) and value.dtype.kind in kinds and value.size > 0


def _only_cube_key(arrays: Mapping[str, np.ndarray], path: Path) -> str:
    cubes = [name for name, value in arrays.items() if value.ndim == 3 and _is_numeric(value)]
    if len(cubes) != 1:
        found = ", ".join(f"{name} {value.shape}" for name, value in arrays.items())
        raise DataFileError(f"{path.name}: expected exactly one 3-D array, found {len(cubes)}; name the cube's "
                            f"array with --cube-key (key= in Python); the file has: {found}")
    return cubes[0]


def require_array(arrays: Mapping[str, np.ndarray], key: str, path: Path) -> np.ndarray:
    """``arrays[key]``, or a DataFileError that lists the keys the file has."""
    if key not in arrays:
        raise DataFileError(f"{path.name} has no array {key!r}; it has: {', '.join(sorted(arrays))}")
    return arrays[key]


def _mat_vector(
    arrays: Mapping[str, np.ndarray], path: Path, key: str | None, candidates: tuple[str, ...], bands: int
) -> np.ndarray | None:
    key = key if key is not None else next((name for name in candidates if name in arrays), None)
    if key is None:
        return None
    values = np.asarray(require_array(arrays, key, path), dtype=np.float64).ravel()
    if values.size != bands:
        raise DataFileError(f"{path.name}: {key!r} has {values.size} values for {bands} bands")
    return to_nanometres(values)
