"""Tests of hprn_geo.spectral against hand-checked values."""

from __future__ import annotations

import numpy as np
import pytest

from hprn_geo.spectral import cie_response, render_rgb, resample, response_on_grid

GRID = np.arange(400.0, 701.0, 10.0)  # 31 bands


def gaussian_line(centre: float, width: float = 15.0, grid: np.ndarray = GRID) -> np.ndarray:
    """A (B, 1, 1) spectrum with one smooth peak."""
    return np.exp(-0.5 * ((grid - centre) / width) ** 2)[:, None, None]


# ------------------------------------------------------------------ resample


def test_linear_resample_of_a_linear_spectrum_is_exact() -> None:
    spectrum = (0.1 + 0.001 * (GRID - 400.0))[:, None, None] * np.ones((1, 3, 2))
    target = np.array([400.0, 404.5, 555.5, 633.3, 700.0])
    out = resample(spectrum, GRID, target)
    assert out.shape == (5, 3, 2)
    np.testing.assert_allclose(out[:, 0, 0], 0.1 + 0.001 * (target - 400.0), rtol=0, atol=1e-12)


def test_linear_resample_sorts_an_unsorted_grid_like_aviris() -> None:
    # AVIRIS' spectrometers overlap: channel centres go 687 -> 664 nm and on.
    grid = np.array([650.0, 660.0, 670.0, 680.0, 687.0, 664.3, 673.9, 683.4, 693.0])
    spectrum = (2.0 * grid - 1000.0)[:, None]
    out = resample(spectrum, grid, [655.0, 668.0, 690.0])
    np.testing.assert_allclose(out[:, 0], 2.0 * np.array([655.0, 668.0, 690.0]) - 1000.0, atol=1e-9)


def test_targets_within_half_a_nanometre_of_the_range_are_accepted() -> None:
    spectrum = GRID[:, None].copy()
    out = resample(spectrum, GRID, [399.6, 700.4])
    np.testing.assert_allclose(out[:, 0], [400.0, 700.0])


@pytest.mark.parametrize("target", [[395.0], [550.0, 701.0]])
def test_targets_outside_the_range_are_an_error_naming_it(target: list[float]) -> None:
    with pytest.raises(ValueError, match="400-700 nm"):
        resample(np.ones((31, 2, 2)), GRID, target)


def test_band_count_must_match_the_wavelengths() -> None:
    with pytest.raises(ValueError, match="30 bands"):
        resample(np.ones((30, 2, 2)), GRID, [500.0])


def test_gaussian_resample_of_a_constant_is_the_constant_edges_included() -> None:
    cube = np.full((31, 4, 4), 0.37, dtype=np.float32)
    target = np.array([400.0, 405.0, 550.0, 695.0, 700.0])
    out = resample(cube, GRID, target, fwhm=[25.0, 10.0, 40.0, 10.0, 25.0])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, 0.37, rtol=1e-6)


def test_gaussian_resample_of_a_line_keeps_its_value_at_interior_centres() -> None:
    # A symmetric band response centred on c averages a straight line to its value at c.
    spectrum = (0.2 + 0.002 * (GRID - 400.0))[:, None]
    target = np.array([480.0, 555.0, 620.0])
    out = resample(spectrum, GRID, target, fwhm=20.0)
    np.testing.assert_allclose(out[:, 0], 0.2 + 0.002 * (target - 400.0), atol=1e-9)


def spike_response(sigma: float) -> float:
    """What a unit-area Gaussian of ``sigma`` nm sees of a 1 nm grid spiking to 1 at its centre.

    The piecewise-linear spectrum is a triangle of unit area and variance 1/6 nm^2, so
    the integral is g(0) * (1 - 1 / (12 sigma^2)) to second order, g(0) = 1 / (sigma sqrt(2 pi)).
    """
    return (1.0 - 1.0 / (12.0 * sigma**2)) / (sigma * np.sqrt(2.0 * np.pi))


def test_gaussian_band_over_a_spike_gives_the_gaussian_peak_density() -> None:
    # FWHM 10 nm -> sigma 4.2466 nm -> 0.09351 (0.09394 without the triangle's correction).
    grid = np.arange(500.0, 601.0, 1.0)
    spike = (grid == 550.0).astype(float)[:, None]
    out = resample(spike, grid, [550.0], fwhm=10.0)
    assert out[0, 0] == pytest.approx(spike_response(10.0 / 2.35482), rel=1e-3)


def test_source_fwhm_equal_to_target_fwhm_means_plain_interpolation() -> None:
    rng = np.random.default_rng(1)
    cube = rng.uniform(0, 1, size=(31, 3, 3))
    target = np.array([432.0, 517.0, 688.0])
    wide = resample(cube, GRID, target, fwhm=6.0, source_fwhm=6.0)
    np.testing.assert_allclose(wide, resample(cube, GRID, target), atol=1e-12)


