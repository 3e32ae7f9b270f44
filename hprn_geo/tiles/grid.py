"""Window grid of a scene: overlapping tiles of a fixed size, in pixel coordinates (docs/tiles.md, "Grid")."""

from __future__ import annotations

import operator
from collections.abc import Iterator
from dataclasses import dataclass

from hprn_geo.errors import TileSizeError

__all__ = ["Window", "TileGrid"]


@dataclass(frozen=True)
class Window:
    """A rectangle in pixel coordinates of the scene.

    Rows ``row_off .. row_off + height - 1`` and columns
    ``col_off .. col_off + width - 1``.
    """

    row_off: int
    col_off: int
    height: int
    width: int

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(rows, cols)`` slices selecting this window from a ``(..., H, W)`` array."""
        return slice(self.row_off, self.row_off + self.height), slice(self.col_off, self.col_off + self.width)


def _as_int(name: str, value: object) -> int:
    """Return ``value`` as an int, or raise TileSizeError naming ``name``."""
    message = f"The {name} must be a whole number of pixels, got {value!r}."
    if isinstance(value, bool):
        raise TileSizeError(message)
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TileSizeError(message) from None


def _check_sizes(height: int, width: int, tile: int, overlap: int) -> None:
    """Raise TileSizeError with one readable sentence if the sizes cannot make a grid."""
    if tile < 1:
        raise TileSizeError(f"The tile size must be at least 1 pixel, got {tile}.")
    if overlap < 0:
        raise TileSizeError(f"The tile overlap must be 0 pixels or more, got {overlap}.")
    if tile <= 2 * overlap:
        raise TileSizeError(
            f"The tile size ({tile} px) must be larger than twice the overlap "
            f"({overlap} px), e.g. tile={2 * overlap + 1} or more, or a smaller overlap."
        )
    if height < 1 or width < 1:
        raise TileSizeError(f"The scene must be at least 1 x 1 pixels, got {height} x {width}.")


def _axis_offsets(length: int, tile: int, stride: int) -> tuple[int, ...]:
    """Tile offsets along one axis of ``length`` pixels; strictly increasing.

    ``0, stride, 2*stride, ...`` while a tile still ends before the edge, then one
    tile ending exactly at the edge (offset ``length - tile``, or 0 if the axis is
    shorter than a tile).
    """
    last = max(length - tile, 0)
    return (*range(0, last, stride), last)


class TileGrid:
    """Overlapping tiles covering a ``height x width`` scene.

    Every tile has shape :attr:`tile_shape` ``= (min(tile, height), min(tile, width))``.
    Tiles are numbered row-major: tile row ``i`` holds the windows at
    ``row_offsets[i]``, left to right.

    Args:
        height, width: scene size in pixels (>= 1).
        tile: tile edge length in pixels (>= 1).
        overlap: pixels shared by neighbouring tiles (>= 0, ``tile > 2 * overlap``).

    Raises:
        TileSizeError: the sizes are not whole numbers or are inconsistent.
    """

    def __init__(self, height: int, width: int, tile: int, overlap: int) -> None:
        height = _as_int("scene height", height)
        width = _as_int("scene width", width)
        tile = _as_int("tile size", tile)
        overlap = _as_int("tile overlap", overlap)
        _check_sizes(height, width, tile, overlap)
        self.height, self.width, self.tile, self.overlap = height, width, tile, overlap
        self.row_offsets: tuple[int, ...] = _axis_offsets(height, tile, self.stride)
        self.col_offsets: tuple[int, ...] = _axis_offsets(width, tile, self.stride)
        self.tile_shape: tuple[int, int] = (min(tile, height), min(tile, width))
        self._row_index = {off: i for i, off in enumerate(self.row_offsets)}
        self._col_index = {off: j for j, off in enumerate(self.col_offsets)}

    @property
    def stride(self) -> int:
        """Distance in pixels between the offsets of neighbouring tiles (but the last)."""
        return self.tile - self.overlap

    @property
    def n_rows(self) -> int:
        """Number of tile rows."""
        return len(self.row_offsets)

    @property
    def n_cols(self) -> int:
        """Number of tiles in each tile row."""
        return len(self.col_offsets)

    def __len__(self) -> int:
        """Number of tiles."""
        return self.n_rows * self.n_cols

    def __repr__(self) -> str:
        return f"TileGrid(height={self.height}, width={self.width}, tile={self.tile}, overlap={self.overlap})"

    def _check_row(self, i: int) -> None:
        if not 0 <= i < self.n_rows:
            raise IndexError(f"Tile row {i} is outside 0..{self.n_rows - 1}.")

    def row(self, i: int) -> list[Window]:
        """The windows of tile row ``i``, left to right."""
        self._check_row(i)
        height, width = self.tile_shape
        row_off = self.row_offsets[i]
        return [Window(row_off, col_off, height, width) for col_off in self.col_offsets]

    def __iter__(self) -> Iterator[Window]:
        """All windows, row-major."""
        for i in range(self.n_rows):
            yield from self.row(i)

    def index(self, window: Window) -> tuple[int, int]:
        """``(tile_row, tile_col)`` of ``window``; ValueError if it is not one of the tiles."""
        i = self._row_index.get(window.row_off)
        j = self._col_index.get(window.col_off)
        if i is None or j is None or (window.height, window.width) != self.tile_shape:
            raise ValueError(f"{window} is not a tile of {self!r}.")
        return i, j

    def cols_touching(self, start: int, stop: int) -> range:
        """Tile columns whose tiles overlap scene columns ``start .. stop - 1`` (``0 <= start < stop <= width``)."""
        if not 0 <= start < stop <= self.width:
            raise ValueError(f"Columns {start}..{stop} are not a non-empty range inside 0..{self.width}.")
        width = self.tile_shape[1]
        touching = [j for j, off in enumerate(self.col_offsets) if off < stop and off + width > start]
        return range(touching[0], touching[-1] + 1)

    def block_columns(self, block: int) -> list[tuple[int, int]]:
        """``(start, stop)`` of the scene's block columns: ``block`` columns each, the last one narrower.

        The pipeline runs the scene one block column at a time, so what it holds
        depends on ``block`` and the tile, never on the scene's width.
        """
        if block < 1:
            raise ValueError(f"The block width must be at least 1 pixel, got {block}.")
        return [(c, min(c + block, self.width)) for c in range(0, self.width, block)]

    def strip(self, i: int) -> tuple[int, int]:
        """``(row_start, row_stop)``: the scene rows final once tile rows ``0..i`` are in.

        ``[row_offsets[i], row_offsets[i + 1])``, and ``[row_offsets[i], height)`` for
        the last tile row. The strips partition ``0..height`` without gaps or overlaps.
        """
        self._check_row(i)
        stop = self.row_offsets[i + 1] if i + 1 < self.n_rows else self.height
        return self.row_offsets[i], stop

    def resume_row(self, strip: int) -> int:
        """The tile row ``r <= strip`` to restart from so that strips ``strip, strip + 1, ...`` come out
        bit for bit as in an uninterrupted run (strips ``r .. strip - 1`` are incomplete: discard them).

        Strip ``strip`` also holds contributions of earlier tile rows that reach into it; see
        docs/tiles.md, "Resuming".
        """
        self._check_row(strip)
        top = self.row_offsets[strip]
        r = strip
        while r > 0 and self.row_offsets[r - 1] + self.tile_shape[0] > top:
            r -= 1
        return r
