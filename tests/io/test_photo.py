"""Photo inputs: the sRGB transfer function, what ``auto`` assumes, white-balance gains."""

from __future__ import annotations

import numpy as np
import pytest

from hprn_geo.io.photo import (
    EXPOSURE_TARGET,
    estimate_white_balance,
    infer_encoding,
    srgb8,
    srgb_to_linear,
)


def test_srgb_decoding_is_iec_61966_2_1() -> None:
    colour = pytest.importorskip("colour")
    values = np.linspace(0, 1, 1001)
    np.testing.assert_allclose(srgb_to_linear(values), colour.models.eotf_sRGB(values), atol=1e-6)


def test_srgb8_round_trips_within_one_step() -> None:
    codes = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(srgb8(srgb_to_linear(codes / 255.0)), codes)


@pytest.mark.parametrize(
    ("dtype", "scales", "expected"),
    [("uint8", None, "srgb"), ("uint8", (0.01, 0.01, 0.01), "linear"), ("uint16", None, "linear"),
     ("float32", None, "linear")],
)
def test_auto_encoding(dtype: str, scales, expected: str) -> None:
    encoding = infer_encoding(dtype, "auto", scales)
    assert encoding.name == expected and encoding.reason.startswith(expected + ":")


def test_a_given_encoding_wins_and_a_bad_one_is_refused() -> None:
    assert infer_encoding("uint8", "linear").name == "linear"
    with pytest.raises(ValueError, match="encoding must be one of auto, linear, srgb"):
        infer_encoding("uint8", "gamma")


def test_white_balance_gains(pavia_rgb: np.ndarray) -> None:
    pixels = srgb_to_linear(pavia_rgb).reshape(3, -1) * np.array([[1.3], [1.0], [0.7]], np.float32)
    gray = estimate_white_balance(pixels, "gray-world")
    means = (pixels * np.array(gray.gains)[:, None]).mean(axis=1)
    np.testing.assert_allclose(means, pixels.mean(), rtol=1e-5)
    white = estimate_white_balance(pixels, "white-patch")
    np.testing.assert_allclose(np.percentile(pixels * np.array(white.gains)[:, None], 99, axis=1), EXPOSURE_TARGET,
                               rtol=1e-5)
    exposure = estimate_white_balance(pixels, "exposure")
    assert len(set(exposure.gains)) == 1
    balanced = (pixels * np.array(exposure.gains)[:, None]).mean(axis=0)
    assert np.percentile(balanced, 99) == pytest.approx(EXPOSURE_TARGET, rel=1e-5)
    assert estimate_white_balance(pixels, "none").gains == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="white_balance must be one of"):
        estimate_white_balance(pixels, "auto")
