"""Label maps: (H, W) integer class rasters beside a cube, 0 = unlabelled."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hprn_geo.errors import DataFileError, RasterReadError
from hprn_geo.io.mat import read_mat_arrays, require_array
from hprn_geo.io.raster_cube import read_raster

__all__ = ["read_label_map"]


def read_label_map(path: str | Path, key: str | None = None) -> np.ndarray:
    """Read a class map; singleton axes are dropped, so ``(H, W, 1)`` maps load as ``(H, W)``.

    Args:
        path: ``.mat``, ``.npy`` or a GDAL raster (band 1; its nodata becomes 0).
        key: the MATLAB variable; None picks the only 2-D array of the file.

    Returns:
        (H, W) int64 class ids, 0 = unlabelled.

    Raises:
        RasterReadError: the file is missing or unreadable.
        DataFileError: the key is missing (the message lists the keys there
            are), the array is not 2-D, or it holds negative or fractional values.
    """
    path = Path(path)
    if path.suffix.lower() == ".mat":
        values = _mat_map(path, key)
    elif key is not None:
        raise DataFileError(f"{path.name}: a key is only used for .mat files")
    elif path.suffix.lower() == ".npy":
        values = _npy(path)
    else:
        values = np.nan_to_num(read_raster(path).data[0], nan=0.0)
    values = np.squeeze(np.asarray(values))
    if values.ndim != 2:
        raise DataFileError(f"{path.name}: a label map must be 2-D; got shape {values.shape}")
    if values.size and (values.min() < 0 or not np.array_equal(values, np.round(values))):
        raise DataFileError(f"{path.name}: labels must be non-negative integers (0 = unlabelled)")
    return values.astype(np.int64)


def _mat_map(path: Path, key: str | None) -> np.ndarray:
    arrays = read_mat_arrays(path)
    if key is not None:
        return require_array(arrays, key, path)
    maps = [name for name, value in arrays.items() if np.squeeze(value).ndim == 2 and value.dtype.kind in "iufb"]
    if len(maps) != 1:
        found = ", ".join(f"{name} {value.shape}" for name, value in arrays.items())
        raise DataFileError(f"{path.name}: expected exactly one 2-D array, found {len(maps)}; pass a key ({found})")
    return arrays[maps[0]]


def _npy(path: Path) -> np.ndarray:
    if not path.is_file():
        raise RasterReadError(f"no such file: {path}")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise RasterReadError(f"cannot read {path} as a .npy array: {error}") from error
