"""The xarray accessor ``.hprn``: hyperspectral cubes from RGB DataArrays and Datasets.

``import hprn_geo`` registers it, as ``import rioxarray`` registers ``.rio``::

    rgb = rioxarray.open_rasterio("scene.tif", chunks={"y": 512})   # (band, y, x), lazy
    cube = rgb.hprn.reconstruct(model="rosis103")                    # (wavelength, y, x), lazy
    cube.hprn.to_zarr("cube.zarr")                                   # computes, block by block

The accessors' methods are the plain functions :func:`reconstruct`, :func:`reconstruct_dataset` and
:func:`to_zarr`; torch, dask and the pipeline are imported when first used.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import numpy as np
import xarray as xr

from hprn_geo.errors import BandCountError, OptionError, UnsupportedDtypeError
from hprn_geo.predict_options import PredictOptions, refuse_nir

if TYPE_CHECKING:
    from dask.delayed import Delayed

    from hprn_geo.distributed import RawDecoder
    from hprn_geo.io import CubeSpec, InputScaling
    from hprn_geo.io.photo import InputEncoding
    from hprn_geo.predict import Predictor
    from hprn_geo.sensors import Sensor

__all__ = ["HPRNDataArrayAccessor", "HPRNDatasetAccessor", "input_encoding", "input_scaling", "reconstruct",
           "reconstruct_dataset", "to_zarr"]

DEFAULT_MODEL = "rosis103"
_RGB_NAMES = ("red", "green", "blue")


def reconstruct(rgb: xr.DataArray, model: str | os.PathLike[str] | None = None, tile: int | None = None,
                overlap: int | None = None, rgb_bands: tuple[int, int, int] | None = None, device: str = "auto", *,
                scale: float | str = "auto", batch: int | str = "auto", precision: str = "auto", encoding: str = "auto",
                white_balance: str = "none", colour_consistent: bool | None = None,
                sensor: str | None = None) -> xr.DataArray:
    """Reconstruct spectra from an RGB raster array.

    Args:
        rgb: (band, y, x) raw values as ``rioxarray.open_rasterio`` returns them,
            numpy- or dask-backed (any order of the three dimensions).
        model: a bundled model name or a checkpoint file; None: :data:`DEFAULT_MODEL`, or with ``sensor``
            the bundled model that takes it.
        tile, overlap: tile side and overlap in pixels (default: the model card's).
        rgb_bands: three 1-based band numbers (R, G, B) when there are not exactly 3 bands.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"`` (resolved where the blocks run).
        scale: ``"auto"`` (see :func:`input_scaling`) or the factor to reflectance.
        batch: tiles per forward pass, or ``"auto"`` (4 on the CPU, from the free memory on CUDA).
        precision: ``"auto"`` (bf16 on CUDA, fp32 on CPU), ``"fp32"`` or ``"bf16"``.
        encoding: ``"auto"`` (see :func:`input_encoding`), ``"linear"`` or ``"srgb"``.
        white_balance: ``"none"``, ``"gray-world"``, ``"white-patch"`` or ``"exposure"``
            (:mod:`hprn_geo.io.photo`); gains from a decimated view of the whole array
            (one pass over a dask array's input before the lazy result is built).
        colour_consistent: make each spectrum render back to its input RGB through the
            card's ``input_response`` (None: the card's default).
        sensor: the input's sensor (``"sentinel2"``, ``"landsat8"``, ``"camera:NAME"``), as ``hprn-geo predict
            --sensor``: R, G, B by the sensor's band names in the ``long_name`` attribute (rioxarray's band
            descriptions), integers without a declared scale by its DN convention, linear; the model must
            take it.

    Returns:
        ``reflectance`` (wavelength, y, x) float32: ``wavelength`` in nm, the input's
        ``x``/``y``/``spatial_ref`` (CRS and transform), NaN where any input band is
        nodata (``rio.nodata``) or not finite; attrs ``hprn_model``, ``hprn_model_card``
        (JSON), ``hprn_input_scaling``, ``hprn_input_encoding``, ``hprn_white_balance`` (and
        ``hprn_input_sensor`` with a sensor). Dask-backed when ``rgb`` is: lazy, in
        full-width blocks of whole tile strips, each at least the input's chunk height.

    Raises:
        BandCountError: not three bands and no ``rgb_bands`` (nor sensor band names), or bad ``rgb_bands``.
        UnsupportedDtypeError, CheckpointError, OptionError: as ``hprn-geo predict``.
    """
    import rioxarray  # noqa: F401  (registers .rio)

    from hprn_geo.sensors import sensor_of

    refuse_nir(sensor, "the xarray accessor")
    satellite = None if sensor is None else sensor_of(sensor)
    if rgb_bands is None and satellite is not None and rgb.ndim == 3:
        names = rgb.attrs.get("long_name")
        rgb_bands = satellite.rgb_in(names) if isinstance(names, (tuple, list)) else None
    options = PredictOptions.pick(locals())
    rgb = _three_bands(rgb, rgb_bands)
    return _reconstruct(rgb, (rgb.rio.nodata,) * 3, model, options)


def reconstruct_dataset(ds: xr.Dataset, rgb: str | Sequence[str] | None = None,
                        model: str | os.PathLike[str] | None = None, tile: int | None = None,
                        overlap: int | None = None, rgb_bands: tuple[int, int, int] | None = None,
                        device: str = "auto", *, scale: float | str = "auto", batch: int | str = "auto",
                        precision: str = "auto", encoding: str = "auto", white_balance: str = "none",
                        colour_consistent: bool | None = None, sensor: str | None = None) -> xr.Dataset:
    """Reconstruct spectra from the RGB variables of a Dataset.

    Args:
        ds: a Dataset holding three (y, x) variables or one (band, y, x) variable.
        rgb: the variable names in R, G, B order (or one (band, y, x) variable).
            Default: variables named red, green, blue (any case) or, with a satellite ``sensor``,
            its band names (``B04``, ``B03``, ``B02``), else the Dataset's only variable, else its
            three variables in order.
        model, tile, overlap, rgb_bands, device, scale, batch, precision, encoding, white_balance,
            colour_consistent, sensor: as :func:`reconstruct`; ``rgb_bands`` only with one (band, y, x) variable.

    Returns:
        A Dataset with one variable ``reflectance`` (wavelength, y, x), as :func:`reconstruct`.
    """
    import rioxarray  # noqa: F401  (registers .rio)

    refuse_nir(sensor, "the xarray accessor")
    names = _rgb_variables(ds, rgb, sensor)
    if len(names) == 1:
        cube = reconstruct(ds[names[0]], model, tile, overlap, rgb_bands, device, scale=scale, batch=batch,
                           precision=precision, encoding=encoding, white_balance=white_balance,
                           colour_consistent=colour_consistent, sensor=sensor)
        return cube.to_dataset()
    if rgb_bands is not None:
        raise BandCountError("rgb_bands picks bands of one (band, y, x) variable; with three variables pass rgb=")
    dtypes = {ds[name].dtype for name in names}
    if len(dtypes) > 1:
        raise UnsupportedDtypeError(f"variables {names} have different data types {sorted(map(str, dtypes))}")
    stacked = xr.concat([ds[name] for name in names], dim="band", coords="minimal", compat="override", join="exact")
    nodata = tuple(ds[name].rio.nodata for name in names)
    return _reconstruct(_three_bands(stacked, None), nodata, model, PredictOptions.pick(locals())).to_dataset()


def input_scaling(rgb: xr.DataArray, scale: float | str = "auto", sensor: Sensor | None = None) -> InputScaling:
    """How ``rgb``'s values become reflectance, decided as the CLI decides for a file.

    Integer arrays: by data type (uint8 /255, uint16 /65535, int16 /10000) or the
    declared ``scale_factor``/``add_offset`` attributes (uint16, int16). Floats are
    reflectance, except floats that xarray decoded from integers without a declared
    scale (``mask_and_scale=True``): those are scaled as their stored integer type.
    A number ``scale`` overrides all of this. A satellite ``sensor``'s DN convention replaces the
    integer types' defaults (:func:`hprn_geo.io.infer_scaling`).
    """
    from hprn_geo.io import infer_scaling

    if rgb.dtype.kind in "iu" or scale != "auto":
        return infer_scaling(rgb.dtype.name, scale, declared_scales=_declared(rgb.attrs, "scale_factor"),
                             declared_offsets=_declared(rgb.attrs, "add_offset"), sensor=sensor)
    stored = np.dtype(rgb.encoding.get("dtype", rgb.dtype))
    if stored.kind in "iu" and not (_declared(rgb.encoding, "scale_factor") or _declared(rgb.encoding, "add_offset")):
        return infer_scaling(stored.name, sensor=sensor)
    return infer_scaling(rgb.dtype.name)


def input_encoding(rgb: xr.DataArray, encoding: str = "auto", sensor: Sensor | None = None) -> InputEncoding:
    """The transfer function of ``rgb``'s values, decided as the CLI decides for a file.

    ``"auto"``: sRGB for 8-bit unsigned values (stored as uint8, also when xarray decoded them to
    floats) without a declared ``scale_factor``/``add_offset``, linear otherwise and for a satellite
    ``sensor`` (:func:`hprn_geo.io.photo.infer_encoding`).
    """
    from hprn_geo.io.photo import infer_encoding

    dtype = rgb.dtype if rgb.dtype.kind in "iu" else np.dtype(rgb.encoding.get("dtype", rgb.dtype))
    scales = _declared(rgb.attrs, "scale_factor") + _declared(rgb.encoding, "scale_factor")
    offsets = _declared(rgb.attrs, "add_offset") + _declared(rgb.encoding, "add_offset")
    return infer_encoding(dtype.name, encoding, scales, offsets, sensor)


def _declared(attrs: Mapping[str, Any], key: str) -> list[float]:
    """The values of a CF scale/offset attribute that change anything ([] when none)."""
    neutral = 1.0 if key == "scale_factor" else 0.0
    values = np.atleast_1d(attrs.get(key, neutral)).astype(float).tolist()
    return [] if all(v == neutral for v in values) else values


def _three_bands(rgb: xr.DataArray, rgb_bands: tuple[int, int, int] | None) -> xr.DataArray:
    """(band, y, x) with the three chosen bands, in R, G, B order."""
    if rgb.ndim != 3:
        raise BandCountError(f"expected a (band, y, x) array, got dimensions {rgb.dims}")
    y, x = rgb.rio.y_dim, rgb.rio.x_dim
    (band,) = (dim for dim in rgb.dims if dim not in (y, x))
    rgb = rgb.transpose(band, y, x)
    count = rgb.sizes[band]
    if rgb_bands is None:
        if count != 3:
            raise BandCountError(f"the array has {count} bands; pass rgb_bands=(R, G, B), 1-based, to choose three")
        return rgb
    if len(rgb_bands) != 3 or not all(isinstance(b, (int, np.integer)) and 1 <= b <= count for b in rgb_bands):
        raise BandCountError(f"rgb_bands must be three band numbers in 1..{count} (R, G, B), got {rgb_bands!r}")
    return rgb.isel({band: [int(b) - 1 for b in rgb_bands]})


def _rgb_variables(ds: xr.Dataset, rgb: str | Sequence[str] | None, sensor: str | None = None) -> list[Hashable]:
    from hprn_geo.sensors import sensor_of

    satellite = None if sensor is None else sensor_of(sensor)
    variables = list(ds.data_vars)
    named = None if satellite is None else satellite.rgb_in([str(name) for name in variables])
    if rgb is not None:
        names: list[Hashable] = [rgb] if isinstance(rgb, str) else list(rgb)
    elif named is not None:
        names = [variables[i - 1] for i in named]
    else:
        by_name = {str(name).lower(): name for name in ds.data_vars}
        names = [by_name[c] for c in _RGB_NAMES] if set(_RGB_NAMES) <= set(by_name) else variables
    if len(names) not in (1, 3):
        raise BandCountError(f"cannot tell the red, green and blue variables among {list(ds.data_vars)}; "
                             "pass rgb=['red', 'green', 'blue'] or one (band, y, x) variable")
    return names


def _reconstruct(rgb: xr.DataArray, nodata: tuple[Any, Any, Any], model: str | os.PathLike[str] | None,
                 options: PredictOptions) -> xr.DataArray:
    """(band=3, y, x) raw RGB with per-band nodata -> the cube DataArray.

    ``options``' scale, encoding, white_balance and sensor say how raw values become linear RGB (its
    ``rgb_bands`` were applied already); the Predictor runs with it. No ``model``: the default, or the
    bundled model that takes the sensor.
    """
    from hprn_geo.distributed import PredictorSpec, lazy_cube
    from hprn_geo.predict import colour_request
    from hprn_geo.registry import check_input, pick_model
    from hprn_geo.sensors import input_name

    sensor = options.sensor
    decode = _decoder(rgb, tuple(None if v is None else float(v) for v in nodata), options)
    options = replace(options, colour_consistent=colour_request(options.colour_consistent, decode.encoding.name))
    if model is None:
        model = DEFAULT_MODEL if sensor is None else pick_model(sensor=sensor)
    spec = PredictorSpec.from_model(model, options)
    predictor = spec.predictor() if rgb.chunks is None else spec.plan()
    check_input(predictor.card, sensor)
    if rgb.chunks is None:
        source = decode(np.asarray(rgb.data))
        data = predictor.predict_array(source.rgb, source.valid)
    else:
        data = lazy_cube(rgb.data, decode, spec.pinned(predictor), predictor.card.bands, rgb.chunks[1][0])
    cube = _cube_like(rgb, data, predictor, decode)
    if sensor is not None:
        cube.attrs["hprn_input_sensor"] = input_name(sensor)
    return cube


def _decoder(rgb: xr.DataArray, nodata: tuple[float | None, ...], options: PredictOptions) -> RawDecoder:
    """How ``rgb``'s raw values become linear RGB (``options``' scale, encoding, white balance and sensor);
    white-balance gains from a decimated view of all of it."""
    from hprn_geo.distributed import RawDecoder
    from hprn_geo.io.photo import BALANCE_SAMPLE, sample_white_balance
    from hprn_geo.io.read import data_mask
    from hprn_geo.sensors import sensor_of

    satellite = None if options.sensor is None else sensor_of(options.sensor)
    scaling, decoding = input_scaling(rgb, options.scale, satellite), input_encoding(rgb, options.encoding, satellite)

    def sample() -> tuple[np.ndarray, np.ndarray]:
        step = max(1, -(-max(rgb.shape[1:]) // BALANCE_SAMPLE))
        raw = np.asarray(rgb.data[:, ::step, ::step])
        return raw, data_mask(raw, nodata)

    balance = sample_white_balance(sample, scaling, decoding, options.white_balance)
    return RawDecoder(scaling, nodata, decoding, balance)  # type: ignore[arg-type]


def _cube_like(rgb: xr.DataArray, data: Any, predictor: Predictor, decode: RawDecoder) -> xr.DataArray:
    """Wrap (B, H, W) spectra with ``rgb``'s geometry, the wavelengths and the model's card."""
    from hprn_geo.io.zarr_store import VARIABLE

    card = predictor.card
    band, y, x = rgb.dims
    coords: dict[Hashable, Any] = {name: c for name, c in rgb.coords.items() if band not in c.dims}
    coords["wavelength"] = ("wavelength", predictor.checkpoint.wavelengths, {"units": "nm", "long_name": "wavelength"})
    if card.fwhm is not None:
        fwhm_attrs = {"units": "nm", "long_name": "full width at half maximum"}
        coords["fwhm"] = ("wavelength", np.asarray(card.fwhm), fwhm_attrs)
    attrs = {"long_name": "reflectance", "units": "1", "hprn_model": card.name,
             "hprn_model_card": json.dumps(card.to_dict(), default=float), "hprn_input_scaling": decode.scaling.reason,
             "hprn_input_encoding": decode.encoding.reason, "hprn_white_balance": decode.balance.reason,
             "hprn_colour_consistent": str(predictor.colour_consistent).lower()}
    cube = xr.DataArray(data, dims=("wavelength", y, x), coords=coords, name=VARIABLE, attrs=attrs)
    if rgb.rio.crs is not None:
        cube = cube.rio.write_crs(rgb.rio.crs)
    return cube.rio.write_nodata(np.nan, encoded=False)


def to_zarr(cube: xr.DataArray, store: str | os.PathLike[str], *, region: Mapping[Hashable, slice] | None = None,
            chunks: tuple[int, int, int] | None = None, overwrite: bool = False,
            compute: bool = True) -> Delayed | None:
    """Write a (wavelength, y, x) cube to a Zarr store laid out as ``hprn-geo predict`` writes it.

    Zarr format 2, variable ``reflectance``, CF ``grid_mapping`` (``spatial_ref``),
    readable by xarray (``decode_coords="all"``), rioxarray and GDAL. On a
    ``dask.distributed`` client every worker writes its own chunks.

    Args:
        cube: (wavelength, y, x) reflectance, e.g. from :func:`reconstruct`.
        store: the store path.
        region: ``None``: create the store and write ``cube`` (all of it). ``{"y": slice(a, b)}``: write ``cube``
            (rows ``a..b`` of the scene) into a store made before (``to_zarr(full_cube, store, compute=False)``);
            ``a`` and ``b`` must fall on chunk boundaries (or ``b`` at the bottom), so jobs never share a chunk.
        chunks: (bands, rows, cols) chunks of a new store (default the CLI's, 16 x 512 x 512).
        overwrite: replace an existing store.
        compute: write now; with False, write the metadata now and return a
            ``dask.delayed`` that writes the data.
    """
    from hprn_geo.distributed import create_zarr, write_zarr_rows

    cube = cube.transpose("wavelength", cube.rio.y_dim, cube.rio.x_dim)
    spec = _cube_spec(cube)
    if region is None:
        create_zarr(store, spec, chunks, overwrite)
    return write_zarr_rows(cube.data, spec, store, _region_start(cube, region), compute)


def _cube_spec(cube: xr.DataArray) -> CubeSpec:
    """The layout of a (wavelength, y, x) cube, as :class:`~hprn_geo.io.CubeSpec`."""
    from hprn_geo.io import CubeSpec

    _, height, width = cube.shape
    fwhm = cube["fwhm"].values if "fwhm" in cube.coords else None
    tags = {key: value for key, value in cube.attrs.items() if key.startswith("hprn_")}
    return CubeSpec(height=height, width=width, wavelengths=cube["wavelength"].values, crs=cube.rio.crs,
                    transform=cube.rio.transform(), fwhm=fwhm, tags=tags)


def _region_start(cube: xr.DataArray, region: Mapping[Hashable, slice] | None) -> int:
    """First scene row of ``region`` (0 for None); only the y dimension may be cut."""
    if region is None:
        return 0
    y = cube.rio.y_dim
    rows = region.get(y, slice(None))
    if set(region) - {y} or rows.step not in (None, 1):
        raise OptionError(f"region may only cut {y!r} into a contiguous slice, got {dict(region)}")
    start = rows.start or 0
    if rows.stop is not None and rows.stop - start != cube.sizes[y]:
        raise OptionError(f"region {y}={rows} spans {rows.stop - start} rows but the cube has {cube.sizes[y]}")
    return start


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _method(function: Callable[Concatenate[Any, _P], _R]) -> Callable[Concatenate[_Accessor, _P], _R]:
    """An accessor method calling ``function`` on the accessor's object, with its signature, return type and
    docstring."""

    @functools.wraps(function)
    def method(self: _Accessor, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        return function(self._obj, *args, **kwargs)

    return method


class _Accessor:
    def __init__(self, obj: xr.DataArray | xr.Dataset) -> None:
        self._obj = obj


@xr.register_dataarray_accessor("hprn")
class HPRNDataArrayAccessor(_Accessor):
    """``DataArray.hprn``: :meth:`reconstruct` spectra from RGB (:func:`hprn_geo.accessor.reconstruct`);
    :meth:`to_zarr` a cube (:func:`hprn_geo.accessor.to_zarr`)."""

    reconstruct = _method(reconstruct)
    to_zarr = _method(to_zarr)


@xr.register_dataset_accessor("hprn")
class HPRNDatasetAccessor(_Accessor):
    """``Dataset.hprn``: :meth:`reconstruct` spectra from the RGB variables
    (:func:`hprn_geo.accessor.reconstruct_dataset`)."""

    reconstruct = _method(reconstruct_dataset)
