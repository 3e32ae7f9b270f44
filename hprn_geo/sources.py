"""Where tiles come from: window sources and batches of prepared tiles.

A :class:`WindowSource` reads RGB windows (a raster scene, an array in
memory). :func:`prepared_batches` turns a tile grid into :class:`TileBatch`es
ready for the model (read, nodata filled, semantic prior computed) in worker
threads, a bounded number of batches ahead of the consumer, so reading and
the CPU-side prior overlap with the model.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from hprn_geo.tiles import TileGrid, Window

__all__ = ["ArraySource", "TileBatch", "WindowSource", "fill_nodata", "prepare_batch", "prepared_batches"]


class WindowSource(Protocol):
    """Anything that reads RGB windows: a raster scene, an array in memory."""

    height: int
    width: int

    def read_window(self, row_off: int, col_off: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """(rgb (C, h, w) float32 reflectance, C = 3 or (with NIR) 4; valid (h, w) bool)."""
        ...


@dataclass
class ArraySource:
    """A :class:`WindowSource` over an RGB array in memory.

    Args:
        rgb: (C, H, W) float reflectance: R, G, B (C = 3) and NIR (C = 4).
        valid: (H, W) bool, True where the pixel is data (default: finite in all bands).
    """

    rgb: np.ndarray
    valid: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.rgb.ndim != 3 or self.rgb.shape[0] not in (3, 4):
            raise ValueError(f"rgb must have shape (3, H, W) (or (4, H, W) with NIR), got {self.rgb.shape}")
        finite = np.isfinite(self.rgb).all(axis=0)
        self.valid = finite if self.valid is None else np.asarray(self.valid, bool) & finite
        self.height, self.width = self.rgb.shape[1:]

    def read_window(self, row_off: int, col_off: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        rows, cols = slice(row_off, row_off + height), slice(col_off, col_off + width)
        valid = self.valid[rows, cols]
        return np.where(valid, self.rgb[:, rows, cols], 0).astype(np.float32), valid


def fill_nodata(rgb: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Replace invalid pixels of (C, h, w) ``rgb`` by the mean colour of the valid ones."""
    if valid.all():
        return rgb
    mean = rgb[:, valid].mean(axis=1) if valid.any() else np.full(rgb.shape[0], 0.5, np.float32)
    return np.where(valid, rgb, mean[:, None, None]).astype(np.float32)


@dataclass
class TileBatch:
    """Tiles of one tile row, ready for the model.

    Attributes:
        windows: the T windows of the batch.
        valid: (T, h, w) bool data masks.
        live: indices of the tiles with at least one valid pixel (the ones to run).
        rgb: (L, C, h, w) float32 input of the live tiles, nodata filled.
        labels: (L, S, h, w) int64 semantic prior of the live tiles, or None.
        read_seconds, prior_seconds: time spent preparing it (in a worker thread).
    """

    windows: list[Window]
    valid: np.ndarray
    live: list[int]
    rgb: np.ndarray
    labels: torch.Tensor | None
    read_seconds: float
    prior_seconds: float


def prepare_batch(
    source: WindowSource, windows: list[Window], prior: Callable[[torch.Tensor], torch.Tensor | None]
) -> TileBatch:
    """Read ``windows``, fill their nodata and compute the prior of the live ones."""
    start = time.perf_counter()
    reads = [source.read_window(w.row_off, w.col_off, w.height, w.width) for w in windows]
    valid = np.stack([v for _, v in reads])
    live = [i for i in range(len(windows)) if valid[i].any()]
    h, w = windows[0].height, windows[0].width
    rgb = np.stack([fill_nodata(*reads[i]) for i in live]) if live else np.empty((0, reads[0][0].shape[0], h, w), np.float32)
    read_done = time.perf_counter()
    labels = prior(torch.from_numpy(rgb)) if live else None
    return TileBatch(windows, valid, live, rgb, labels, read_done - start, time.perf_counter() - read_done)


def prepared_batches(
    source: WindowSource,
    grid: TileGrid,
    start_row: int,
    stop_row: int,
    batch: int,
    prior: Callable[[torch.Tensor], torch.Tensor | None],
    workers: int = 1,
    columns: range | None = None,
) -> Iterator[tuple[int, TileBatch]]:
    """(tile row, batch) pairs for tile rows ``start_row .. stop_row - 1``, prepared up to ``2 * workers`` ahead;
    only the tiles of tile ``columns`` (default: all) are read.

    Batches never span two tile rows, so a resumed run forms exactly the same
    batches as an uninterrupted one. Closing the generator early cancels the reads not yet
    started and waits for the running ones, so the source may be closed right after.
    """
    columns = range(grid.n_cols) if columns is None else columns
    jobs = (
        (i, grid.row(i)[first : min(first + batch, columns.stop)])
        for i in range(start_row, stop_row)
        for first in range(columns.start, columns.stop, batch)
    )
    pending: deque[tuple[int, Future[TileBatch]]] = deque()
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="hprn-prepare") as pool:
        try:
            for row, windows in jobs:
                pending.append((row, pool.submit(prepare_batch, source, windows, prior)))
                if len(pending) > 2 * max(1, workers):
                    row_done, future = pending.popleft()
                    yield row_done, future.result()
            while pending:
                row_done, future = pending.popleft()
                yield row_done, future.result()
        finally:  # closed early (an error, a cancel): drop the queued reads; the pool waits for running ones
            for _, future in pending:
                future.cancel()
