"""STAC: reconstruct the RGB asset of STAC Items into derived hyperspectral Items (the library behind
``hprn-geo stac``, :mod:`hprn_geo.cli.stac_commands`; docs/stac.md describes the derived Item).

:func:`read_stac` reads an Item, an ItemCollection or a stac-task payload; :func:`read_input` finds an Item's
sensor, its RGB asset(s) and the scaling they declare; :func:`reconstruct_items` checks every Item (asset present,
a raster, readable, outputs free) before the first cube is written, then writes each cube and its derived Item
(:func:`derive_item`) under a temporary name, renamed when complete. Relative asset hrefs of an Item without a
self link resolve against the document it came from (the current directory for stdin).
"""

from __future__ import annotations

import json
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pystac
from pystac.extensions.projection import ProjectionExtension
from pystac.utils import datetime_to_str, make_absolute_href
from rasterio.enums import WktVersion

from hprn_geo._version import __version__
from hprn_geo.errors import HPRNGeoError, MissingCRSWarning, OptionError, OutputError, StacError
from hprn_geo.io import open_scene
from hprn_geo.io.cubewriter import format_wavelength
from hprn_geo.io.formats import FORMATS, format_for
from hprn_geo.io.publish import check_overwrite, published
from hprn_geo.io.remote import is_url, read_url
from hprn_geo.io.vrt import VrtBand, band_count, stack_bands
from hprn_geo.predict import Predictor
from hprn_geo.predict_options import refuse_nir
from hprn_geo.registry import ModelCard, check_input
from hprn_geo.sensors import SENSORS, Sensor, input_name, sensor_for_platform, sensor_of
from hprn_geo.spectral import micrometres

__all__ = [
    "ASSET_KEY", "PixelGrid", "StacDocument", "StacError", "StacInput", "band_objects", "derive_item",
    "document_sensor", "feature_collection", "read_input", "read_stac", "reconstruct_items",
]

EO_SCHEMA = "https://stac-extensions.github.io/eo/v2.0.0/schema.json"
PROCESSING_SCHEMA = "https://stac-extensions.github.io/processing/v1.2.0/schema.json"
ASSET_KEY = "reflectance"
_RASTER_MEDIA_TYPES = {pystac.MediaType.HDF, pystac.MediaType.HDF5, pystac.MediaType.NETCDF, FORMATS["zarr"].media_type}
_ITEM_MEDIA_TYPE = "application/geo+json"
_TCI_KEYS = ("visual", "tci", "tci_10m")  # asset keys of Sentinel-2's 8-bit true-colour image


@dataclass
class StacDocument:
    """A STAC document read for processing.

    Attributes:
        items: the Items, relative asset hrefs of those without a self link made absolute.
        document: the JSON as read (a ``process`` block of a stac-task payload is kept).
    """

    items: list[pystac.Item]
    document: dict[str, Any]


@dataclass(frozen=True)
class PixelGrid:
    """Where a raster's pixels lie: CRS (rasterio ``CRS`` or None), affine transform (None for a raster
    georeferenced by GCPs: the projection extension cannot say where its pixels lie), size."""

    crs: Any
    transform: Any
    height: int
    width: int


@dataclass(frozen=True)
class StacInput:
    """How one Item's RGB is read.

    Attributes:
        assets: the asset keys read, R, G, B (one key: a multiband asset).
        href: the raster to open: the asset's, or a VRT stacking the assets and declaring their scaling.
        sensor: the input's sensor (``"sentinel2"``, ``"camera:NAME"``) or None.
        sensor_reason: why that sensor (``"given"``, ``"from the Item's platform 'sentinel-2b'"``).
        declared: where the Item declares its scaling (``"raster:bands of B04, B03, B02"``), or "".
    """

    assets: tuple[str, ...]
    href: str
    sensor: str | None = None
    sensor_reason: str = ""
    declared: str = ""


@dataclass
class _Plan:
    """One Item checked and ready to run: where its RGB is, what the outputs are."""

    source: pystac.Item
    rgb: StacInput
    grid: PixelGrid
    scaling: str
    cube: Path
    item_json: Path
    source_copy: Path | None  # where to save an Item that has no self link, for its derived_from link


