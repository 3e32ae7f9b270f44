"""Tests of hprn_geo.tiles.blend: tapers, border sides, positivity, caching."""

from __future__ import annotations

import numpy as np
import pytest

from hprn_geo.tiles import TileGrid, blend_weights
from hprn_geo.tiles.blend import taper

from .test_grid import AWKWARD


@pytest.mark.parametrize("shape", AWKWARD)
def test_weights_are_positive_float64_of_the_window_shape(
    shape: tuple[int, int, int, int],
) -> None:
    grid = TileGrid(*shape)
    for window in grid:
        weights = blend_weights(grid, window)
        assert weights.shape == (window.height, window.width)
        assert weights.dtype == np.float64
        assert np.all(weights > 0)
        assert np.all(weights <= 1)


@pytest.mark.parametrize("shape", AWKWARD)
def test_sides_at_the_scene_border_are_not_tapered(shape: tuple[int, int, int, int]) -> None:
    grid = TileGrid(*shape)
    for window in grid:
        weights = blend_weights(grid, window)
        # A border row/column must equal an interior one: no taper across that side.
        mid_row = weights[window.height // 2]
        mid_col = weights[:, window.width // 2]
        if window.row_off == 0:
            np.testing.assert_array_equal(weights[0], mid_row)
        if window.row_off + window.height == grid.height:
            np.testing.assert_array_equal(weights[-1], mid_row)
        if window.col_off == 0:
            np.testing.assert_array_equal(weights[:, 0], mid_col)
        if window.col_off + window.width == grid.width:
            np.testing.assert_array_equal(weights[:, -1], mid_col)


def test_scene_corners_and_interior_have_weight_one() -> None:
    grid = TileGrid(61, 47, 16, 4)
    ov = grid.overlap
    for window in grid:
        weights = blend_weights(grid, window)
        np.testing.assert_array_equal(weights[ov:-ov, ov:-ov], 1.0)
    corners = [(0, 0), (0, -1), (-1, 0), (-1, -1)]
    first, last = grid.row(0), grid.row(grid.n_rows - 1)
    for window, (r, c) in zip([first[0], first[-1], last[0], last[-1]], corners, strict=True):
        assert blend_weights(grid, window)[r, c] == 1.0


def test_single_tile_scene_is_all_ones() -> None:
    grid = TileGrid(5, 7, 16, 4)
    (window,) = list(grid)
    np.testing.assert_array_equal(blend_weights(grid, window), np.ones((5, 7)))


@pytest.mark.parametrize("overlap", [4, 8, 32, 64])
def test_inner_tile_edges_barely_count(overlap: int) -> None:
    grid = TileGrid(1000, 1000, 4 * overlap, overlap)
    window = grid.row(1)[1]  # neighbours on all four sides
    weights = blend_weights(grid, window)
    mid = window.height // 2
    assert weights[mid, 0] < 0.1 and weights[mid, -1] < 0.1
    assert weights[0, mid] < 0.1 and weights[-1, mid] < 0.1
    assert weights[0, 0] < 0.01
    # The taper rises monotonically from the edge to the interior.
    assert np.all(np.diff(weights[mid, : overlap + 1]) > 0)


def test_overlap_zero_gives_all_ones() -> None:
    grid = TileGrid(40, 33, 8, 0)
    for window in grid:
        np.testing.assert_array_equal(blend_weights(grid, window), 1.0)


@pytest.mark.parametrize("overlap", [1, 2, 5, 64])
def test_taper_pairs_sum_to_one_across_a_regular_overlap(overlap: int) -> None:
    ramp = taper(overlap)
    assert np.all((ramp > 0) & (ramp < 1))
    np.testing.assert_allclose(ramp + ramp[::-1], 1.0, rtol=0, atol=1e-15)


def test_summed_weights_are_one_where_two_tiles_meet_regularly() -> None:
    grid = TileGrid(1, 40, 16, 4)  # column offsets 0, 12, 24: regular overlaps only
    assert grid.col_offsets == (0, 12, 24)
    total = np.zeros((1, 40))
    for window in grid:
        total[window.slices] += blend_weights(grid, window)
    np.testing.assert_allclose(total, 1.0, rtol=0, atol=1e-15)


def test_weights_are_cached_and_read_only() -> None:
    grid = TileGrid(200, 200, 32, 8)
    inner = grid.row(1)
    assert blend_weights(grid, inner[1]) is blend_weights(grid, inner[2])
    assert blend_weights(grid, inner[0]) is not blend_weights(grid, inner[1])
    with pytest.raises(ValueError):
        blend_weights(grid, inner[1])[0, 0] = 5.0
