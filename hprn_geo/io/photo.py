"""Photographs as input: the transfer function (encoding) and a per-scene white balance.

After :mod:`hprn_geo.io.scaling` has brought raw values to [0, 1], :class:`InputEncoding` undoes the
transfer function (sRGB or linear; ``"auto"``: :func:`infer_encoding`) and :class:`WhiteBalance`
multiplies each channel by a gain computed once per scene (:func:`estimate_white_balance`, on a
decimated read of the whole scene, so tiling does not change it). The methods, and what they do:
``docs/predict.md`` ("Photographs as input").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hprn_geo.errors import OptionError
from hprn_geo.io.scaling import InputScaling, scale_offset_pairs

if TYPE_CHECKING:  # annotations only: the command line imports this module at start
    from hprn_geo.sensors import Sensor

__all__ = [
    "ENCODINGS",
    "EXPOSURE_TARGET",
    "WHITE_BALANCES",
    "WHITE_PERCENTILE",
    "InputEncoding",
    "WhiteBalance",
    "decode",
    "estimate_white_balance",
    "infer_encoding",
    "sample_white_balance",
    "srgb8",
    "srgb_to_linear",
]

ENCODINGS = ("auto", "linear", "srgb")
"""Values of the ``encoding`` option."""

WHITE_BALANCES = ("none", "gray-world", "white-patch", "exposure")
"""Values of the ``white_balance`` option."""

WHITE_PERCENTILE = 99.0
"""The percentile taken as the scene's white (robust to a few saturated or specular pixels)."""

EXPOSURE_TARGET = 0.175
"""Where ``white-patch`` and ``exposure`` put the scene's :data:`WHITE_PERCENTILE` th percentile: the
brightness of the scenes the bundled models were trained on (how it was measured: ``docs/predict.md``)."""


def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    """The sRGB decoding (electro-optical transfer) function of IEC 61966-2-1:1999.

    ``v / 12.92`` for ``v <= 0.04045``, else ``((v + 0.055) / 1.055) ** 2.4``
    (what ``colour.models.eotf_sRGB`` computes).

    Args:
        values: encoded values in [0, 1], any shape (values below 0 follow the linear segment).

    Returns:
        Linear values, the shape of ``values``, float32.
    """
    values = np.asarray(values, dtype=np.float32)
    curve = ((np.maximum(values, 0.04045) + np.float32(0.055)) / np.float32(1.055)) ** np.float32(2.4)
    return np.where(values <= 0.04045, values / np.float32(12.92), curve).astype(np.float32)


def srgb8(linear: np.ndarray) -> np.ndarray:
    """Linear RGB as an 8-bit sRGB photo stores it: clipped to [0, 1], sRGB-encoded, rounded to 0-255.

    The encoding is the inverse of :func:`srgb_to_linear` (``12.92 v`` for ``v <= 0.0031308``,
    else ``1.055 v ** (1 / 2.4) - 0.055``; IEC 61966-2-1). Used to build test and benchmark photos.

    Args:
        linear: linear values, any shape.

    Returns:
        uint8, the shape of ``linear``.
    """
    v = np.clip(np.asarray(linear, np.float64), 0.0, 1.0)
    encoded = np.where(v <= 0.0031308, 12.92 * v, 1.055 * np.power(v, 1 / 2.4) - 0.055)
    return np.rint(encoded * 255.0).astype(np.uint8)


@dataclass(frozen=True)
class InputEncoding:
    """The transfer function of the input's values once scaled to [0, 1].

    Attributes:
        name: ``"linear"`` or ``"srgb"``.
        reason: one human sentence saying why.
    """

    name: str = "linear"
    reason: str = "linear: values used as they are"

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """(3, h, w) scaled values -> linear float32, same shape."""
        return srgb_to_linear(rgb) if self.name == "srgb" else rgb


