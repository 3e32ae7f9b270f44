"""ENVI cubes: a text header (``.hdr``) beside raw BSQ, BIL or BIP data, and its ``map info`` georeference."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from rasterio.crs import CRS

from hprn_geo.errors import DataFileError, RasterReadError
from hprn_geo.io.cube import Cube, to_nanometres

__all__ = ["envi_map_info", "north_up", "parse_envi_header", "read_envi"]

_ENVI_DTYPES = {1: "u1", 2: "i2", 3: "i4", 4: "f4", 5: "f8", 12: "u2", 13: "u4", 14: "i8", 15: "u8"}
_ENVI_FIELD = re.compile(r"^\s*([^=\n]+?)\s*=\s*(\{.*?\}|[^\n]*)", re.MULTILINE | re.DOTALL)


def read_envi(path: str | Path) -> Cube:
    """Read an ENVI file: a text header (``.hdr``) beside raw BSQ, BIL or BIP data (what of the header is
    read: ``docs/spectral.md``, "Readers"); a UTM or geographic ``map info`` gives ``extras["crs"]`` and
    ``extras["transform"]``.

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
    bands, units = data.shape[0], header.get("wavelength units")
    wavelengths, fwhm = _envi_vector(header, "wavelength", bands, units), _envi_vector(header, "fwhm", bands, units)
    extras = envi_map_info(header["map info"]) if "map info" in header else {}
    return Cube(data, wavelengths, fwhm, name=data_path.stem, extras=extras)


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
            value = [item.strip() for item in value[1:-1].split(",") if item.strip()]
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
        header, stem = path, path.with_suffix("")
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
    return to_nanometres(values, units)
