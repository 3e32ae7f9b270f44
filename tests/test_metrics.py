"""Tests of hprn_geo.metrics against hand computations and scikit-image."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from hprn_geo.errors import HPRNGeoError
from hprn_geo.metrics import (
    mrae,
    per_band_mrae,
    per_pixel_mrae,
    psnr,
    rmse,
    sam,
    spectral_metrics,
    ssim,
    ssim_window,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SAMSON = DATA / "cubes" / "samson.mat"

# A (2, 1, 4) cube with known relative errors. Band 1 of pixel 0 has a negative
# reference (counted with its magnitude); pixels 1 and 2 each hold one element
# with |g| < 1e-3 (left out); pixel 3 has no element left at all.
TARGET = np.array([[[1.0, 0.5, 2.0, 0.0]], [[-0.5, 0.0, 0.0005, 1e-4]]])
PRED = np.array([[[1.1, 0.6, 1.0, 1.0]], [[-0.45, 0.2, 0.3, 1.0]]])
# relative errors kept: band 0: 0.1, 0.2, 0.5; band 1: 0.1


def smooth_spectra(bands: int, height: int, width: int, seed: int) -> np.ndarray:
    """Reflectance-like cube: a slope plus a Gaussian bump per pixel, in [0, 1]."""
    rng = np.random.default_rng(seed)
    wavelength = np.linspace(0.0, 1.0, bands)[:, None, None]
    level = rng.uniform(0.05, 0.4, (1, height, width))
    slope = rng.uniform(-0.1, 0.3, (1, height, width))
    centre = rng.uniform(0.2, 0.8, (1, height, width))
    bump = rng.uniform(0.0, 0.3, (1, height, width)) * np.exp(
        -((wavelength - centre) ** 2) / 0.02
    )
    return np.clip(level + slope * wavelength + bump, 0.0, 1.0)


@pytest.fixture
def pair() -> tuple[np.ndarray, np.ndarray]:
    target = smooth_spectra(12, 9, 11, seed=0)
    noise = np.random.default_rng(1).normal(0.0, 0.02, target.shape)
    return np.clip(target + noise, 0.0, 1.0), target


@pytest.fixture(scope="module")
def samson() -> np.ndarray:
    if not SAMSON.is_file():
        pytest.skip(f"real cube {SAMSON} is absent (shared data not checked out)")
    import scipy.io

    flat = scipy.io.loadmat(SAMSON)["V"]
    cube = flat.T.reshape(95, 95, 156, order="F")
    return np.ascontiguousarray(cube.transpose(2, 0, 1))


# MRAE ----------------------------------------------------------------------


def test_mrae_matches_hand_computation_and_excludes_near_zero():
    assert mrae(PRED, TARGET) == pytest.approx((0.1 + 0.2 + 0.5 + 0.1) / 4, rel=1e-12)


def test_mrae_eps_decides_which_elements_count():
    # With eps = 1e-4, the 0.0005 and 1e-4 references count: 0.2995/0.0005 and 0.9999/1e-4.
    expected = (0.1 + 0.2 + 0.5 + 0.1 + 599.0 + 9999.0) / 6
    assert mrae(PRED, TARGET, eps=1e-4) == pytest.approx(expected, rel=1e-12)


def test_mrae_with_nothing_kept_raises():
    with pytest.raises(ValueError, match="eps"):
        mrae(np.ones((2, 2, 2)), np.full((2, 2, 2), 1e-4))


@pytest.mark.parametrize("eps", [0.0, -1e-3])
def test_mrae_rejects_non_positive_eps(eps):
    with pytest.raises(ValueError, match="eps"):
        mrae(PRED, TARGET, eps=eps)


def test_mrae_accepts_flattened_pixels():
    assert mrae(PRED.reshape(2, -1), TARGET.reshape(2, -1)) == pytest.approx(0.225, rel=1e-12)


def test_per_pixel_mrae_matches_hand_computation():
    expected = np.array([[0.1, 0.2, 0.5, np.nan]])
    np.testing.assert_allclose(per_pixel_mrae(PRED, TARGET), expected, rtol=1e-12)


def test_per_pixel_mrae_needs_image_layout():
    with pytest.raises(ValueError, match=r"\(B, H, W\)"):
        per_pixel_mrae(PRED.reshape(2, -1), TARGET.reshape(2, -1))


def test_per_band_mrae_matches_hand_computation():
    expected = np.array([(0.1 + 0.2 + 0.5) / 3, 0.1])
    np.testing.assert_allclose(per_band_mrae(PRED, TARGET), expected, rtol=1e-12)
    flat = per_band_mrae(PRED.reshape(2, -1), TARGET.reshape(2, -1))
    np.testing.assert_allclose(flat, expected, rtol=1e-12)


def test_per_band_mrae_is_nan_for_a_band_with_nothing_kept():
    target = TARGET.copy()
    target[1] = 0.0
    result = per_band_mrae(PRED, target)
    assert np.isnan(result[1])
    assert result[0] == pytest.approx(0.8 / 3, rel=1e-12)


# RMSE ----------------------------------------------------------------------


def test_rmse_matches_hand_computation():
    pred = np.array([[[3.0, 0.0]]])
    target = np.array([[[0.0, -4.0]]])
    assert rmse(pred, target) == pytest.approx(math.sqrt((9.0 + 16.0) / 2), rel=1e-12)


def test_rmse_matches_numpy_on_a_cube(pair):
    pred, target = pair
    squares = [(p - g) ** 2 for p, g in zip(pred.ravel(), target.ravel())]
    expected = math.sqrt(sum(squares) / pred.size)
    assert rmse(pred, target) == pytest.approx(expected, rel=1e-12)
    assert rmse(pred.reshape(12, -1), target.reshape(12, -1)) == pytest.approx(expected, rel=1e-12)


def test_integer_inputs_are_computed_in_float64():
    pred = np.zeros((1, 2, 2), dtype=np.uint8)
    target = np.full((1, 2, 2), 200, dtype=np.uint8)
    assert rmse(pred, target) == pytest.approx(200.0)
    assert psnr(pred, target, data_range=255.0) == pytest.approx(10 * math.log10(255**2 / 200**2))


# SAM -----------------------------------------------------------------------


def sam_by_loop(pred: np.ndarray, target: np.ndarray) -> float:
    """Reference SAM: per-pixel math.acos over a plain Python loop, in degrees."""
    bands = pred.shape[0]
    angles = []
    for p, g in zip(pred.reshape(bands, -1).T, target.reshape(bands, -1).T):
        dot = sum(float(a) * float(b) for a, b in zip(p, g))
        norms = math.sqrt(sum(float(a) ** 2 for a in p)) * math.sqrt(sum(float(b) ** 2 for b in g))
        if norms == 0:
            continue
        angles.append(math.degrees(math.acos(max(-1.0, min(1.0, dot / norms)))))
    return sum(angles) / len(angles)


def test_sam_matches_explicit_loop(pair):
    pred, target = pair
    expected = sam_by_loop(pred, target)
    assert expected > 1.0  # the noise makes a real angle, not a near-zero one
    assert sam(pred, target) == pytest.approx(expected, rel=1e-9)
    assert sam(pred.reshape(12, -1), target.reshape(12, -1)) == pytest.approx(expected, rel=1e-9)


def test_sam_of_identical_spectra_is_zero(pair):
    _, target = pair
    assert sam(target, target) == 0.0


def test_sam_is_scale_invariant(pair):
    _, target = pair
    assert sam(2 * target, target) == 0.0
    assert sam(0.37 * target, target) == pytest.approx(0.0, abs=1e-6)


def test_sam_of_orthogonal_and_opposite_spectra():
    pred = np.array([[1.0, 1.0], [0.0, 0.0], [0.0, 1.0]])
    target = np.array([[0.0, -1.0], [2.0, 0.0], [0.0, -1.0]])
    # pixel 0: orthogonal (90); pixel 1: opposite (180)
    assert sam(pred[:, :1], target[:, :1]) == pytest.approx(90.0, abs=1e-12)
    assert sam(pred[:, 1:], target[:, 1:]) == pytest.approx(180.0, abs=1e-12)
    assert sam(pred, target) == pytest.approx(135.0, abs=1e-12)


def test_sam_leaves_out_zero_spectra(pair):
    pred, target = pair
    expected = sam(pred[:, 1:, :], target[:, 1:, :])
    pred, target = pred.copy(), target.copy()
    pred[:, 0, :5] = 0.0
    target[:, 0, 5:] = 0.0
    assert sam(pred, target) == pytest.approx(expected, rel=1e-12)


def test_sam_with_only_zero_spectra_raises():
    with pytest.raises(ValueError, match="zero spectrum"):
        sam(np.zeros((3, 2, 2)), np.ones((3, 2, 2)))


# PSNR ----------------------------------------------------------------------


@pytest.mark.parametrize("data_range", [1.0, 0.5])
def test_psnr_matches_scikit_image(pair, data_range):
    pred, target = pair
    expected = peak_signal_noise_ratio(target, pred, data_range=data_range)
    assert psnr(pred, target, data_range=data_range) == pytest.approx(expected, rel=1e-12)


def test_psnr_of_identical_inputs_is_infinite(pair):
    _, target = pair
    assert psnr(target, target, data_range=1.0) == math.inf


@pytest.mark.parametrize("data_range", [0.0, -1.0, float("nan")])
def test_psnr_rejects_bad_data_range(pair, data_range):
    pred, target = pair
    with pytest.raises(ValueError, match="data_range"):
        psnr(pred, target, data_range=data_range)


# SSIM ----------------------------------------------------------------------


def ssim_by_band(pred: np.ndarray, target: np.ndarray, data_range: float, **window) -> float:
    scores = [
        structural_similarity(p, g, data_range=data_range, **window) for p, g in zip(pred, target)
    ]
    return float(np.mean(scores))


def test_ssim_matches_scikit_image_per_band(pair):
    pred, target = pair
    expected = ssim_by_band(pred, target, data_range=1.0)  # scikit-image defaults: 7x7, uniform
    assert expected < 0.99
    assert ssim(pred, target, data_range=1.0) == pytest.approx(expected, rel=1e-12)
    assert ssim(target, target, data_range=1.0) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize(
    ("height", "width", "window"), [(6, 9, 5), (5, 5, 5), (9, 4, 3), (3, 3, 3), (8, 7, 7)]
)
def test_ssim_shrinks_window_for_small_images(pair, height, width, window):
    pred, target = pair
    pred, target = pred[:, :height, :width], target[:, :height, :width]
    assert ssim_window(height, width) == window
    expected = ssim_by_band(pred, target, data_range=1.0, win_size=window)
    assert ssim(pred, target, data_range=1.0) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("height", "width"), [(2, 9), (9, 2), (1, 1)])
def test_ssim_rejects_images_smaller_than_3(height, width):
    cube = np.ones((2, height, width))
    with pytest.raises(ValueError, match="at least 3x3"):
        ssim(cube, cube, data_range=1.0)


def test_ssim_rejects_flattened_pixels(pair):
    pred, target = pair
    with pytest.raises(ValueError, match=r"\(B, H, W\)"):
        ssim(pred.reshape(12, -1), target.reshape(12, -1), data_range=1.0)


# All together ---------------------------------------------------------------


def test_spectral_metrics_gathers_all_five(pair):
    pred, target = pair
    result = spectral_metrics(pred, target, data_range=0.8)
    assert result == {
        "mrae": mrae(pred, target),
        "rmse": rmse(pred, target),
        "sam": sam(pred, target),
        "psnr": psnr(pred, target, 0.8),
        "ssim": ssim(pred, target, 0.8),
    }
    assert result["psnr"] != psnr(pred, target, 1.0)  # data_range is passed on


def test_spectral_metrics_default_data_range_is_one(pair):
    pred, target = pair
    result = spectral_metrics(pred, target)
    assert result["psnr"] == pytest.approx(peak_signal_noise_ratio(target, pred, data_range=1.0))
    assert result["ssim"] == pytest.approx(ssim_by_band(pred, target, data_range=1.0))


def _call(name: str, pred: np.ndarray, target: np.ndarray):
    functions = {
        "mrae": lambda: mrae(pred, target),
        "per_pixel_mrae": lambda: per_pixel_mrae(pred, target),
        "per_band_mrae": lambda: per_band_mrae(pred, target),
        "rmse": lambda: rmse(pred, target),
        "sam": lambda: sam(pred, target),
        "psnr": lambda: psnr(pred, target, 1.0),
        "ssim": lambda: ssim(pred, target, 1.0),
        "spectral_metrics": lambda: spectral_metrics(pred, target),
    }
    return functions[name]()


@pytest.mark.parametrize(
    "name",
    ["mrae", "per_pixel_mrae", "per_band_mrae", "rmse", "sam", "psnr", "ssim", "spectral_metrics"],
)
def test_mismatched_shapes_raise_with_both_shapes(name):
    pred, target = np.ones((4, 8, 8)), np.ones((4, 8, 9))
    with pytest.raises(ValueError, match=r"\(4, 8, 8\).*\(4, 8, 9\)") as caught:
        _call(name, pred, target)
    assert isinstance(caught.value, HPRNGeoError)


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4, 5)])
def test_other_layouts_raise(shape):
    with pytest.raises(ValueError, match="expected arrays shaped"):
        rmse(np.ones(shape), np.ones(shape))


# A real cube ------------------------------------------------------------------


def test_metrics_on_samson_cube(samson):
    target = samson
    assert target.shape == (156, 95, 95)
    assert (target == 0).sum() > 0  # real zeros: MRAE must leave them out, not blow up
    rng = np.random.default_rng(7)
    pred = np.clip(1.03 * target + rng.normal(0.0, 0.01, target.shape), 0.0, 1.0)

    result = spectral_metrics(pred, target, data_range=1.0)

    kept = np.abs(target) >= 1e-3
    assert result["mrae"] == pytest.approx(
        np.mean(np.abs(pred[kept] - target[kept]) / np.abs(target[kept])), rel=1e-12
    )
    assert math.isfinite(result["mrae"])
    assert result["rmse"] == pytest.approx(math.sqrt(np.mean((pred - target) ** 2)), rel=1e-12)
    assert result["psnr"] == pytest.approx(peak_signal_noise_ratio(target, pred, data_range=1.0))
    assert result["ssim"] == pytest.approx(ssim_by_band(pred, target, data_range=1.0), rel=1e-12)
    corner = (slice(None), slice(0, 12), slice(0, 12))
    assert sam(pred[corner], target[corner]) == pytest.approx(
        sam_by_loop(pred[corner], target[corner]), rel=1e-9
    )
    # A pure brightness change leaves the spectral angle at 0 on real spectra too.
    assert sam(1.03 * target, target) == pytest.approx(0.0, abs=1e-6)
    # Per-band and per-pixel MRAE, weighted by the elements each keeps, give back the MRAE.
    band_counts = kept.reshape(156, -1).sum(axis=1)
    by_band = per_band_mrae(pred, target)
    assert np.nansum(by_band * band_counts) / band_counts.sum() == pytest.approx(result["mrae"])
    pixel_counts = kept.sum(axis=0)
    by_pixel = per_pixel_mrae(pred, target)
    assert by_pixel.shape == (95, 95)
    assert np.nansum(by_pixel * pixel_counts) / pixel_counts.sum() == pytest.approx(result["mrae"])
