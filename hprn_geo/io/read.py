"""Reading windows of RGB reflectance from any GDAL raster.

:func:`open_scene` opens a raster, picks three bands and infers how raw values become reflectance
(:mod:`hprn_geo.io.scaling`, :mod:`hprn_geo.io.photo`); its :class:`RasterScene` reads windows as
``(3, h, w)`` float32 reflectance, 0 where invalid, plus a ``(h, w)`` validity mask (use the mask,
never the value). See ``docs/formats.md`` ("Input").
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import rasterio
from rasterio.control import GroundControlPoint
from rasterio.enums import ColorInterp, Resampling
from rasterio.errors import NodataShadowWarning, NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window

from hprn_geo.errors import (
    BandCountError,
    MissingCRSWarning,
    OptionError,
    RasterReadError,
    UnsupportedDtypeError,
    one_line_reason,
)
from hprn_geo.io.photo import (
    BALANCE_SAMPLE,
    InputEncoding,
    WhiteBalance,
    decode,
    infer_encoding,
    sample_white_balance,
)
from hprn_geo.io.remote import gdal_name
from hprn_geo.io.scaling import InputScaling, infer_scaling
from hprn_geo.sensors import Sensor, input_name, sensor_of, with_nir

__all__ = ["RasterScene", "open_scene"]


class RasterScene:
    """An open raster with three chosen bands, read window by window.

    Use :func:`open_scene` to create one; close it (or use ``with``) when done.

    Attributes:
        path: the path or GDAL dataset name as given.
        height, width: raster size in pixels.
        crs: rasterio ``CRS`` (that of the GCPs for a raster georeferenced by them) or None when
            the raster has none.
        transform: affine pixel -> CRS transform (the identity for a raster georeferenced by GCPs).
        gcps: the ground control points of a raster georeferenced by them alone, else empty.
        nodata: nodata value of the first chosen band (float) or None.
        dtype: numpy name of the raw data type, e.g. ``"uint8"``.
        count: number of bands in the raster.
        rgb_bands: the three chosen bands, 1-based, in R, G, B order.
        scaling: how raw values become reflectance.
        encoding: the transfer function undone after scaling (sRGB or linear).
        balance: the per-channel gains applied last, computed once for the whole scene.
        band_descriptions: descriptions of all ``count`` bands (None where unset).
        bands_reason: one sentence saying why these bands were chosen.
        sensor: the input's sensor as a model card names it (``"sentinel2"``, a camera name), or None.
    """

    def __init__(self, dataset: Any, path: str, rgb_bands: tuple[int, ...], scaling: InputScaling,
                 encoding: InputEncoding = InputEncoding(), balance: WhiteBalance = WhiteBalance(),
                 bands_reason: str = "", sensor: str | None = None):
        self._ds = dataset
        self.path = path
        self.height: int = dataset.height
        self.width: int = dataset.width
        gcps, gcp_crs = dataset.gcps
        self.gcps: tuple[GroundControlPoint, ...] = tuple(gcps) if dataset.transform.is_identity else ()
        self.crs = dataset.crs or (gcp_crs if self.gcps else None) or None
        self.transform = dataset.transform
        self.count: int = dataset.count
        self.rgb_bands = rgb_bands
        self.dtype: str = dataset.dtypes[rgb_bands[0] - 1]
        self._nodatavals = tuple(dataset.nodatavals[b - 1] for b in rgb_bands)
        self.nodata: float | None = None if self._nodatavals[0] is None else float(self._nodatavals[0])
        self.scaling = scaling
        self.encoding = encoding
        self.balance = balance
        self.band_descriptions: tuple[str | None, ...] = tuple(dataset.descriptions)
        self.bands_reason = bands_reason
        self.sensor = sensor
        alpha = [i + 1 for i, c in enumerate(dataset.colorinterp) if c == ColorInterp.alpha]
        self._alpha: int | None = alpha[0] if alpha and alpha[0] not in rgb_bands else None

    def __enter__(self) -> RasterScene:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying dataset (idempotent)."""
        self._ds.close()

    @property
    def closed(self) -> bool:
        return self._ds.closed

    def __repr__(self) -> str:
        return (f"RasterScene({self.path!r}, {self.height}x{self.width}, {self.dtype}, "
                f"rgb_bands={self.rgb_bands}, crs={self._crs_text()})")

    def read_window(self, row_off: int, col_off: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Read one window of the chosen bands (R, G, B, and NIR with a ``+nir`` sensor) as reflectance.

        The window must lie inside the scene.

        Returns:
            ``(rgb, valid)``: ``rgb`` float32 ``(C, height, width)`` reflectance, C = ``len(rgb_bands)``
            (``raw * factor + offset``, decoded and balanced), 0 where invalid; ``valid`` bool
            ``(height, width)``, False where any band is nodata/non-finite or
            the dataset mask (internal mask, alpha) marks the pixel invalid.
        """
        self._check_window(row_off, col_off, height, width)
        where = f" at rows {row_off}+{height}, cols {col_off}+{width}"
        raw, masks = self._read(where, window=Window(col_off, row_off, width, height))
        valid = self._valid(raw, masks)
        rgb = decode(raw, self.scaling, self.encoding, self.balance)
        rgb[:, ~valid] = 0.0
        return rgb, valid

    def valid_fraction(self, sample: int = 64) -> float:
        """Estimate the fraction of valid pixels from a decimated read of the whole scene at about
        ``sample x sample`` pixels (nearest neighbour, overviews when present): cheap on any scene size."""
        return float(self._sample(sample)[1].mean())

    def white_balance(self, method: str, sample: int = BALANCE_SAMPLE) -> WhiteBalance:
        """The gains of ``method`` (:data:`~hprn_geo.io.photo.WHITE_BALANCES`) for the whole scene, from a
        decimated read (about ``sample x sample`` pixels) of its valid pixels, scaled and decoded, so every
        window is balanced alike however the scene is tiled."""
        return sample_white_balance(lambda: self._sample(sample), self.scaling, self.encoding, method)

    def _sample(self, sample: int) -> tuple[np.ndarray, np.ndarray]:
        """Raw ``(C, h, w)`` values and ``(h, w)`` validity of the whole scene at about ``sample`` pixels a side."""
        if sample < 1:
            raise ValueError(f"sample must be >= 1, got {sample}")
        shape = (len(self.rgb_bands), min(sample, self.height), min(sample, self.width))
        raw, masks = self._read("", out_shape=shape, resampling=Resampling.nearest)
        return raw, self._valid(raw, masks)

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary for ``hprn-geo info``: size, CRS, transform, bands, dtype, nodata, scaling."""
        roles = {band: ("R", "G", "B", "NIR")[self.rgb_bands.index(band)] for band in self.rgb_bands}
        bands = [{"index": i, "description": description, "role": roles.get(i)}
                 for i, description in enumerate(self.band_descriptions, start=1)]
        return {
            "path": self.path,
            "driver": self._ds.driver,
            "height": self.height,
            "width": self.width,
            "count": self.count,
            "crs": self._crs_text(),
            "transform": list(self.transform)[:6],
            "bands": bands,
            "sensor": f"{self.sensor} (given)" if self.sensor else "none (no --sensor given)",
            "rgb_bands": list(self.rgb_bands),
            "bands chosen": self.bands_reason,
            "dtype": self.dtype,
            "nodata": self.nodata,
            "scaling": {"factor": self.scaling.factor, "offset": self.scaling.offset,
                        "reason": self.scaling.reason},
            "encoding": self.encoding.reason,
            "white balance": self.balance.reason,
        }

    def _crs_text(self) -> str | None:
        return None if self.crs is None else self.crs.to_string()

    def _check_window(self, row_off: int, col_off: int, height: int, width: int) -> None:
        ok = (height >= 1 and width >= 1 and row_off >= 0 and col_off >= 0
              and row_off + height <= self.height and col_off + width <= self.width)
        if not ok:
            raise ValueError(f"window rows {row_off}+{height}, cols {col_off}+{width} is not inside "
                             f"{self.path} ({self.height}x{self.width})")

    def _read(self, where: str, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
        """Raw ``(C, h, w)`` values and ``(C or C + 1, h, w)`` masks (the alpha band's values appended); a GDAL
        failure is a one-line RasterReadError naming the raster as the user did (not ``/vsicurl?...``)."""
        bands = list(self.rgb_bands)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NodataShadowWarning)
                raw = self._ds.read(indexes=bands, **kwargs)
                masks = self._ds.read_masks(indexes=bands, **kwargs)
                if self._alpha is not None:  # GDAL ignores alpha when nodata is set; we honour both
                    if "out_shape" in kwargs:
                        kwargs = {**kwargs, "out_shape": (1, *kwargs["out_shape"][1:])}
                    alpha = self._ds.read(indexes=[self._alpha], **kwargs)
                    masks = np.concatenate([masks, alpha != 0])
        except RasterioError as e:
            raise RasterReadError(f"cannot read {self.path}{where}: {_reason(e, self._ds.name, self.path)}") from None
        return raw, masks

    def _valid(self, raw: np.ndarray, masks: np.ndarray) -> np.ndarray:
        return np.all(masks != 0, axis=0) & data_mask(raw, self._nodatavals)


def _reason(error: BaseException, opened: str, name: str) -> str:
    """:func:`~hprn_geo.errors.one_line_reason`, the raster called ``name`` where GDAL says ``opened``."""
    text = one_line_reason(error) or type(error).__name__
    return text.replace(opened, name).replace(opened.lstrip("/"), name)


def data_mask(raw: np.ndarray, nodata: Sequence[float | None]) -> np.ndarray:
    """Where every band holds data: (B, h, w) raw values -> (h, w) bool.

    A pixel is invalid where any band equals its ``nodata`` value (NaN nodata
    matches NaN) or, for floats, any value is not finite.
    """
    valid = np.ones(raw.shape[1:], bool)
    for band, value in zip(raw, nodata, strict=True):
        if value is not None:
            valid &= ~np.isnan(band) if np.isnan(value) else band != value
    if raw.dtype.kind == "f":
        valid &= np.all(np.isfinite(raw), axis=0)
    return valid


def open_scene(
    path: str | os.PathLike[str],
    rgb_bands: tuple[int, ...] | None = None,
    scale: float | str = "auto",
    encoding: str = "auto",
    white_balance: str = "none",
    sensor: str | None = None,
) -> RasterScene:
    """Open any GDAL raster for reading RGB reflectance windows.

    Args:
        path: file path, http(s) URL or GDAL dataset name (``/vsicurl/...``, ``ZARR:...``); URLs are
            read through ``/vsicurl/`` with retries (:func:`hprn_geo.io.remote.gdal_name`).
        rgb_bands: three 1-based band indices (R, G, B); required unless the
            raster has exactly 3 bands. An alpha band not among them masks pixels.
        scale: ``"auto"`` or a factor; see :func:`hprn_geo.io.infer_scaling`.
        encoding: ``"auto"``, ``"linear"`` or ``"srgb"``; see :func:`hprn_geo.io.photo.infer_encoding`.
        white_balance: one of :data:`hprn_geo.io.photo.WHITE_BALANCES`; the gains
            come from a decimated read of the whole scene (:meth:`RasterScene.white_balance`).
        sensor: the input's sensor, a name of :data:`hprn_geo.sensors.SENSORS` or an alias, or
            ``"camera:NAME"``. A satellite sensor picks R, G, B by its band names in the band
            descriptions (unless ``rgb_bands`` is given), scales integers without a declared
            scale by its DN convention (unless ``scale`` is a number) and reads them as linear.
            ``"NAME+nir"`` reads its NIR band too, as a fourth channel (by name, or the fourth of
            four ``rgb_bands``); no white balance then.

    Raises:
        RasterReadError: missing, corrupt or not a raster (GDAL's reason included).
        BandCountError: not 3 bands, no ``rgb_bands`` and no sensor band names; bad ``rgb_bands``.
        UnsupportedDtypeError: the data type cannot be scaled to reflectance.
        OptionError: an unknown ``encoding``, ``white_balance`` or ``sensor``; ``encoding="srgb"`` with a sensor;
            a ``+nir`` camera, or white balance with a NIR input.

    Warns:
        MissingCRSWarning: the raster has no CRS (reading goes on).
    """
    name = os.fspath(path)
    if with_nir(sensor) and white_balance != "none":
        raise OptionError("white balance is for a photo's R, G, B; it does not apply to a sensor's NIR input (--with-nir)")
    if with_nir(sensor) and sensor_of(sensor) is None:  # type: ignore[arg-type]
        raise OptionError(f"{sensor}: a NIR input (--with-nir) needs a satellite sensor, not a camera")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            dataset = rasterio.open(opened := gdal_name(name))
    except RasterioError as e:
        raise RasterReadError(f"cannot open {name}: {_reason(e, opened, name)}") from None
    try:
        scene = _scene_from(dataset, name, rgb_bands, scale, encoding, sensor)
        scene.balance = scene.white_balance(white_balance)
    except BaseException:
        dataset.close()
        raise
    if scene.crs is None:
        warnings.warn(f"{name} has no CRS; the output will be written without one", MissingCRSWarning, stacklevel=2)
    return scene


def _scene_from(dataset: Any, name: str, rgb_bands: tuple[int, ...] | None, scale: float | str,
                encoding: str, sensor: str | None = None) -> RasterScene:
    satellite, nir = None if sensor is None else sensor_of(sensor), with_nir(sensor)
    named = None if rgb_bands is not None or satellite is None else satellite.rgb_in(dataset.descriptions, nir)
    if named is not None:
        bands = named
        why = (f"by name: {', '.join(str(dataset.descriptions[b - 1]) for b in named)} are "
               f"{satellite.name}'s {'red, green, blue and NIR' if nir else 'red, green and blue'}")  # type: ignore[union-attr]
    else:
        bands = _choose_bands(name, dataset.count, rgb_bands, satellite, nir)
        why = "given (--rgb-bands)" if rgb_bands is not None else "the raster's three bands, in order"
    dtypes = {dataset.dtypes[b - 1] for b in bands}
    if len(dtypes) > 1:
        raise UnsupportedDtypeError(f"{name}: bands {bands} have different data types {sorted(dtypes)}")
    dtype = dtypes.pop()
    scales, offsets = tuple(dataset.scales[b - 1] for b in bands), tuple(dataset.offsets[b - 1] for b in bands)
    try:
        scaling = infer_scaling(dtype, scale, declared_scales=scales, declared_offsets=offsets,
                                max_value=_declared_max(dataset, bands), sensor=satellite)
    except UnsupportedDtypeError as e:
        raise UnsupportedDtypeError(f"{name}: {e}") from None
    return RasterScene(dataset, name, bands, scaling, infer_encoding(dtype, encoding, scales, offsets, satellite),
                       bands_reason=why, sensor=None if sensor is None else input_name(sensor))


def _choose_bands(name: str, count: int, rgb_bands: tuple[int, ...] | None,
                  sensor: Sensor | None = None, nir: bool = False) -> tuple[int, ...]:
    if count == 0:
        raise RasterReadError(f"cannot open {name}: it has no raster bands (a container of subdatasets?)")
    if nir:
        return _nir_bands(name, count, rgb_bands, sensor)
    if rgb_bands is None:
        if count != 3:
            plural = "band" if count == 1 else "bands"
            names = "" if sensor is None else (
                f" and no band descriptions naming {sensor.name}'s red, green and blue "
                f"({', '.join(n[0].upper() for n in sensor.band_names[:3])})")
            raise BandCountError(f"{name} has {count} {plural}{names}; "
                                 "pass --rgb-bands R,G,B (1-based) to choose three")
        return (1, 2, 3)
    bands = tuple(rgb_bands)
    if len(bands) != 3 or not all(isinstance(b, (int, np.integer)) and not isinstance(b, bool) for b in bands):
        raise BandCountError(f"rgb_bands must be three 1-based band indices (R, G, B), got {rgb_bands!r}")
    if not all(1 <= b <= count for b in bands):
        raise BandCountError(f"rgb_bands {tuple(int(b) for b in bands)} out of range: {name} has bands 1-{count}")
    return (int(bands[0]), int(bands[1]), int(bands[2]))


def _nir_bands(name: str, count: int, rgb_bands: tuple[int, ...] | None, sensor: Sensor | None) -> tuple[int, ...]:
    """R, G, B and NIR of a raster read with ``--with-nir``: the four given, else refused (the names did not say)."""
    if rgb_bands is None:
        names = "" if sensor is None else f" naming {sensor.name}'s {', '.join(n[0].upper() for n in sensor.band_names)}"
        raise BandCountError(f"{name} has no band descriptions{names}; pass --rgb-bands R,G,B,NIR (1-based) with --with-nir")
    bands = tuple(int(b) for b in rgb_bands)
    if len(bands) != 4 or not all(1 <= b <= count for b in bands):
        raise BandCountError(f"with --with-nir, --rgb-bands must be four band numbers R,G,B,NIR in 1-{count}, "
                             f"got {','.join(map(str, bands))}")
    return bands


def _declared_max(dataset: Any, bands: tuple[int, ...]) -> int | None:
    """``2**NBITS - 1`` when the chosen bands declare NBITS (all the same), else None."""
    nbits = {dataset.tags(b, ns="IMAGE_STRUCTURE").get("NBITS") for b in bands}
    try:
        bits = int(nbits.pop()) if len(nbits) == 1 else 0
    except (TypeError, ValueError):
        return None
    return 2**bits - 1 if 0 < bits <= 16 else None
