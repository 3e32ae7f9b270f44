"""Readers of hyperspectral cubes in the formats the field uses.

Every reader returns a :class:`Cube`: ``data`` ``(B, H, W)`` float32 with the
spectral axis first, ``wavelengths`` ``(B,)`` nm when known.

================================ =========================== ==========================================
reader                           formats                     wavelengths from
================================ =========================== ==========================================
:func:`read_mat`                 MATLAB v5 (scipy) and       a ``wavelengths``/``wavelength``/
                                 v7.3 (HDF5, h5py)           ``wavlength`` array, or ``wavelength_key``
:func:`read_envi`                ENVI ``.hdr`` + raw data    header ``wavelength``, ``fwhm``
                                 (BSQ, BIL, BIP)
:func:`read_raster`              any GDAL raster (rasterio)  band descriptions (``"550 nm"``), band
                                                             tags ``wavelength``, or the ENVI domain
:func:`read_xarray`              Zarr, NetCDF (xarray)       the ``wavelength`` coordinate
:func:`read_band_stack`          one PNG/TIFF per band       the ``wavelengths`` argument
                                 (CAVE)
================================ =========================== ==========================================

:func:`read_cube` picks the reader from the path. Values are returned as
stored, except where the file says how to scale them (ENVI ``reflectance
scale factor``, GDAL band scale/offset, integer band stacks divided by their
type's maximum); nodata values (ENVI ``data ignore value``, GDAL nodata, NetCDF
``_FillValue``) become NaN. Wavelength arrays whose values are all below 30
are taken to be micrometres and converted to nm.

The real cubes of the shared data folder are described in a data file and
loaded by :mod:`hprn_geo.io.shared`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import rasterio
import scipy.io
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning, RasterioError

from hprn_geo.errors import DataFileError, RasterReadError

__all__ = [
    "Cube",
    "envi_map_info",
    "north_up",
    "parse_envi_header",
    "read_band_stack",
    "read_cube",
    "read_envi",
    "read_mat",
    "read_mat_arrays",
    "read_raster",
    "read_xarray",
    "require_array",
]

_WAVELENGTH_KEYS = ("wavelengths", "wavelength", "wavlength")
_MICROMETRE_LIMIT = 30.0


@dataclass
class Cube:
    """A hyperspectral cube in memory.

    Attributes:
        data: ``(B, H, W)`` float32; reflectance unless ``kind`` says otherwise.
        wavelengths: ``(B,)`` float64 band centres in nm, or None when unknown.
        fwhm: ``(B,)`` float64 band widths in nm, or None.
        name: a short name (file stem or registry name).
        extras: what else the file holds that belongs to the pixels, e.g.
            ``"mask"`` ``(H, W)``, ``"abundances"`` ``(K, H, W)``, ``"crs"``
            and ``"transform"`` when the file is georeferenced.
        kind: ``"reflectance"`` or ``"radiance"``.
    """

    data: np.ndarray
    wavelengths: np.ndarray | None
    fwhm: np.ndarray | None = None
    name: str = ""
    extras: dict[str, Any] = field(default_factory=dict)
    kind: str = "reflectance"

    def __post_init__(self) -> None:
        if self.data.ndim != 3:
            raise DataFileError(f"cube {self.name!r} must be (B, H, W); got shape {self.data.shape}")
        for label in ("wavelengths", "fwhm"):
            values = getattr(self, label)
            if values is not None and np.shape(values) != (self.data.shape[0],):
                raise DataFileError(
                    f"cube {self.name!r}: {label} {np.shape(values)} do not match {self.data.shape[0]} bands"
                )


# --------------------------------------------------------------------- MATLAB


def read_mat(path: str | Path, key: str | None = None, wavelength_key: str | None = None) -> Cube:
    """Read a cube stored as a ``(rows, cols, bands)`` array in a MATLAB file.

    Both MATLAB v5 files (scipy.io) and v7.3 files (HDF5, read with h5py and
    transposed back to MATLAB's axis order) are read. Besides the cube,
    ``wavelengths``/``fwhm`` vectors of the right length and every 2-D array of
    the image's shape (masks, label maps) are picked up, the latter into
    ``extras``.

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
    return Cube(
        data=np.moveaxis(data, -1, 0).astype(np.float32),
        wavelengths=_mat_vector(arrays, path, wavelength_key, _WAVELENGTH_KEYS, bands),
        fwhm=_mat_vector(arrays, path, None, ("fwhm",), bands),
        name=path.stem,
        extras=extras,
    )


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
    return {name: value for name, value in contents.items() if _is_numeric(value) or _is_text(value)}


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


def _is_numeric(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind in "biuf" and value.size > 0


def _is_text(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind == "U" and value.size > 0


def _only_cube_key(arrays: Mapping[str, np.ndarray], path: Path) -> str:
    cubes = [name for name, value in arrays.items() if value.ndim == 3 and _is_numeric(value)]
    if len(cubes) != 1:
        found = ", ".join(f"{name} {value.shape}" for name, value in arrays.items())
        raise DataFileError(
            f"{path.name}: expected exactly one 3-D array, found {len(cubes)}; name the cube's array with "
            f"--cube-key (key= in Python); the file has: {found}"
        )
    return cubes[0]


def require_array(arrays: Mapping[str, np.ndarray], key: str, path: Path) -> np.ndarray:
    """``arrays[key]``, or a DataFileError that lists the keys the file has."""
    if key not in arrays:
        raise DataFileError(f"{path.name} has no array {key!r}; it has: {', '.join(sorted(arrays))}")
    return arrays[key]


def _mat_vector(
    arrays: Mapping[str, np.ndarray], path: Path, key: str | None, candidates: tuple[str, ...], bands: int
) -> np.ndarray | None:
    if key is None:
        key = next((name for name in candidates if name in arrays), None)
        if key is None:
            return None
    values = np.asarray(require_array(arrays, key, path), dtype=np.float64).ravel()
    if values.size != bands:
        raise DataFileError(f"{path.name}: {key!r} has {values.size} values for {bands} bands")
    return _to_nanometres(values)


def _to_nanometres(values: np.ndarray, units: str | None = None) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    unit = (units or "").strip().lower()
    if unit.startswith(("micro", "um", "µm")) or (not unit and np.nanmax(values) < _MICROMETRE_LIMIT):
        return values * 1000.0
    return values


# ----------------------------------------------------------------------- ENVI

_ENVI_DTYPES = {1: "u1", 2: "i2", 3: "i4", 4: "f4", 5: "f8", 12: "u2", 13: "u4", 14: "i8", 15: "u8"}
_ENVI_FIELD = re.compile(r"^\s*([^=\n]+?)\s*=\s*(\{.*?\}|[^\n]*)", re.MULTILINE | re.DOTALL)


def read_envi(path: str | Path) -> Cube:
    """Read an ENVI file: a text header (``.hdr``) beside raw binary data.

    Handles BSQ, BIL and BIP interleave, both byte orders, ``header offset``,
    ``wavelength``/``fwhm`` (with ``wavelength units``), ``reflectance scale
    factor`` (values are divided by it), ``data ignore value`` (-> NaN) and a
    UTM or geographic ``map info`` (-> ``extras["crs"]``, ``extras["transform"]``).

    Args:
        path: the header or the data file (``x.hdr`` beside ``x``, ``x.img``,
            ``x.dat``, ``x.raw``, ``x.bsq``, ``x.bil`` or ``x.bip``; or ``x.img.hdr``).

    Raises:
        RasterReadError: the header or data file is missing or too short.
        DataFileError: the header lacks a required field or has an unknown value.
    """
    header_path, data_path = _envi_paths(Path(path))
    header = parse_envi_header(header_path.read_text(errors="replace"))
    data = _read_envi_data(header, data_path)
    bands = data.shape[0]
    units = header.get("wavelength units")
    wavelengths = _envi_vector(header, "wavelength", bands, units)
    extras: dict[str, Any] = {}
    if "map info" in header:
        extras.update(envi_map_info(header["map info"]))
    return Cube(
        data=data,
        wavelengths=wavelengths,
        fwhm=_envi_vector(header, "fwhm", bands, units),
        name=data_path.stem,
        extras=extras,
    )


def parse_envi_header(text: str) -> dict[str, Any]:
    """Fields of an ENVI header: ``{...}`` values become lists of strings, others stripped strings.

    Keys are lower-case, e.g. ``"samples"``, ``"wavelength"``, ``"map info"``.
    """
    if not text.lstrip().startswith("ENVI"):
        raise DataFileError("not an ENVI header (it must start with 'ENVI')")
    fields: dict[str, Any] = {}
    for name, value in _ENVI_FIELD.findall(text):
        value = value.strip()
        if value.startswith("{"):
            fields[name.strip().lower()] = [item.strip() for item in value[1:-1].split(",") if item.strip()]
        else:
            fields[name.strip().lower()] = value
    return fields


def envi_map_info(map_info: list[str]) -> dict[str, Any]:
    """``{"crs", "transform"}`` from an ENVI ``map info`` list (UTM on WGS-84, or geographic).

    Returns an empty dict for projections it does not know.
    """
    projection = map_info[0].strip().lower()
    ref_x, ref_y, easting, northing, size_x, size_y = (float(v) for v in map_info[1:7])
    transform = north_up(easting - (ref_x - 1) * size_x, northing + (ref_y - 1) * size_y, size_x, size_y)
    if projection == "utm" and len(map_info) > 9 and "wgs" in map_info[9].lower():
        zone, north = int(map_info[7]), map_info[8].strip().lower().startswith("n")
        return {"crs": CRS.from_epsg((32600 if north else 32700) + zone), "transform": transform}
    if projection.startswith("geographic"):
        return {"crs": CRS.from_epsg(4326), "transform": transform}
    return {}


def north_up(west: float, north: float, size_x: float, size_y: float) -> Affine:
    """The transform of a north-up grid: upper-left corner (west, north), pixel size (size_x, size_y)."""
    return Affine(size_x, 0.0, west, 0.0, -size_y, north)


def _envi_paths(path: Path) -> tuple[Path, Path]:
    if path.suffix.lower() == ".hdr":
        header = path
        stem = path.with_suffix("")
        candidates = [stem] + [stem.with_suffix(ext) for ext in (".img", ".dat", ".raw", ".bsq", ".bil", ".bip")]
    else:
        beside = (path.with_suffix(".hdr"), Path(f"{path}.hdr"))
        header = next((p for p in beside if p.is_file()), beside[0])
        candidates = [path]
    if not header.is_file():
        raise RasterReadError(f"ENVI header not found: {header}")
    data = next((p for p in candidates if p.is_file() and p != header), None)
    if data is None:
        raise RasterReadError(f"ENVI data file for {header} not found (tried {', '.join(p.name for p in candidates)})")
    return header, data


def _header_int(header: Mapping[str, Any], name: str, default: int | None = None) -> int:
    if name not in header:
        if default is None:
            raise DataFileError(f"ENVI header lacks {name!r}")
        return default
    return int(header[name])


def _read_envi_data(header: Mapping[str, Any], data_path: Path) -> np.ndarray:
    samples, lines, bands = (_header_int(header, name) for name in ("samples", "lines", "bands"))
    code = _header_int(header, "data type")
    if code not in _ENVI_DTYPES:
        raise DataFileError(f"ENVI data type {code} is not supported (known: {sorted(_ENVI_DTYPES)})")
    dtype = np.dtype(_ENVI_DTYPES[code]).newbyteorder(">" if _header_int(header, "byte order", 0) == 1 else "<")
    interleave = str(header.get("interleave", "bsq")).lower()
    shapes = {"bsq": (bands, lines, samples), "bil": (lines, bands, samples), "bip": (lines, samples, bands)}
    if interleave not in shapes:
        raise DataFileError(f"ENVI interleave {interleave!r} is not bsq, bil or bip")
    offset = _header_int(header, "header offset", 0)
    needed = offset + dtype.itemsize * samples * lines * bands
    if data_path.stat().st_size < needed:
        raise RasterReadError(f"{data_path} holds {data_path.stat().st_size} bytes; the header describes {needed}")
    raw = np.memmap(data_path, dtype=dtype, mode="r", offset=offset, shape=shapes[interleave])
    axes = {"bsq": (0, 1, 2), "bil": (1, 0, 2), "bip": (2, 0, 1)}[interleave]
    data = np.transpose(raw, axes).astype(np.float32)
    if "data ignore value" in header:
        data[data == np.float32(float(header["data ignore value"]))] = np.nan
    if "reflectance scale factor" in header:
        data /= np.float32(float(header["reflectance scale factor"]))
    return data


def _envi_vector(header: Mapping[str, Any], name: str, bands: int, units: str | None) -> np.ndarray | None:
    if name not in header:
        return None
    values = np.array([float(v) for v in header[name]])
    if values.size != bands:
        raise DataFileError(f"ENVI header has {values.size} {name} values for {bands} bands")
    return _to_nanometres(values, units)


# --------------------------------------------------------------- GDAL rasters

_DESCRIPTION_WAVELENGTH = re.compile(
    r"([-+]?\d+(?:\.\d*)?)\s*(nm|nanometers?|um|µm|micrometers?|microns?)\b", re.IGNORECASE
)


def read_raster(path: str | Path) -> Cube:
    """Read every band of a GDAL raster (GeoTIFF, ENVI, netCDF, ...) with rasterio.

    GDAL band scale/offset are applied, nodata becomes NaN, and wavelengths
    come from band descriptions such as ``"550 nm"``, band tags
    ``wavelength`` (+ ``wavelength_units``), or the ENVI metadata domain; band
    widths likewise from band tags ``fwhm`` or the ENVI domain's ``fwhm``.
    ``extras`` holds ``crs`` (None when absent: lab cubes often have none, so
    rasterio's NotGeoreferencedWarning is silenced), ``transform`` and ``nodata``.

    Raises:
        RasterReadError: the file cannot be opened or read.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            dataset = rasterio.open(path)
        with dataset:
            data = _scaled_bands(dataset)
            wavelengths = _raster_wavelengths(dataset)
            fwhm = _raster_fwhm(dataset) if wavelengths is not None else None
            extras = {"crs": dataset.crs or None, "transform": dataset.transform, "nodata": dataset.nodata}
    except RasterioError as error:
        raise RasterReadError(f"cannot read {path}: {error}") from error
    return Cube(data=data, wavelengths=wavelengths, fwhm=fwhm, name=Path(str(path)).stem, extras=extras)


def _scaled_bands(dataset: Any) -> np.ndarray:
    raw = dataset.read(masked=True)
    data = raw.astype(np.float32).filled(np.nan)
    scales = np.asarray(dataset.scales, dtype=np.float32)[:, None, None]
    offsets = np.asarray(dataset.offsets, dtype=np.float32)[:, None, None]
    return data * scales + offsets


def _raster_wavelengths(dataset: Any) -> np.ndarray | None:
    found = [_description_wavelength(text) for text in dataset.descriptions]
    if all(value is not None for value in found):
        return np.array(found)
    stored = _band_values(dataset, "wavelength")
    return None if stored is None else _to_nanometres(*stored)


def _raster_fwhm(dataset: Any) -> np.ndarray | None:
    """Band widths (nm) from band tags ``fwhm`` (as our writer writes them) or the ENVI domain, else None."""
    stored = _band_values(dataset, "fwhm")
    return None if stored is None else _width_nanometres(*stored)


def _band_values(dataset: Any, key: str) -> tuple[np.ndarray, str | None] | None:
    """(B,) values of ``key`` from every band's tags, else from the ENVI domain, with the
    ``wavelength_units`` they were stored in; None when neither has one per band."""
    tags = [dataset.tags(band) for band in range(1, dataset.count + 1)]
    if all(key in tag for tag in tags):
        return np.array([float(tag[key]) for tag in tags]), tags[0].get("wavelength_units")
    envi = dataset.tags(ns="ENVI")
    if key in envi:
        values = np.array([float(v) for v in envi[key].strip("{} ").split(",")])
        if values.size == dataset.count:
            return values, envi.get("wavelength_units")
    return None


def _width_nanometres(values: np.ndarray, units: str | None) -> np.ndarray:
    """Band widths in nm: as the units say, else micrometres only below 0.5 (no real band is that narrow in nm)."""
    if units or np.nanmax(values) >= 0.5:
        return _to_nanometres(values, units or "nm")
    return values * 1000.0


def _description_wavelength(text: str | None) -> float | None:
    match = _DESCRIPTION_WAVELENGTH.search(text or "")
    if match is None:
        return None
    return float(_to_nanometres(np.array([float(match.group(1))]), match.group(2))[0])


# ---------------------------------------------------------------- Zarr/NetCDF

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
        return Cube(
            data=array.values.astype(np.float32),
            wavelengths=_coordinate(array, "wavelength", spectral),
            fwhm=_coordinate(array, "fwhm", spectral),
            name=path.stem,
            extras={"dims": tuple(array.dims)},
        )


def _spectral_variable(dataset: Any, variable: str | None, path: Path) -> str:
    if variable is not None:
        if variable not in dataset.data_vars:
            known = ", ".join(map(str, dataset.data_vars))
            raise DataFileError(f"{path.name} has no variable {variable!r}; it has: {known}")
        return variable
    names = [str(n) for n, v in dataset.data_vars.items() if any(d in v.dims for d in _SPECTRAL_DIMS)]
    if len(names) != 1:
        raise DataFileError(
            f"{path.name}: expected one variable with a 'wavelength' or 'band' dimension, found {names or 'none'}; "
            f"pass variable= (variables: {', '.join(map(str, dataset.data_vars))})"
        )
    return names[0]


def _coordinate(array: Any, name: str, spectral: str) -> np.ndarray | None:
    if name not in array.coords or array.coords[name].dims != (spectral,):
        return None
    coordinate = array.coords[name]
    return _to_nanometres(coordinate.values, coordinate.attrs.get("units"))


# ----------------------------------------------------------------- band stack

_TRAILING_NUMBER = re.compile(r"(\d+)$")


def read_band_stack(folder_or_glob: str | Path, wavelengths: np.ndarray | None = None) -> Cube:
    """Read a cube stored as one single-band image per band (the CAVE layout).

    Files are ordered by the number at the end of their stem
    (``balloons_ms_2.png`` before ``balloons_ms_10.png``). Unsigned integer
    images are divided by their type's maximum (16-bit / 65535, 8-bit / 255).

    Args:
        folder_or_glob: a folder (all ``*.png`` in it) or a glob pattern
            such as ``"cave/balloons/*_ms_*.png"``.
        wavelengths: ``(B,)`` nm, optional.

    Raises:
        RasterReadError: no images match.
        DataFileError: a stem has no trailing number, images differ in
            shape, an image has several channels, or wavelengths do not match.
    """
    from skimage.io import imread

    files = _stack_files(Path(folder_or_glob))
    images = [imread(file) for file in files]
    shapes = {image.shape for image in images}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise DataFileError(f"band images must share one 2-D shape; found {sorted(shapes)}")
    stack = np.stack(images)
    data = stack.astype(np.float32)
    if stack.dtype.kind == "u":
        data /= np.float32(np.iinfo(stack.dtype).max)
    values = None if wavelengths is None else np.asarray(wavelengths, dtype=np.float64)
    name = files[0].parent.name if Path(folder_or_glob).is_dir() else files[0].stem
    return Cube(data=data, wavelengths=values, name=name, extras={"files": [f.name for f in files]})


def _stack_files(folder_or_glob: Path) -> list[Path]:
    if folder_or_glob.is_dir():
        files = list(folder_or_glob.glob("*.png"))
    else:
        files = list(folder_or_glob.parent.glob(folder_or_glob.name))
    if not files:
        raise RasterReadError(f"no band images found at {folder_or_glob}")
    numbers = {file: _TRAILING_NUMBER.search(file.stem) for file in files}
    unnumbered = [file.name for file, match in numbers.items() if match is None]
    if unnumbered:
        raise DataFileError(f"band image names must end in a band number: {', '.join(sorted(unnumbered))}")
    return sorted(files, key=lambda file: int(numbers[file].group(1)))


# ------------------------------------------------------------------- dispatch

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
