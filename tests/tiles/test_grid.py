"""Tests of hprn_geo.tiles.grid: tile offsets, windows, strips, size errors."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import numpy as np
import pytest

import hprn_geo.tiles as tiles_pkg
from hprn_geo.errors import HPRNGeoError, TileSizeError
from hprn_geo.tiles import TileGrid, Window

# (height, width, tile, overlap): smaller than a tile, ragged remainders of 1 px,
# width not a multiple of the stride, overlap 0, 1-px tiles, one-pixel-thin scenes.
AWKWARD = [
    (5, 7, 16, 4),
    (16, 16, 16, 4),
    (29, 29, 16, 4),
    (37, 53, 16, 4),
    (40, 33, 8, 0),
    (3, 4, 1, 0),
    (1, 100, 8, 3),
    (100, 1, 8, 3),
    (50, 64, 16, 7),
    (17, 200, 16, 5),
]


def test_window_slices_select_the_rectangle() -> None:
    window = Window(row_off=2, col_off=3, height=4, width=5)
    scene = np.arange(10 * 12).reshape(10, 12)
    assert window.slices == (slice(2, 6), slice(3, 8))
    np.testing.assert_array_equal(scene[window.slices], scene[2:6, 3:8])


@pytest.mark.parametrize(
    ("size", "tile", "overlap", "expected"),
    [
        (29, 16, 4, (0, 12, 13)),  # last tile shifted back by 11: 1-px ragged remainder
        (28, 16, 4, (0, 12)),  # exact fit, no extra tile
        (5, 16, 4, (0,)),  # axis shorter than a tile
        (33, 8, 0, (0, 8, 16, 24, 25)),
        (32, 8, 0, (0, 8, 16, 24)),
        (3, 1, 0, (0, 1, 2)),
    ],
)
def test_offsets_follow_the_stride_and_end_at_the_edge(
    size: int, tile: int, overlap: int, expected: tuple[int, ...]
) -> None:
    grid = TileGrid(size, size, tile, overlap)
    assert grid.row_offsets == expected
    assert grid.col_offsets == expected


@pytest.mark.parametrize("shape", AWKWARD)
def test_tiles_have_full_size_and_cover_the_scene(shape: tuple[int, int, int, int]) -> None:
    height, width, tile, overlap = shape
    grid = TileGrid(height, width, tile, overlap)
    assert grid.tile_shape == (min(tile, height), min(tile, width))
    count = np.zeros((height, width), dtype=int)
    for window in grid:
        assert (window.height, window.width) == grid.tile_shape
        assert window.row_off >= 0 and window.col_off >= 0
        assert window.row_off + window.height <= height
        assert window.col_off + window.width <= width
        count[window.slices] += 1
    assert count.min() >= 1
    for offsets, size, tile_size in [
        (grid.row_offsets, height, grid.tile_shape[0]),
        (grid.col_offsets, width, grid.tile_shape[1]),
    ]:
        steps = np.diff(offsets)
        assert offsets[0] == 0
        assert offsets[-1] + tile_size == size
        assert np.all(steps > 0)  # strictly increasing: no duplicates
        assert np.all(steps <= tile - overlap)


@pytest.mark.parametrize("shape", AWKWARD)
def test_iteration_is_row_major_and_len_counts_tiles(shape: tuple[int, int, int, int]) -> None:
    grid = TileGrid(*shape)
    windows = list(grid)
    assert len(grid) == len(windows) == grid.n_rows * grid.n_cols
    assert windows == [w for i in range(grid.n_rows) for w in grid.row(i)]
    assert len(set(windows)) == len(windows)
    for i in range(grid.n_rows):
        row = grid.row(i)
        assert [w.col_off for w in row] == list(grid.col_offsets)
        assert {w.row_off for w in row} == {grid.row_offsets[i]}
        assert [grid.index(w) for w in row] == [(i, j) for j in range(grid.n_cols)]


@pytest.mark.parametrize("shape", AWKWARD)
def test_strips_partition_the_rows(shape: tuple[int, int, int, int]) -> None:
    grid = TileGrid(*shape)
    strips = [grid.strip(i) for i in range(grid.n_rows)]
    assert strips[0][0] == 0
    assert strips[-1][1] == grid.height
    for (_, stop), (start, _) in itertools.pairwise(strips):
        assert stop == start
    assert all(stop > start for start, stop in strips)
    # Rows of strip i are touched by no tile row after i.
    for i, (start, stop) in enumerate(strips):
        for later in range(i + 1, grid.n_rows):
            assert grid.row_offsets[later] >= stop


def test_index_rejects_windows_not_in_the_grid() -> None:
    grid = TileGrid(29, 29, 16, 4)
    with pytest.raises(ValueError, match="not a tile"):
        grid.index(Window(1, 0, 16, 16))
    with pytest.raises(ValueError, match="not a tile"):
        grid.index(Window(0, 0, 15, 16))


def test_row_and_strip_reject_out_of_range_rows() -> None:
    grid = TileGrid(29, 29, 16, 4)
    with pytest.raises(IndexError):
        grid.row(3)
    with pytest.raises(IndexError):
        grid.strip(-1)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((100, 100, 8, 4), "twice the overlap"),
        ((100, 100, 8, 5), "twice the overlap"),
        ((100, 100, 0, 0), "at least 1 pixel"),
        ((100, 100, 16, -1), "0 pixels or more"),
        ((0, 100, 16, 4), "at least 1 x 1"),
        ((100, 0, 16, 4), "at least 1 x 1"),
        ((100, 100, 16.5, 4), "whole number"),
    ],
)
def test_bad_sizes_raise_a_readable_tile_size_error(
    args: tuple[int, int, int, int], words: str
) -> None:
    with pytest.raises(TileSizeError) as caught:
        TileGrid(*args)
    message = str(caught.value)
    assert words in message
    assert "\n" not in message and message.endswith(".") and message[0].isupper()
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, HPRNGeoError)


def test_numpy_integers_are_accepted() -> None:
    grid = TileGrid(np.int64(29), np.int32(29), np.int64(16), np.int16(4))
    assert grid.row_offsets == (0, 12, 13)
    assert all(type(v) is int for v in (grid.height, grid.width, grid.tile, grid.overlap))


def test_resume_row_goes_back_past_every_tile_row_reaching_the_strip() -> None:
    grid = TileGrid(29, 10, 16, 4)  # row offsets 0, 12, 13
    assert grid.resume_row(0) == 0
    assert grid.resume_row(1) == 0  # tile row 0 ends at 16 > 12
    assert grid.resume_row(2) == 0  # tile row 0 still reaches row 13
    wide = TileGrid(100, 10, 16, 4)  # row offsets 0, 12, 24, ..., 84
    # Strip 3 starts at row 36: tile row 2 (rows 24..39) reaches it, tile row 1 (12..27) does not.
    assert wide.resume_row(3) == 2


FORBIDDEN = {"torch", "rasterio", "xarray", "rioxarray", "dask", "zarr", "pystac", "skimage"}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_tiles_imports_only_numpy_the_stdlib_and_hprn_geo_errors() -> None:
    files = sorted(Path(tiles_pkg.__file__).parent.glob("*.py"))
    assert {f.name for f in files} >= {"__init__.py", "grid.py", "blend.py", "mosaic.py"}
    for path in files:
        for name in _imported_modules(path):
            top = name.split(".")[0]
            assert top not in FORBIDDEN, f"{path.name} imports {name}"
            if top == "hprn_geo":
                assert name == "hprn_geo.errors" or name.startswith("hprn_geo.tiles"), name


@pytest.mark.parametrize("shape", AWKWARD)
def test_block_columns_partition_the_width_and_their_tiles_cover_them(shape: tuple[int, int, int, int]) -> None:
    grid = TileGrid(*shape)
    blocks = grid.block_columns(5)
    assert blocks[0][0] == 0 and blocks[-1][1] == grid.width
    assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:]))
    for start, stop in blocks:
        touching = grid.cols_touching(start, stop)
        spans = [(grid.col_offsets[j], grid.col_offsets[j] + grid.tile_shape[1]) for j in range(grid.n_cols)]
        assert [j for j, (a, b) in enumerate(spans) if a < stop and b > start] == list(touching)
        assert spans[touching.start][0] <= start and spans[touching.stop - 1][1] >= stop


def test_block_columns_refuse_bad_ranges() -> None:
    grid = TileGrid(10, 10, 4, 1)
    with pytest.raises(ValueError):
        grid.block_columns(0)
    with pytest.raises(ValueError):
        grid.cols_touching(5, 5)