def test_source_fwhm_narrows_the_gaussian() -> None:
    # Widths add in quadrature: a 10 nm band from 6 nm bands is an 8 nm Gaussian on the grid.
    grid = np.arange(500.0, 601.0, 1.0)
    spike = (grid == 550.0).astype(float)[:, None]
    out = resample(spike, grid, [550.0], fwhm=10.0, source_fwhm=6.0)
    assert out[0, 0] == pytest.approx(spike_response(8.0 / 2.35482), rel=1e-3)


# --------------------------------------------------------------- rendering


def test_white_renders_to_exactly_one_through_any_response() -> None:
    rng = np.random.default_rng(0)
    response = rng.uniform(0, 5, size=(31, 3))
    rgb = render_rgb(np.ones((31, 5, 7), dtype=np.float32), response)
    assert rgb.shape == (3, 5, 7) and rgb.dtype == np.float32
    np.testing.assert_allclose(rgb, 1.0, atol=1e-6)


def test_grey_renders_to_its_reflectance() -> None:
    rgb = render_rgb(np.full((31, 2, 2), 0.18), cie_response(GRID))
    np.testing.assert_allclose(rgb, 0.18, atol=1e-6)


@pytest.mark.parametrize(("peak", "channel"), [(450.0, 2), (540.0, 1), (630.0, 0)])
def test_a_peaked_spectrum_renders_brightest_in_its_channel(peak: float, channel: int) -> None:
    rgb = render_rgb(gaussian_line(peak), cie_response(GRID))[:, 0, 0]
    assert int(np.argmax(rgb)) == channel


def test_render_rgb_rejects_mismatched_shapes_and_dead_channels() -> None:
    with pytest.raises(ValueError, match=r"\(B, 3\)"):
        render_rgb(np.ones((31, 2, 2)), np.ones((30, 3)))
    dead = np.ones((31, 3))
    dead[:, 1] = 0.0
    with pytest.raises(ValueError, match="G"):
        render_rgb(np.ones((31, 2, 2)), dead)


def test_response_on_grid_is_zero_outside_and_exact_on_nodes() -> None:
    wavelengths = np.array([400.0, 500.0, 600.0])
    response = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    out = response_on_grid(wavelengths, response, [350.0, 400.0, 450.0, 600.0, 650.0])
    np.testing.assert_allclose(out, [[0, 0, 0], [0, 0, 1], [0, 0.5, 0.5], [1, 0, 0], [0, 0, 0]])


def test_cie_response_is_non_negative_with_peaks_where_srgb_has_them() -> None:
    grid = np.arange(380.0, 781.0, 5.0)
    response = cie_response(grid)
    assert response.shape == (grid.size, 3)
    assert response.min() >= 0.0
    red, green, blue = grid[np.argmax(response, axis=0)]
    assert 590 <= red <= 620 and 520 <= green <= 560 and 440 <= blue <= 465


# ---------------------------------------------------------------- colour consistency


def test_colour_consistent_projection(vnir31_scene) -> None:
    from hprn_geo.spectral import colour_consistent

    cube, rgb, response = vnir31_scene
    guess = np.roll(cube, 1, axis=0) * 1.1  # wrong spectra, real shapes
    fixed = colour_consistent(guess, rgb, response)
    assert fixed.shape == guess.shape and fixed.dtype == np.float32
    np.testing.assert_allclose(np.einsum("cb,bhw->chw", response, fixed), rgb, atol=1e-5, rtol=0)
    change = (fixed - guess).reshape(31, -1)
    in_row_space = response.T @ np.linalg.lstsq(response.T, change, rcond=None)[0]
    np.testing.assert_allclose(change, in_row_space, atol=1e-5)  # the smallest change: no metameric black added
    np.testing.assert_allclose(colour_consistent(cube, rgb, response), cube, atol=1e-6)  # already matching
    batched = colour_consistent(guess[None], rgb[None], response, axis=1)[0]
    np.testing.assert_array_equal(batched, fixed)


def test_colour_consistent_refuses_bad_shapes_and_dependent_rows(vnir31_scene) -> None:
    from hprn_geo.spectral import colour_consistent

    cube, rgb, response = vnir31_scene
    with pytest.raises(ValueError, match=r"\(3 or 4, B\) response"):
        colour_consistent(cube[:30], rgb, response)
    with pytest.raises(ValueError, match="linearly dependent"):
        colour_consistent(cube, rgb, np.stack([response[0], response[0], response[2]]))