def read_stac(source: str) -> StacDocument:
    """Read a STAC Item, ItemCollection or stac-task payload.

    Args:
        source: a file path, a URL, or ``"-"`` for stdin.

    Raises:
        StacError: not found, not JSON, or not a STAC Item / FeatureCollection of Items.
    """
    href = None if source == "-" else make_absolute_href(source)
    text = sys.stdin.read() if href is None else _read_text(href)
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise StacError(f"{source} is not JSON ({exc})") from None
    features = _features(document, source)
    items = [_parse_item(feature, source, href if feature is document else None) for feature in features]
    for item in items:
        if item.get_self_href() is None:  # its relative asset hrefs resolve against the document
            for asset in item.assets.values():
                asset.href = make_absolute_href(asset.href, href)
    return StacDocument(items, document)


def _read_text(href: str) -> str:
    """A document at a path or URL; URLs are retried as rasters are (:func:`hprn_geo.io.remote.read_url`)."""
    try:
        if is_url(href):
            return read_url(href).decode("utf-8")
        return pystac.StacIO.default().read_text(href)
    except Exception as exc:  # noqa: BLE001 - pystac raises bare Exception (and urllib3's) for URLs
        reason = exc.__cause__ or exc
        raise StacError(f"cannot read STAC document {href}: {' '.join(str(reason).split())}") from None


def _features(document: Any, source: str) -> list[Any]:
    """The Item dicts of a Feature, FeatureCollection or stac-task payload."""
    if isinstance(document, dict) and document.get("type") == "Feature":
        return [document]
    if isinstance(document, dict) and isinstance(document.get("features"), list):
        return document["features"]
    raise StacError(f"{source} is not a STAC Item, ItemCollection or stac-task payload")


def _parse_item(feature: Any, source: str, href: str | None) -> pystac.Item:
    """An Item from its dict; ``href`` (where a lone Item was read) becomes its self link, as pystac does."""
    try:
        return pystac.Item.from_dict(feature, href=href, migrate=True)
    except (KeyError, TypeError, ValueError, AttributeError, pystac.STACError) as exc:
        raise StacError(f"{source}: not a valid STAC Item ({type(exc).__name__}: {exc})") from None


def band_objects(wavelengths: np.ndarray, fwhm: np.ndarray | None = None) -> list[dict[str, Any]]:
    """STAC 1.1 ``bands`` for band centres (and widths) in nm; EO fields in micrometres.

    >>> band_objects(np.array([450.0]), np.array([10.0]))
    [{'name': '450 nm', 'eo:center_wavelength': 0.45, 'eo:full_width_half_max': 0.01}]
    """
    bands = []
    for i, nm in enumerate(wavelengths):
        band: dict[str, Any] = {"name": format_wavelength(nm), "eo:center_wavelength": micrometres(nm)}
        if fwhm is not None:
            band["eo:full_width_half_max"] = micrometres(fwhm[i])
        bands.append(band)
    return bands


def derive_item(source: pystac.Item, source_asset: str, cube: str | Path, card: ModelCard, grid: PixelGrid, *,
                suffix: str = "-hprn", scaling: str = "", sensor: str = "") -> pystac.Item:
    """The Item describing a cube reconstructed from ``source``'s asset ``source_asset``.

    Args:
        source: the source Item.
        source_asset: key of the RGB asset that was reconstructed.
        cube: the cube's path, in a format of :data:`hprn_geo.io.formats.FORMATS` (``.tif`` COG, ``.zarr``).
        card: the model card (wavelengths, fwhm, name).
        grid: the cube's pixel grid (that of the source raster).
        suffix: appended to the source id.
        scaling: how the input was scaled to reflectance (recorded in the lineage).
        sensor: the input's sensor and why (``"sentinel2 (from the Item's platform 'sentinel-2a')"``; lineage).

    The ``derived_from`` link is added by :func:`reconstruct_items`, which knows where the source Item lives.
    """
    properties = {k: source.properties[k] for k in ("start_datetime", "end_datetime") if k in source.properties}
    item = pystac.Item(f"{source.id}{suffix}", source.geometry, source.bbox, source.datetime, properties,
                       stac_extensions=[EO_SCHEMA, PROCESSING_SCHEMA])
    item.properties.update(_processing_fields(source, source_asset, card, scaling, sensor))
    output = format_for(cube)
    if output is None:
        raise OptionError(f"{cube}: not a cube format hprn-geo writes ({', '.join(FORMATS)})")
    wavelengths = np.asarray(card.wavelengths)
    asset = pystac.Asset(
        str(cube),
        title=f"Reflectance, {card.bands} bands {wavelengths[0]:.0f}-{wavelengths[-1]:.0f} nm (hprn-geo)",
        media_type=output.media_type,
        roles=["data"],
        extra_fields={"data_type": "float32", "nodata": "nan",
                      "bands": band_objects(wavelengths, None if card.fwhm is None else np.asarray(card.fwhm))},
    )
    item.add_asset(ASSET_KEY, asset)
    _set_projection(asset, grid)
    return item


