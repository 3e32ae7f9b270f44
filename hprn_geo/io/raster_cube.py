"""Cubes in any GDAL raster (rasterio): every band, scaled, with wavelengths from the band metadata."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioError

from hprn_geo.errors import RasterReadError
from hprn_geo.io.cube import Cube, to_nanometres

__all__ = ["read_raster"]

_DESCRIPTION_WAVELENGTH = re.compile(
    r"([-+]?\d+(?:\.\d*)?)\s*(nm|nanometers?|um|µm|micrometers?|microns?)\b", re.IGNORECASE
)


def read_raster(path: str | Path) -> Cube:
    """Read every band of a GDAL raster (GeoTIFF, ENVI, netCDF, ...) with rasterio.

    GDAL band scale/offset are applied and nodata becomes NaN; wavelengths and band widths come from the
    band metadata (``docs/spectral.md``, "Readers"). ``extras`` holds ``crs`` (None when absent: lab cubes
    often have none, so rasterio's NotGeoreferencedWarning is silenced), ``transform`` and ``nodata``.

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
    data = dataset.read(masked=True).astype(np.float32).filled(np.nan)
    scales = np.asarray(dataset.scales, dtype=np.float32)[:, None, None]
    offsets = np.asarray(dataset.offsets, dtype=np.float32)[:, None, None]
    return data * scales + offsets


def _raster_wavelengths(dataset: Any) -> np.ndarray | None:
    found = [_description_wavelength(text) for text in dataset.descriptions]
    if all(value is not None for value in found):
        return np.array(found)
    stored = _band_values(dataset, "wavelength")
    return None if stored is None else to_nanometres(*stored)


def _raster_fwhm(dataset: Any) -> np.ndarray | None:
    """Band widths (nm) from band tags ``fwhm`` (as our writer writes them) or the ENVI domain, else None:
    as the units say, else micrometres only below 0.5 (no real band is that narrow in nm)."""
    stored = _band_values(dataset, "fwhm")
    if stored is None:
        return None
    values, units = stored
    return to_nanometres(values, units or "nm") if units or np.nanmax(values) >= 0.5 else values * 1000.0


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


def _description_wavelength(text: str | None) -> float | None:
    match = _DESCRIPTION_WAVELENGTH.search(text or "")
    return None if match is None else float(to_nanometres(np.array([float(match.group(1))]), match.group(2))[0])
