"""Stacking bands of several rasters into one virtual raster (GDAL VRT), with a declared scale and offset.

A Sentinel-2 L2A STAC Item keeps B04, B03 and B02 as three single-band COGs; :func:`stack_bands` writes
a small VRT whose bands are those sources, each with its ``<Scale>``/``<Offset>`` and description, so
that :func:`hprn_geo.io.open_scene` reads them as one RGB raster and applies the declared scaling.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioError

from hprn_geo.errors import BandCountError, OutputError, RasterReadError, UnsupportedDtypeError, one_line_reason
from hprn_geo.io.remote import gdal_name

__all__ = ["VrtBand", "band_count", "stack_bands"]


@dataclass(frozen=True)
class VrtBand:
    """One band of the virtual raster.

    Attributes:
        href: the source raster (path, URL or GDAL name).
        band: its 1-based band.
        description: the band's description in the VRT (e.g. the asset key ``"B04"``; None: the source's).
        scale, offset: declared ``value = raw x scale + offset`` (None: the source's own).
    """

    href: str
    band: int = 1
    description: str | None = None
    scale: float | None = None
    offset: float | None = None


def stack_bands(path: str | os.PathLike[str], bands: Sequence[VrtBand]) -> Path:
    """Write a VRT stacking ``bands`` (all on one pixel grid and data type) as its bands 1..N.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        RasterReadError: a source cannot be opened.
        BandCountError: a source lacks the band, or the sources differ in size, grid, CRS or data type.
        UnsupportedDtypeError: a band of a data type GDAL VRTs cannot hold here (complex).
        OutputError: the VRT cannot be written.
    """
    sources = [_source(band) for band in bands]
    first = sources[0]
    for band, source in zip(bands, sources, strict=True):
        differs = [k for k in ("width", "height", "transform", "crs", "dtype") if source[k] != first[k]]
        if differs:
            raise BandCountError(f"{band.href} and {bands[0].href} differ in {', '.join(differs)}: "
                                 "they cannot be stacked as one RGB raster")
    crs = f"<SRS>{escape(first['crs'].to_wkt())}</SRS>" if first["crs"] else ""
    geo = ", ".join(repr(v) for v in first["transform"].to_gdal())
    xml = [f'<VRTDataset rasterXSize="{first["width"]}" rasterYSize="{first["height"]}">', crs,
           f"<GeoTransform>{geo}</GeoTransform>"]
    for i, (band, source) in enumerate(zip(bands, sources, strict=True), start=1):
        xml += [f'<VRTRasterBand dataType="{source["gdal_type"]}" band="{i}">',
                f"<Description>{escape(band.description or source['description'] or '')}</Description>"]
        xml += [] if source["nodata"] is None else [f"<NoDataValue>{source['nodata']!r}</NoDataValue>"]
        scale = source["scale"] if band.scale is None else band.scale
        offset = source["offset"] if band.offset is None else band.offset
        source_xml = (f'<SimpleSource><SourceFilename relativeToVRT="0">{escape(gdal_name(band.href))}'
                      f"</SourceFilename><SourceBand>{band.band}</SourceBand></SimpleSource>")
        xml += [f"<Offset>{offset!r}</Offset>", f"<Scale>{scale!r}</Scale>", source_xml, "</VRTRasterBand>"]
    xml.append("</VRTDataset>")
    path = Path(path)
    try:
        path.write_text("\n".join(line for line in xml if line) + "\n", encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def band_count(href: str) -> int:
    """How many bands the raster at ``href`` has.

    Raises:
        RasterReadError: it cannot be opened.
    """
    return _source(VrtBand(href))["count"]


def _source(band: VrtBand) -> dict:
    """What the VRT needs to know of ``band``'s raster."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(gdal_name(band.href)) as dataset:
                if not 1 <= band.band <= dataset.count:
                    raise BandCountError(f"{band.href} has no band {band.band} (it has {dataset.count})")
                i = band.band - 1
                return {"count": dataset.count, "width": dataset.width, "height": dataset.height,
                        "transform": dataset.transform, "crs": dataset.crs, "dtype": dataset.dtypes[i],
                        "nodata": dataset.nodatavals[i], "description": dataset.descriptions[i],
                        "scale": dataset.scales[i], "offset": dataset.offsets[i],
                        "gdal_type": _gdal_type(band.href, dataset.dtypes[i])}
    except RasterioError as exc:
        raise RasterReadError(f"cannot open {band.href}: {one_line_reason(exc)}") from None


def _gdal_type(href: str, dtype: str) -> str:
    if dtype not in _GDAL_TYPES:
        raise UnsupportedDtypeError(f"{href}: {dtype} bands cannot be read as reflectance")
    return _GDAL_TYPES[dtype]


_GDAL_TYPES = {"uint8": "Byte", "int8": "Int8", "uint16": "UInt16", "int16": "Int16", "uint32": "UInt32",
               "int32": "Int32", "float32": "Float32", "float64": "Float64"}