def _processing_fields(source: pystac.Item, source_asset: str, card: ModelCard, scaling: str,
                       sensor: str = "") -> dict[str, Any]:
    """``processing:*`` fields (Processing extension v1.2; set by hand, pystac has no class for it)."""
    lineage = (f"Hyperspectral reflectance reconstructed by hprn-geo (HPRN) from the RGB asset {source_asset!r} "
               f"of STAC Item {source.id!r} with model {card.name!r} ({card.bands} bands"
               f"{'' if card.trained else ', UNTRAINED'})")
    lineage += f"; input sensor: {sensor}" if sensor else ""
    return {
        "processing:level": "L4",  # model output derived from lower-level data
        "processing:lineage": f"{lineage}; input scaling: {scaling}" if scaling else lineage,
        "processing:software": {"hprn-geo": __version__},
        "processing:datetime": datetime_to_str(datetime.now(timezone.utc)),
    }


def _set_projection(asset: pystac.Asset, grid: PixelGrid) -> None:
    """``proj:code`` (``"EPSG:32618"``; WKT2 when the CRS has no code), ``proj:shape``, ``proj:transform``
    (none for a raster georeferenced by GCPs)."""
    proj = ProjectionExtension.ext(asset, add_if_missing=True)
    authority = None if grid.crs is None else grid.crs.to_authority()
    proj.code = ":".join(authority) if authority else None
    if grid.crs is not None and authority is None:
        proj.wkt2 = grid.crs.to_wkt(version=WktVersion.WKT2_2019)
    proj.shape = [grid.height, grid.width]
    if grid.transform is not None:
        proj.transform = [float(v) for v in tuple(grid.transform)[:6]]


