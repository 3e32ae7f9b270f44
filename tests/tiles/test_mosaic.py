"""Tests of hprn_geo.tiles.mosaic: exact constants, partition of unity, streaming, order."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from hprn_geo.tiles import MosaicAccumulator, Strip, TileGrid, Window, blend_weights

from .test_grid import AWKWARD

Predict = Callable[[Window], np.ndarray]


def run(
    grid: TileGrid,
    bands: int,
    predict: Predict,
    *,
    start_row: int = 0,
    dtype: type = np.float64,
    seed: int | None = None,
    columns: tuple[int, int] | None = None,
) -> list[Strip]:
    """Feed every tile row from ``start_row`` on (the tiles touching ``columns``); shuffle within rows if ``seed``."""
    rng = np.random.default_rng(seed)
    acc = MosaicAccumulator(grid, bands, dtype=dtype, start_row=start_row, columns=columns)
    touching = grid.cols_touching(*acc.columns)
    strips: list[Strip] = []
    for i in range(start_row, grid.n_rows):
        row = grid.row(i)[touching.start : touching.stop]
        if seed is not None:
            row = [row[k] for k in rng.permutation(len(row))]
        for window in row[:-1]:
            assert acc.add(window, predict(window)) == []
        strips += acc.add(row[-1], predict(row[-1]))
    assert acc.finished()
    return strips


def stitch(strips: list[Strip]) -> np.ndarray:
    """Concatenate strips along rows, shape ``(bands, height, width)``."""
    return np.concatenate([s.data for s in strips], axis=1)


def reference(grid: TileGrid, bands: int, predict: Predict) -> np.ndarray:
    """Whole-scene weighted mean, the naive way, shape ``(bands, height, width)`` float32."""
    total = np.zeros((bands, grid.height, grid.width))
    weight = np.zeros((grid.height, grid.width))
    for window in grid:
        w = blend_weights(grid, window)
        total[(slice(None), *window.slices)] += w * predict(window)
        weight[window.slices] += w
    return (total / weight).astype(np.float32)


def ramp_scene(height: int, width: int, bands: int) -> np.ndarray:
    """Linear ramp across rows and columns, a different one per band, float64."""
    rows = np.arange(height, dtype=np.float64)[:, None] / height
    cols = np.arange(width, dtype=np.float64)[None, :] / width
    return np.stack([0.1 * b + 0.5 * rows + 0.3 * cols * (b + 1) / bands for b in range(bands)])


@pytest.mark.parametrize("shape", AWKWARD)
@pytest.mark.parametrize("value", [0.3713, 1 / 3, 1e-5, 4321.123, -7.25])
def test_constant_prediction_gives_exactly_that_constant(
    shape: tuple[int, int, int, int], value: float
) -> None:
    grid = TileGrid(*shape)
    c = np.float32(value)
    strips = run(grid, 3, lambda w: np.full((3, w.height, w.width), c, dtype=np.float32))
    mosaic = stitch(strips)
    assert mosaic.dtype == np.float32
    assert mosaic.shape == (3, grid.height, grid.width)
    assert np.array_equal(mosaic, np.full_like(mosaic, c))  # bit for bit, borders included


@pytest.mark.parametrize("shape", AWKWARD)
def test_constant_is_exact_in_any_order_within_a_row(shape: tuple[int, int, int, int]) -> None:
    grid = TileGrid(*shape)
    c = np.float32(0.3713)
    strips = run(grid, 2, lambda w: np.full((2, w.height, w.width), c, np.float32), seed=1)
    assert np.array_equal(stitch(strips), np.full((2, grid.height, grid.width), c, np.float32))


@pytest.mark.parametrize("shape", AWKWARD)
def test_ramp_cut_into_tiles_is_reproduced(shape: tuple[int, int, int, int]) -> None:
    grid = TileGrid(*shape)
    truth = ramp_scene(grid.height, grid.width, 4)
    mosaic = stitch(run(grid, 4, lambda w: truth[(slice(None), *w.slices)]))
    np.testing.assert_allclose(mosaic, truth, rtol=0, atol=1e-6)


@pytest.mark.parametrize("shape", AWKWARD)
def test_streaming_equals_a_whole_scene_weighted_mean(shape: tuple[int, int, int, int]) -> None:
    grid = TileGrid(*shape)
    # Every tile predicts something different, so the blend itself is exercised.
    def predict(w: Window) -> np.ndarray:
        seed = (w.row_off, w.col_off)
        return np.random.default_rng(seed).random((2, w.height, w.width), dtype=np.float32)

    np.testing.assert_array_equal(stitch(run(grid, 2, predict)), reference(grid, 2, predict))


@pytest.mark.parametrize("shape", AWKWARD)
def test_strips_tile_the_scene_rows_without_gaps_or_overlaps(
    shape: tuple[int, int, int, int],
) -> None:
    grid = TileGrid(*shape)
    strips = run(grid, 1, lambda w: np.zeros((1, w.height, w.width), np.float32))
    assert [s.index for s in strips] == list(range(grid.n_rows))
    next_row = 0
    for strip in strips:
        assert strip.row_off == next_row
        assert (strip.row_off, strip.row_off + strip.data.shape[1]) == grid.strip(strip.index)
        assert strip.data.shape[0] == 1 and strip.data.shape[2] == grid.width
        next_row += strip.data.shape[1]
    assert next_row == grid.height
    assert sum(s.data.shape[1] for s in strips) == grid.height


@pytest.mark.parametrize("shape", AWKWARD)
def test_block_columns_equal_the_same_columns_of_full_width_strips(shape: tuple[int, int, int, int]) -> None:
    grid = TileGrid(*shape)

    def predict(w: Window) -> np.ndarray:
        return np.random.default_rng((w.row_off, w.col_off)).random((2, w.height, w.width), dtype=np.float32)

    whole = stitch(run(grid, 2, predict, dtype=np.float32))
    for start, stop in grid.block_columns(max(1, grid.width // 3)):
        strips = run(grid, 2, predict, dtype=np.float32, columns=(start, stop))
        assert {s.col_off for s in strips} == {start}
        np.testing.assert_array_equal(stitch(strips), whole[:, :, start:stop])


def test_a_tile_outside_the_block_column_is_refused() -> None:
    grid = TileGrid(64, 200, 32, 8)  # tile columns at 0, 24, 48, ... 168
    acc = MosaicAccumulator(grid, 1, columns=(100, 150))
    assert list(grid.cols_touching(100, 150)) == [3, 4, 5, 6]  # 72..103, 96..127, 120..151, 144..175
    with pytest.raises(ValueError, match="does not touch columns 100..149"):
        acc.add(grid.row(0)[2], np.zeros((1, 32, 32), np.float32))


def test_block_column_buffer_does_not_depend_on_scene_width() -> None:
    narrow = MosaicAccumulator(TileGrid(1_000, 3_000, 64, 8), bands=31, dtype=np.float32, columns=(1024, 2048))
    wide = MosaicAccumulator(TileGrid(1_000, 300_000, 64, 8), bands=31, dtype=np.float32, columns=(1024, 2048))
    assert narrow.nbytes == wide.nbytes == 31 * 64 * 1024 * 4 + 64 * 1024 * 8


def test_buffer_size_does_not_depend_on_scene_height() -> None:
    short = MosaicAccumulator(TileGrid(1_000, 777, 64, 8), bands=31)
    tall = MosaicAccumulator(TileGrid(100_000, 777, 64, 8), bands=31)
    assert short.nbytes == tall.nbytes == (31 + 1) * 64 * 777 * 8
    narrow = MosaicAccumulator(TileGrid(100_000, 777, 64, 8), bands=31, dtype=np.float32)
    assert narrow.nbytes == 31 * 64 * 777 * 4 + 64 * 777 * 8


def test_float32_accumulation_is_close() -> None:
    grid = TileGrid(37, 53, 16, 4)
    truth = ramp_scene(37, 53, 3)
    mosaic = stitch(run(grid, 3, lambda w: truth[(slice(None), *w.slices)], dtype=np.float32))
    np.testing.assert_allclose(mosaic, truth, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shape", [(29, 40, 16, 4), (100, 30, 16, 4), (61, 20, 8, 0)])
def test_resumed_run_matches_the_full_run_from_the_resume_strip(
    shape: tuple[int, int, int, int],
) -> None:
    grid = TileGrid(*shape)

    def predict(w: Window) -> np.ndarray:
        return np.random.default_rng((w.row_off, w.col_off)).random((2, w.height, w.width))

    full = run(grid, 2, predict)
    for strip in range(grid.n_rows):
        start = grid.resume_row(strip)
        resumed = run(grid, 2, predict, start_row=start)
        assert [s.index for s in resumed] == list(range(start, grid.n_rows))
        kept = [s for s in resumed if s.index >= strip]
        assert len(kept) == len(full[strip:])
        for got, want in zip(kept, full[strip:], strict=True):
            assert got.row_off == want.row_off
            np.testing.assert_array_equal(got.data, want.data)


def test_starting_too_late_changes_the_overlap_rows() -> None:
    # Proof that resume_row matters: starting at the strip itself misses tile row 0.
    grid = TileGrid(29, 40, 16, 4)
    predict: Predict = lambda w: np.full((1, w.height, w.width), float(w.row_off))  # noqa: E731
    full = run(grid, 1, predict)
    late = run(grid, 1, predict, start_row=1)
    assert not np.array_equal(late[0].data, full[1].data)


def _constant(w: Window) -> np.ndarray:
    return np.ones((2, w.height, w.width), np.float32)


def test_tile_of_an_emitted_row_raises() -> None:
    grid = TileGrid(29, 29, 16, 4)
    acc = MosaicAccumulator(grid, 2)
    for window in grid.row(0):
        acc.add(window, _constant(window))
    with pytest.raises(ValueError, match="already emitted"):
        acc.add(grid.row(0)[0], _constant(grid.row(0)[0]))


def test_skipping_ahead_of_an_unfinished_row_raises() -> None:
    grid = TileGrid(29, 29, 16, 4)
    acc = MosaicAccumulator(grid, 2)
    acc.add(grid.row(0)[0], _constant(grid.row(0)[0]))
    with pytest.raises(ValueError, match="still lacks 2 tile"):
        acc.add(grid.row(1)[0], _constant(grid.row(1)[0]))
    resumed = MosaicAccumulator(grid, 2, start_row=1)
    with pytest.raises(ValueError, match="already emitted"):
        resumed.add(grid.row(0)[0], _constant(grid.row(0)[0]))


def test_duplicate_foreign_and_late_tiles_raise() -> None:
    grid = TileGrid(29, 29, 16, 4)
    acc = MosaicAccumulator(grid, 2)
    first = grid.row(0)[0]
    acc.add(first, _constant(first))
    with pytest.raises(ValueError, match="already added"):
        acc.add(first, _constant(first))
    with pytest.raises(ValueError, match="not a tile"):
        acc.add(Window(0, 1, 16, 16), _constant(first))
    for window in list(grid)[1:]:
        acc.add(window, _constant(window))
    assert acc.finished()
    with pytest.raises(ValueError, match="already in"):
        acc.add(first, _constant(first))


def test_wrong_shapes_and_bad_arguments_raise() -> None:
    grid = TileGrid(29, 29, 16, 4)
    acc = MosaicAccumulator(grid, 2)
    window = grid.row(0)[0]
    with pytest.raises(ValueError, match="prediction has shape"):
        acc.add(window, np.ones((3, 16, 16)))
    with pytest.raises(ValueError, match="weights have shape"):
        acc.add(window, np.ones((2, 16, 16)), weights=np.ones((16, 15)))
    with pytest.raises(ValueError, match="non-negative"):
        acc.add(window, np.ones((2, 16, 16)), weights=-np.ones((16, 16)))
    with pytest.raises(ValueError, match="start_row"):
        MosaicAccumulator(grid, 2, start_row=3)
    with pytest.raises(ValueError, match="floating"):
        MosaicAccumulator(grid, 2, dtype=np.int32)
    assert not acc.finished()


def test_custom_weights_are_used() -> None:
    # A tile whose weights are 0 does not count; pixels nobody weighs are NaN.
    grid = TileGrid(1, 28, 16, 4)  # two tiles: columns 0..15 and 12..27
    acc = MosaicAccumulator(grid, 1)
    left, right = grid.row(0)
    acc.add(left, np.full((1, 1, 16), 2.0), weights=np.zeros((1, 16)))
    (strip,) = acc.add(right, np.full((1, 1, 16), 5.0), weights=np.ones((1, 16)))
    assert np.all(np.isnan(strip.data[0, 0, :12]))
    np.testing.assert_array_equal(strip.data[0, 0, 12:], 5.0)
