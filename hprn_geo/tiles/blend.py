"""Blending weights for overlapping tiles: a separable raised-cosine taper towards every side that a
neighbouring tile overlaps, 1 elsewhere (docs/tiles.md, "Blending")."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from hprn_geo.tiles.grid import TileGrid, Window

__all__ = ["blend_weights", "taper"]


def taper(overlap: int) -> np.ndarray:
    """Rising raised-cosine ramp of ``overlap`` values, shape ``(overlap,)`` float64.

    ``sin(pi/2 * (i + 0.5) / overlap) ** 2`` for ``i = 0 .. overlap - 1``: strictly
    between 0 and 1, smallest (``sin(pi / (4 * overlap)) ** 2``, below 0.04 for
    ``overlap >= 4``) at the tile edge, and ``taper[i] + taper[overlap - 1 - i] == 1``.
    """
    i = np.arange(overlap, dtype=np.float64)
    return np.sin(0.5 * np.pi * (i + 0.5) / overlap) ** 2


def _profile(length: int, overlap: int, falls_before: bool, falls_after: bool) -> np.ndarray:
    """1-D weights along one axis of a tile, shape ``(length,)`` float64."""
    weights = np.ones(length, dtype=np.float64)
    if overlap == 0:
        return weights
    ramp = taper(overlap)
    if falls_before:
        weights[:overlap] = ramp
    if falls_after:
        weights[length - overlap :] = ramp[::-1]
    return weights


@lru_cache(maxsize=64)
def _weights(height: int, width: int, overlap: int, top: bool, bottom: bool, left: bool, right: bool) -> np.ndarray:
    """Cached, read-only ``(height, width)`` weights for one shape and side pattern."""
    weights = np.outer(_profile(height, overlap, top, bottom), _profile(width, overlap, left, right))
    weights.setflags(write=False)
    return weights


def blend_weights(grid: TileGrid, window: Window) -> np.ndarray:
    """Blending weights of one tile of ``grid``, shape ``(window.height, window.width)`` float64.

    Strictly positive; tapered over ``grid.overlap`` pixels on each side of
    ``window`` that another tile overlaps, exactly 1 on sides at the scene border
    and in the interior; all ones if ``grid.overlap == 0``. The array is cached per
    shape and side pattern and is read-only: copy it before changing it.
    """
    top = window.row_off > 0
    left = window.col_off > 0
    bottom = window.row_off + window.height < grid.height
    right = window.col_off + window.width < grid.width
    return _weights(window.height, window.width, grid.overlap, top, bottom, left, right)