def reconstruct_items(document: StacDocument, asset: str, out_dir: str | Path, predictor: Predictor, *,
                      fmt: str = "tif", suffix: str = "-hprn", overwrite: bool = False,
                      on_note: Callable[[str], None] | None = None) -> list[pystac.Item]:
    """Reconstruct asset ``asset`` of every Item; write cubes and derived Item JSON into ``out_dir``.

    Args:
        asset: an asset key, or three (``"B04,B03,B02"``; or common names, ``"red,green,blue"``) stacked as R, G, B.
        predictor: runs the model; its :class:`~hprn_geo.predict_options.PredictOptions` say how the asset
            is read (``rgb_bands``, ``scale``, ``encoding``, ``white_balance``) and its ``sensor``
            (:func:`hprn_geo.sensors.input_name`; None: each Item's platform's, if known).
        on_note: called with one line per Item saying which sensor and scaling were used, and why.

    Returns:
        the derived Items (self link: their JSON file; asset hrefs absolute).

    Raises:
        StacError: an Item lacks the asset, the asset is not a raster (or is Sentinel-2's TCI), two Items give
            the same id.
        OutputError: an output exists without ``overwrite``; ``out_dir`` cannot be created.
        RasterReadError, BandCountError, UnsupportedDtypeError: the asset cannot be read as RGB.
        CheckpointError: the predictor's model does not take an Item's sensor.
    """
    if fmt not in FORMATS:
        raise OptionError(f"fmt must be one of {list(FORMATS)}, got {fmt!r}")
    out = Path(out_dir).absolute()
    options = predictor.options
    rgb_bands, scale, sensor = options.rgb_bands, options.scale, options.sensor
    refuse_nir(sensor, "the STAC door")
    with tempfile.TemporaryDirectory(prefix="hprn-stac-") as inputs:
        plans = [_plan(item, asset, out, fmt, suffix, rgb_bands, scale, sensor, Path(inputs))
                 for item in document.items]
        for plan in plans:  # Items of several platforms: each sensor against the model, before any output
            try:
                check_input(predictor.card, plan.rgb.sensor)
            except HPRNGeoError as exc:
                raise type(exc)(f"item {plan.source.id!r}: {exc}") from None
        _check_outputs(plans, overwrite)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create output directory {out}: {exc.strerror or exc}") from None
        derived = []
        for plan in plans:
            read = plan.rgb
            sensor_text = f"{read.sensor} ({read.sensor_reason})" if read.sensor else ""
            if on_note is not None and sensor_text:
                on_note(f"item {plan.source.id!r}: input sensor {sensor_text}; input scaling: {plan.scaling}")
            predictor.predict_file(read.href, plan.cube, replace(options, sensor=read.sensor), cog=FORMATS[fmt].cog,
                                   overwrite=overwrite)
            item = derive_item(plan.source, ",".join(read.assets), plan.cube, predictor.card, plan.grid,
                               suffix=suffix, scaling=plan.scaling, sensor=sensor_text)
            item.add_link(pystac.Link("derived_from", _source_href(plan), _ITEM_MEDIA_TYPE,
                                      f"Source item {plan.source.id}"))
            _save_item(item, plan.item_json)
            derived.append(item)
    return derived


def _plan(item: pystac.Item, key: str, out: Path, fmt: str, suffix: str, rgb_bands: tuple[int, int, int] | None,
          scale: float | str, sensor: str | None, inputs: Path) -> _Plan:
    """Check one Item (assets present, rasters, readable as RGB) and name its outputs."""
    read = read_input(item, key, sensor, inputs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MissingCRSWarning)  # predict_file warns when it runs
            with open_scene(read.href, rgb_bands=rgb_bands, scale=scale, sensor=read.sensor) as scene:
                grid = PixelGrid(scene.crs, None if scene.gcps else scene.transform, scene.height, scene.width)
                scaling = scene.scaling.reason + (f" (from the Item's {read.declared})" if read.declared else "")
    except HPRNGeoError as exc:
        raise type(exc)(f"item {item.id!r}, asset {key!r}: {exc}") from None
    name = f"{item.id}{suffix}"
    copy = None if item.get_self_href() else out / f"{name}.source.json"
    return _Plan(item, read, grid, scaling, out / f"{name}.{fmt}", out / f"{name}.json", copy)


def read_input(item: pystac.Item, asset: str, sensor: str | None, folder: Path) -> StacInput:
    """How to read ``item``'s RGB: its sensor, its asset(s) and the scaling it declares (a VRT in ``folder``
    stacks several assets and declares their scale/offset).

    Args:
        item: the STAC Item.
        asset: an asset key, or three keys or common names separated by commas (R, G, B).
        sensor: the sensor given, or None to take the Item's ``platform``'s.
        folder: where to write the VRT, if one is needed (it must outlive the reading).

    Raises:
        StacError: a missing asset or common name, an asset that is not a raster, Sentinel-2's TCI.
        OptionError: an unknown ``sensor``.
    """
    name, why = _item_sensor(item, sensor)
    satellite = None if name is None else sensor_of(name)
    keys = [k.strip() for k in asset.split(",")]
    if len(keys) not in (1, 3):
        raise StacError(f"--asset takes one asset key or three (R,G,B), got {asset!r}")
    keys = keys if len(keys) == 1 else [_asset_by_name(item, k) for k in keys]
    if satellite is SENSORS["sentinel2"] and len(keys) == 1 and keys[0].lower() in _TCI_KEYS:
        rgb = _rgb_assets(item, satellite) or ["B04", "B03", "B02"]
        raise StacError(f"item {item.id!r}: asset {keys[0]!r} is Sentinel-2's true-colour image (8-bit, reflectance "
                        f"x 1275 clipped at 255: anything brighter than 0.2 saturates), not reflectance; pass "
                        f"--asset {','.join(rgb)}")
    hrefs = [_raster_href(item, k) for k in keys]
    declared = [_declared_scaling(item, k, satellite) for k in keys]
    said = "; ".join(sorted({where for _, where in declared if where}))
    if len(keys) == 1 and not said:
        return StacInput(tuple(keys), hrefs[0], name, why)
    if len(keys) == 1:
        pairs = declared[0][0]
        bands = [VrtBand(hrefs[0], b, None, *_nth(pairs, b - 1)) for b in range(1, band_count(hrefs[0]) + 1)]
    else:
        bands = [VrtBand(href, 1, key, *_nth(pairs, 0)) for key, href, (pairs, _) in zip(keys, hrefs, declared)]
    path = stack_bands(folder / f"{len(list(folder.iterdir()))}-{item.id.replace('/', '_')}.vrt", bands)
    return StacInput(tuple(keys), str(path), name, why, f"{said} of {', '.join(keys)}" if said else "")


