"""Input scaling: how raw raster values become reflectance in [0, 1].

``reflectance = raw * factor + offset``; :func:`infer_scaling` picks the factor from the data type,
what the raster declares (GDAL band scale/offset, NBITS) and, for a satellite sensor
(:mod:`hprn_geo.sensors`), its digital-number convention. The rules: ``docs/formats.md`` ("Input")
and ``docs/predict.md`` ("Satellite products as input").
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hprn_geo.errors import OptionError, UnsupportedDtypeError

if TYPE_CHECKING:  # annotations only: the command line imports this module at start
    from hprn_geo.sensors import Sensor

__all__ = ["InputScaling", "infer_scaling", "scale_offset_pairs"]

_AUTO_DTYPES = ("uint8", "uint16", "int16", "float32", "float64")


@dataclass(frozen=True)
class InputScaling:
    """How raw values map to reflectance: ``reflectance = raw * factor + offset``.

    Attributes:
        factor: multiplier applied to raw values.
        offset: added after multiplying.
        reason: one human sentence saying why, e.g. ``"uint8: divided by 255"``.
    """

    factor: float
    offset: float = 0.0
    reason: str = ""

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Scale ``raw`` (any shape) to float32 reflectance of the same shape."""
        out = raw.astype(np.float32, copy=True)
        out *= np.float32(self.factor)
        if self.offset:
            out += np.float32(self.offset)
        return out


def infer_scaling(
    dtype: str,
    scale: float | str = "auto",
    declared_scales: Sequence[float] | None = None,
    declared_offsets: Sequence[float] | None = None,
    max_value: int | None = None,
    sensor: Sensor | None = None,
) -> InputScaling:
    """Choose the scaling from raw values to reflectance.

    Args:
        dtype: numpy/GDAL data type name of the raw values, e.g. ``"uint16"``.
        scale: ``"auto"`` (see ``docs/formats.md``, "Input") or a positive number used
            as the factor.
        declared_scales: the bands' GDAL scales (1.0 means none declared).
        declared_offsets: the bands' GDAL offsets (0.0 means none declared).
        max_value: the largest raw value the sensor produces, from the
            bands' NBITS metadata (``2**nbits - 1``); used for uint16 only.
        sensor: the satellite sensor the values come from: its DN convention replaces the
            dtype's default for integer bands without a declared scale/offset.

    Raises:
        UnsupportedDtypeError: the dtype has no reflectance scaling (complex,
            int8, int32, ... with ``scale="auto"``; complex or bool always),
            or the bands declare different scales, or 8-bit values of a sensor without a declared scale.
        ValueError: ``scale`` is a string other than ``"auto"`` that is not a
            number, or a number that is not positive and finite.
        TypeError: ``scale`` is neither a string nor a number.
    """
    try:
        name = np.dtype(dtype).name
    except TypeError:
        raise UnsupportedDtypeError(f"unknown data type {dtype!r}") from None
    if not isinstance(scale, str):
        return _explicit(name, scale)
    if scale != "auto":
        try:
            return _explicit(name, float(scale))
        except ValueError:
            raise OptionError(f"scale must be 'auto' or a positive number, got {scale!r}") from None
    if name not in _AUTO_DTYPES:
        raise UnsupportedDtypeError(f"{name} rasters have no standard reflectance scaling; "
                                    f"supported: {', '.join(_AUTO_DTYPES)}, or pass --scale FACTOR")
    if sensor is not None and np.dtype(name).kind in "iu":
        return _sensor_scaling(name, sensor, _declared(declared_scales, declared_offsets))
    if name == "uint8":
        return InputScaling(1 / 255, 0.0, "uint8: divided by 255")
    if name.startswith("float"):
        return InputScaling(1.0, 0.0, f"{name}: taken as reflectance (factor 1)")
    declared = _declared(declared_scales, declared_offsets)
    if declared is not None:
        return _declared_scaling(name, *declared)
    if name == "int16":
        return InputScaling(1 / 10000, 0.0, "int16: no scale declared, divided by 10000 (reflectance x 10000)")
    if max_value is not None:
        if not 0 < int(max_value) <= 65535:
            raise ValueError(f"max_value must be in 1..65535 for uint16, got {max_value}")
        return InputScaling(1 / int(max_value), 0.0,
                            f"uint16: no scale declared, divided by {int(max_value)} (declared bit depth)")
    return InputScaling(1 / 65535, 0.0, "uint16: no scale or bit depth declared, divided by 65535")


def _sensor_scaling(name: str, sensor: Sensor, declared: tuple[float, float] | None) -> InputScaling:
    """Integer values of ``sensor``: the declared scale/offset, else the sensor's convention (not for 8 bits)."""
    if declared is not None:
        return _declared_scaling(name, *declared, f" (over the {sensor.name} convention)")
    if name == "uint8":
        raise UnsupportedDtypeError(f"8-bit {sensor.name} values are a quick-look (e.g. Sentinel-2's TCI: reflectance "
                                    f"x 1275 clipped at 255), not reflectance; use the product's bands or "
                                    "pass --scale FACTOR")
    offset = f" {'-' if sensor.offset < 0 else '+'} {abs(sensor.offset):g}" if sensor.offset else ""
    return InputScaling(sensor.scale, sensor.offset,
                        f"{name}: {sensor.name} convention x {sensor.scale:g}{offset} ({sensor.convention})")


def _declared_scaling(name: str, factor: float, offset: float, note: str = "") -> InputScaling:
    return InputScaling(factor, offset, f"{name}: declared band scale {factor:g} and offset {offset:g} applied{note}")


def _explicit(name: str, scale: float) -> InputScaling:
    if not isinstance(scale, (int, float, np.number)) or isinstance(scale, bool):
        raise TypeError(f"scale must be 'auto' or a positive number, got {scale!r}")
    if not (math.isfinite(scale) and scale > 0):
        raise OptionError(f"scale must be a positive finite number, got {scale!r}")
    if np.dtype(name).kind not in "uif":
        raise UnsupportedDtypeError(f"{name} rasters cannot be scaled to reflectance")
    return InputScaling(float(scale), 0.0, f"{name}: multiplied by {float(scale):g} (scale given)")


def _declared(
    scales: Sequence[float | None] | None, offsets: Sequence[float | None] | None
) -> tuple[float, float] | None:
    """The one (factor, offset) the bands declare, or None when none is declared."""
    pairs = scale_offset_pairs(scales, offsets)
    if all(pair == (1.0, 0.0) for pair in pairs):
        return None
    if len(set(pairs)) > 1:
        listed = ", ".join(f"{s:g}/{o:g}" for s, o in pairs)
        raise UnsupportedDtypeError(f"the bands declare different scale/offset ({listed}); pass --scale FACTOR")
    return pairs[0]


def scale_offset_pairs(
    scales: Sequence[float | None] | None, offsets: Sequence[float | None] | None
) -> list[tuple[float, float]]:
    """``(scale, offset)`` of each band as GDAL declares them, 1.0 and 0.0 where a band declares none.

    Args:
        scales, offsets: a raster's per-band ``scales`` and ``offsets`` (None or shorter: undeclared).

    Returns:
        One ``(scale, offset)`` pair per band named by either sequence.
    """
    pairs = itertools.zip_longest(scales or (), offsets or ())
    return [(1.0 if s is None else float(s), 0.0 if o is None else float(o)) for s, o in pairs]