def infer_encoding(
    dtype: str,
    encoding: str = "auto",
    declared_scales: Sequence[float | None] | None = None,
    declared_offsets: Sequence[float | None] | None = None,
    sensor: Sensor | None = None,
) -> InputEncoding:
    """Choose the transfer function of a raster's values.

    Args:
        dtype: numpy name of the raw data type.
        encoding: ``"auto"``, ``"linear"`` or ``"srgb"``.
        declared_scales, declared_offsets: the bands' GDAL scales/offsets (1 and 0: none declared).
        sensor: a satellite sensor's values are surface reflectance: linear, never sRGB.

    Raises:
        OptionError: ``encoding`` is not one of :data:`ENCODINGS`; ``"srgb"`` with a sensor.
    """
    if encoding not in ENCODINGS:
        raise OptionError(f"encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
    if sensor is not None:
        if encoding == "srgb":
            raise OptionError(f"{sensor.name} values are linear reflectance; --encoding srgb does not apply to a sensor")
        return InputEncoding("linear", f"linear: {sensor.name} surface reflectance, never sRGB")
    if encoding != "auto":
        return InputEncoding(encoding, f"{encoding}: given")
    declared = any(pair != (1.0, 0.0) for pair in scale_offset_pairs(declared_scales, declared_offsets))
    if np.dtype(dtype) == np.uint8 and not declared:
        return InputEncoding("srgb", "srgb: 8-bit values without a declared scale are taken as an sRGB-encoded photo")
    if np.dtype(dtype) == np.uint8:
        return InputEncoding("linear", "linear: 8-bit values with a declared scale/offset are taken as measurements")
    return InputEncoding("linear", f"linear: {np.dtype(dtype).name} values are taken as measurements, not a photo")


@dataclass(frozen=True)
class WhiteBalance:
    """Per-channel gains applied to the linear input.

    Attributes:
        method: one of :data:`WHITE_BALANCES`.
        gains: (R, G, B) multipliers.
        reason: one human sentence saying what was done.
    """

    method: str = "none"
    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)
    reason: str = "none: no white balance or exposure change"

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """(3, h, w) linear RGB -> balanced float32, same shape."""
        if self.gains == (1.0, 1.0, 1.0):
            return rgb
        return (rgb * np.asarray(self.gains, np.float32)[:, None, None]).astype(np.float32)


def estimate_white_balance(rgb: np.ndarray, method: str = "none") -> WhiteBalance:
    """The gains of ``method`` for a scene: ``gray-world`` evens the channel means, ``white-patch`` puts each
    channel's :data:`WHITE_PERCENTILE` th percentile at :data:`EXPOSURE_TARGET`, ``exposure`` does that with
    one gain for the per-pixel mean of the channels.

    Args:
        rgb: (3, N) linear RGB of the scene's valid pixels (a decimated sample is enough).
        method: one of :data:`WHITE_BALANCES`.

    Raises:
        ValueError: ``method`` is unknown.
    """
    _check_method(method)
    if method == "none":
        return WhiteBalance()
    rgb = np.asarray(rgb, np.float64).reshape(3, -1)
    if rgb.shape[1] == 0:
        return WhiteBalance(method, reason=f"{method}: no valid pixels, gains 1")
    if method == "gray-world":
        means = rgb.mean(axis=1)
        gains = means.mean() / means
    elif method == "white-patch":
        gains = EXPOSURE_TARGET / np.percentile(rgb, WHITE_PERCENTILE, axis=1)
    else:
        gains = np.full(3, EXPOSURE_TARGET / np.percentile(rgb.mean(axis=0), WHITE_PERCENTILE))
    if not np.all(np.isfinite(gains) & (gains > 0)):
        return WhiteBalance(method, reason=f"{method}: a channel is dark everywhere, gains 1")
    gains_tuple = tuple(float(g) for g in gains)
    shown = ", ".join(f"{g:.3f}" for g in gains_tuple)
    return WhiteBalance(method, gains_tuple, f"{method}: gains R, G, B {shown}")  # type: ignore[arg-type]


BALANCE_SAMPLE = 512
"""Side (pixels) of the decimated whole-scene read that white-balance gains are computed from."""


def decode(raw: np.ndarray, scaling: InputScaling, encoding: InputEncoding, balance: WhiteBalance) -> np.ndarray:
    """(3, h, w) raw values -> float32 linear, balanced RGB: scaling, then encoding, then gains."""
    return balance.apply(encoding.apply(scaling.apply(raw)))


def sample_white_balance(
    read: Callable[[], tuple[np.ndarray, np.ndarray]], scaling: InputScaling, encoding: InputEncoding, method: str
) -> WhiteBalance:
    """The gains of ``method`` from a decimated read of a whole scene (read only when ``method`` needs it).

    Args:
        read: returns (3, h, w) raw values of the sample and its (h, w) bool validity.
        scaling, encoding: how raw values become linear RGB.
        method: one of :data:`WHITE_BALANCES`.
    """
    _check_method(method)
    if method == "none":
        return WhiteBalance()
    raw, valid = read()
    return estimate_white_balance(encoding.apply(scaling.apply(raw))[:, valid], method)


def _check_method(method: str) -> None:
    if method not in WHITE_BALANCES:
        raise OptionError(f"white_balance must be one of {', '.join(WHITE_BALANCES)}, got {method!r}")