def _item_sensor(item: pystac.Item, sensor: str | None) -> tuple[str | None, str]:
    """The sensor given (checked), else the Item's platform's, with why; (None, "") when neither."""
    if sensor is not None:
        input_name(sensor)
        return sensor, "given"
    platform = item.properties.get("platform")
    found = sensor_for_platform(platform if isinstance(platform, str) else None)
    return (found.name, f"from the Item's platform {platform!r}") if found else (None, "")


def document_sensor(document: StacDocument) -> str | None:
    """The sensor of the Items' platforms when they all have the same known one, else None (what picks
    the model when none is named)."""
    names = {_item_sensor(item, None)[0] for item in document.items}
    return names.pop() if len(names) == 1 else None


def _band_names(asset: pystac.Asset) -> list[str]:
    """The lower-case names and common names of a single-band asset's band (none for several bands)."""
    bands = asset.extra_fields.get("eo:bands") or asset.extra_fields.get("bands") or []
    if len(bands) != 1 or not isinstance(bands[0], dict):
        return []
    band = bands[0]
    return [str(band[k]).lower() for k in ("name", "common_name", "eo:common_name") if band.get(k)]


def _asset_by_name(item: pystac.Item, name: str) -> str:
    """The key of asset ``name``, or of the single-band asset whose band is named or commonly named ``name``."""
    if name in item.assets:
        return name
    found = [key for key, asset in item.assets.items() if name.lower() in _band_names(asset)]
    if not found:
        raise StacError(f"item {item.id!r} has no asset {name!r} nor a single-band asset whose band is called so; "
                        f"it has: {', '.join(item.assets) or 'none'}")
    return found[0]


def _rgb_assets(item: pystac.Item, sensor: Sensor) -> list[str] | None:
    """Keys of the single-band assets holding ``sensor``'s red, green and blue bands (by key or band names)."""
    found = []
    for names in sensor.band_names[:3]:
        keys = [key for key, asset in item.assets.items()
                if key.lower() in names or set(names) & set(_band_names(asset))]
        if not keys:
            return None
        found.append(keys[0])
    return found


