"""Tests for hprn_geo.io.scaling."""

from __future__ import annotations

import numpy as np
import pytest

from hprn_geo.errors import UnsupportedDtypeError
from hprn_geo.io.scaling import InputScaling, infer_scaling


def test_uint8_divides_by_255():
    s = infer_scaling("uint8")
    assert s.factor == pytest.approx(1 / 255) and s.offset == 0
    assert s.reason == "uint8: divided by 255"


def test_uint16_prefers_declared_scale_and_offset():
    s = infer_scaling("uint16", declared_scales=(1e-4,) * 3, declared_offsets=(-0.1,) * 3, max_value=4095)
    assert (s.factor, s.offset) == (pytest.approx(1e-4), pytest.approx(-0.1))
    assert "declared" in s.reason


def test_uint16_uses_declared_bit_depth_when_no_scale():
    s = infer_scaling("uint16", declared_scales=(1.0,) * 3, declared_offsets=(0.0,) * 3, max_value=4095)
    assert s.factor == pytest.approx(1 / 4095)
    assert "4095" in s.reason


def test_uint16_falls_back_to_full_range():
    s = infer_scaling("uint16")
    assert s.factor == pytest.approx(1 / 65535)
    assert "65535" in s.reason


def test_int16_reflectance_times_10000_unless_declared():
    assert infer_scaling("int16").factor == pytest.approx(1e-4)
    assert "10000" in infer_scaling("int16").reason
    assert infer_scaling("int16", declared_scales=(2e-5,) * 3).factor == pytest.approx(2e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_floats_are_reflectance(dtype):
    s = infer_scaling(dtype)
    assert (s.factor, s.offset) == (1.0, 0.0)
    assert dtype in s.reason


def test_explicit_scale_overrides_everything():
    s = infer_scaling("uint16", scale=0.5, declared_scales=(1e-4,) * 3)
    assert (s.factor, s.offset) == (0.5, 0.0)
    assert infer_scaling("int32", scale=1e-6).factor == pytest.approx(1e-6)
    assert infer_scaling("uint8", scale="0.01").factor == pytest.approx(0.01)


@pytest.mark.parametrize("dtype", ["complex64", "int8", "int32", "uint32", "bool"])
def test_unsupported_dtypes_raise_one_line(dtype):
    with pytest.raises(UnsupportedDtypeError) as info:
        infer_scaling(dtype)
    assert dtype in str(info.value) and "\n" not in str(info.value)


def test_complex_refused_even_with_a_scale():
    with pytest.raises(UnsupportedDtypeError):
        infer_scaling("complex64", scale=0.5)


def test_bands_declaring_different_scales_are_refused():
    with pytest.raises(UnsupportedDtypeError, match="different"):
        infer_scaling("uint16", declared_scales=(1e-4, 1e-4, 2e-4))


@pytest.mark.parametrize("bad", ["fast", -1.0, 0.0, float("nan")])
def test_bad_scale_values(bad):
    with pytest.raises(ValueError):
        infer_scaling("uint8", scale=bad)


def test_apply_maps_raw_to_float32_reflectance():
    s = InputScaling(1e-4, -0.1, "x")
    out = s.apply(np.array([[0, 1000, 10000]], dtype=np.uint16))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[-0.1, 0.0, 0.9]], atol=1e-6)