def _declared_scaling(item: pystac.Item, key: str,
                      sensor: Sensor | None) -> tuple[list[tuple[float | None, float | None]], str]:
    """(per band (scale, offset) pairs, None where unsaid; where it was said, "" when nowhere).

    Read from the asset's ``raster:bands`` (``scale``, ``offset``), or its STAC 1.1 ``bands``
    (``raster:scale``, ``raster:offset``), or the asset's own ``raster:scale``/``raster:offset``; for a
    Sentinel-2 Item that gives no offset, its ``s2:processing_baseline`` (04.00 and later: -1000 DN).
    """
    fields = item.assets[key].extra_fields
    per_band = fields.get("raster:bands") or fields.get("bands") or [{}]
    where = f"item {item.id!r}: asset {key!r}"
    pairs = [(_number(b, "scale", "raster:scale", fields, where), _number(b, "offset", "raster:offset", fields, where))
             for b in per_band if isinstance(b, dict)] or [(None, None)]
    said = ["raster:bands scale/offset"] if any(v is not None for pair in pairs for v in pair) else []
    baseline = item.properties.get("s2:processing_baseline")
    if sensor is SENSORS["sentinel2"] and baseline is not None and all(o is None for _, o in pairs):
        try:
            since_04 = float(baseline) >= 4.0
        except (TypeError, ValueError):
            raise StacError(f"item {item.id!r}: s2:processing_baseline {baseline!r} is not a number like "
                            "'05.10'") from None
        scales = [sensor.scale if s is None else s for s, _ in pairs]
        pairs = [(s, -1000 * s if since_04 else 0.0) for s in scales]
        said.append(f"s2:processing_baseline {baseline} ("
                    f"{'>= 04.00: offset -1000 DN' if since_04 else '< 04.00: no offset'})")
    return pairs, "; ".join(said)


def _number(band: dict, key: str, stac11_key: str, asset_fields: dict, where: str) -> float | None:
    """The band's declared ``key`` (or its STAC 1.1 name, on the band or the asset), None when unsaid.

    Raises:
        StacError: ``"<where> declares a <key> of <value>, not a number"``.
    """
    value = band.get(key, band.get(stac11_key, asset_fields.get(stac11_key)))
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise TypeError(value)
        return float(value)
    except (TypeError, ValueError):
        raise StacError(f"{where} declares a {key} of {value!r}, not a number") from None


def _nth(pairs: list[tuple[float | None, float | None]], i: int) -> tuple[float | None, float | None]:
    """Band ``i``'s declared (scale, offset); one pair declared for all bands applies to each."""
    if len(pairs) == 1:
        return pairs[0]
    return pairs[i] if i < len(pairs) else (None, None)


def _raster_href(item: pystac.Item, key: str) -> str:
    """The absolute href of asset ``key``, refused when missing or declared as something other than a raster."""
    if key not in item.assets:
        raise StacError(f"item {item.id!r} has no asset {key!r}; it has: {', '.join(item.assets) or 'none'}")
    asset = item.assets[key]
    base = (asset.media_type or "").split(";")[0].strip().lower()  # images (not SVG), HDF, NetCDF, Zarr; GDAL decides
    if asset.media_type and not ((base.startswith("image/") and "svg" not in base) or base in _RASTER_MEDIA_TYPES):
        raise StacError(f"asset {key!r} of item {item.id!r} is not a raster (media type {asset.media_type})")
    return asset.get_absolute_href() or asset.href


def _check_outputs(plans: list[_Plan], overwrite: bool) -> None:
    """Refuse, before writing anything, duplicate ids and outputs that exist without ``overwrite``."""
    names = [plan.item_json.name for plan in plans]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise StacError(f"several items would be written as {', '.join(duplicates)}; item ids must be unique")
    for plan in plans:
        for path in (plan.cube, plan.item_json, plan.source_copy):
            if path is not None:
                check_overwrite(path, overwrite)


def _source_href(plan: _Plan) -> str:
    """Where the source Item lives; an Item known only in memory is saved beside the derived one first."""
    if plan.source_copy is None:
        return plan.source.get_self_href()
    _write_json(plan.source_copy, plan.source.to_dict(include_self_link=False))
    return str(plan.source_copy)


def _save_item(item: pystac.Item, path: Path) -> None:
    """Write ``item`` as ``path`` with relative asset hrefs; leave it with absolute ones."""
    item.set_self_href(str(path))
    item.make_asset_hrefs_relative()
    _write_json(path, item.to_dict())
    item.make_asset_hrefs_absolute()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON under a temporary name, then rename it onto ``path``."""
    try:
        with published(path, hidden=True) as partial:
            partial.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def feature_collection(document: StacDocument, items: list[pystac.Item]) -> dict[str, Any]:
    """The FeatureCollection to hand on: a payload keeps its other keys (``process``, ``id``)."""
    features = [item.to_dict() for item in items]
    if "process" in document.document:
        return {**document.document, "type": "FeatureCollection", "features": features}
    return {"type": "FeatureCollection", "features": features}
