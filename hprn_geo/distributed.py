"""Dask and dask.distributed pieces: lazy cubes, a per-process model cache, Zarr region writes, cluster runs.

A lazy cube runs the CLI's grid, tiles, batches and blending, so it equals ``hprn-geo predict`` on the same
scene (bit for bit in one process on the CPU). Each block is a group of whole strips, full width, computed by
:meth:`Predictor.predict_strips <hprn_geo.predict.Predictor.predict_strips>` from the tile row that the CLI's
``--resume`` would start it at (docs/dask.md). Each process loads a checkpoint once (:func:`cached_checkpoint`).
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import zarr
from dask.delayed import Delayed
from distributed import Client, KilledWorker, as_completed

from hprn_geo.errors import ClusterError, DeviceError, one_line_reason
from hprn_geo.io import CubeSpec, CubeWriter, InputScaling, ZarrWriter, open_scene, open_writer
from hprn_geo.io.formats import format_for
from hprn_geo.io.photo import InputEncoding, WhiteBalance, decode
from hprn_geo.io.publish import check_overwrite
from hprn_geo.io.read import data_mask
from hprn_geo.io.zarr_store import VARIABLE, create_store
from hprn_geo.predict import PredictionReport, Predictor, colour_request, input_notes, pick_device
from hprn_geo.predict_options import DEFAULT_OPTIONS, PredictOptions, refuse_nir
from hprn_geo.registry import Checkpoint, check_input, checkpoint_path, pick_model, resolve
from hprn_geo.sources import ArraySource, WindowSource
from hprn_geo.tiles import TileGrid

__all__ = ["PredictorSpec", "RawDecoder", "cached_checkpoint", "create_zarr", "file_cube", "lazy_cube", "model_loads",
           "predict_on_cluster", "run_on_cluster", "write_zarr_rows"]

_CACHE_LOCK = threading.Lock()


@functools.lru_cache(maxsize=4)
def _load(model: str | None, weights: str | None, bands: int | None, device: str) -> Checkpoint:
    return resolve(model, weights, bands)


def cached_checkpoint(model: str | None, weights: str | None, bands: int | None, device: str) -> Checkpoint:
    """The checkpoint :func:`~hprn_geo.registry.resolve` gives, loaded once per process and device (thread-safe).

    ``device`` (a resolved torch device) only keys the cache: Predictors move their model onto their device,
    so Predictors on different devices must not share one.
    """
    with _CACHE_LOCK:
        return _load(model, weights, bands, device)


def model_loads() -> int:
    """Checkpoints this process has loaded from disk so far (for tests and diagnostics).

    On a cluster: ``client.run(model_loads)`` -> ``{worker: loads}``.
    """
    return _load.cache_info().misses


@dataclass(frozen=True)
class PredictorSpec:
    """A small, picklable recipe that builds the same :class:`Predictor` in any process.

    Attributes:
        model: bundled model name (or None).
        weights: absolute path of a checkpoint file (or None); wins over ``model``.
        bands: wanted band count (picks or checks the model, as the CLI's ``--bands``).
        options: how the model runs (:class:`~hprn_geo.predict_options.PredictOptions`); its ``device``
            is resolved in the process that runs.
    """

    model: str | None = None
    weights: str | None = None
    bands: int | None = None
    options: PredictOptions = DEFAULT_OPTIONS

    @classmethod
    def from_model(cls, model: str | os.PathLike[str], options: PredictOptions = DEFAULT_OPTIONS) -> PredictorSpec:
        """``model``: a bundled name, or a checkpoint path (ending in ``.pt`` or an existing file)."""
        path = checkpoint_path(model)
        if path is not None:
            return cls(weights=str(path.resolve()), options=options)
        return cls(model=str(model), options=options)

    def predictor(self) -> Predictor:
        """A Predictor on ``device`` over this process's cached checkpoint (cheap after the first call).

        Raises:
            DeviceError: ``device`` is ``"cuda"`` and this process has no CUDA device.
        """
        return self._build(str(pick_device(self.options.device)))

    def plan(self) -> Predictor:
        """A Predictor to plan with here (card, tile, overlap, grid), not to run: on ``device`` where this process
        has it, else on the CPU (a client may plan for GPU workers without a GPU of its own)."""
        try:
            device = str(pick_device(self.options.device))
        except DeviceError:
            device = "cpu"
        return self._build(device)

    def _build(self, device: str) -> Predictor:
        checkpoint = cached_checkpoint(self.model, self.weights, self.bands, device)
        return Predictor(checkpoint, replace(self.options, device=device))

    def pinned(self, predictor: Predictor) -> PredictorSpec:
        """This recipe with the tile and overlap ``predictor`` chose, so every process uses one grid."""
        return replace(self, options=replace(self.options, tile=predictor.tile, overlap=predictor.overlap))


@dataclass(frozen=True)
class RawDecoder:
    """How raw RGB values become reflectance and a validity mask.

    Attributes:
        scaling: raw -> reflectance (see :func:`hprn_geo.io.infer_scaling`).
        nodata: the nodata value of each of the three bands (None: none). A pixel
            is invalid where any band equals its nodata or any value is not finite.
        encoding: the transfer function undone after scaling (:mod:`hprn_geo.io.photo`).
        balance: the scene's white-balance gains, applied last.
    """

    scaling: InputScaling
    nodata: tuple[float | None, float | None, float | None]
    encoding: InputEncoding = InputEncoding()
    balance: WhiteBalance = WhiteBalance()

    def __call__(self, raw: np.ndarray) -> ArraySource:
        """(3, h, w) raw values -> a window source of reflectance with its mask."""
        return ArraySource(decode(raw, self.scaling, self.encoding, self.balance), data_mask(raw, self.nodata))


@dataclass
class _Rows:
    """A :class:`WindowSource` of scene rows ``top .. bottom - 1`` only, in scene coordinates.

    ``source``'s row 0 is scene row ``origin``; ``height`` is the scene's. Windows outside the rows raise
    IndexError, so tiles prefetched past a block's last strip fail at once instead of being read for nothing.
    """

    source: WindowSource
    top: int
    bottom: int
    height: int
    origin: int = 0

    def __post_init__(self) -> None:
        self.width = self.source.width

    def read_window(self, row_off: int, col_off: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        if row_off < self.top or row_off + height > self.bottom:
            raise IndexError(f"rows {row_off}..{row_off + height} are outside the block's {self.top}..{self.bottom}")
        return self.source.read_window(row_off - self.origin, col_off, height, width)


def strip_groups(grid: TileGrid, rows: int, strips: range | None = None) -> list[range]:
    """The grid's strips (or ``strips`` of them) in consecutive groups of at least ``rows`` rows (the last may
    have fewer); each group runs the tile row(s) above it once more, so fewer, taller groups waste less."""
    strips = range(grid.n_rows) if strips is None else strips
    groups, first = [], strips.start
    for i in strips:
        if grid.strip(i)[1] - grid.strip(first)[0] >= rows or i == strips[-1]:
            groups.append(range(first, i + 1))
            first = i + 1
    return groups


def strips_over(grid: TileGrid, start: int, stop: int) -> range:
    """The strips that hold scene rows ``start .. stop - 1``."""
    first = next(i for i in range(grid.n_rows) if grid.strip(i)[1] > start)
    last = next(i for i in range(first, grid.n_rows) if grid.strip(i)[1] >= stop)
    return range(first, last + 1)


def _input_rows(grid: TileGrid, strips: range) -> tuple[int, int]:
    """``(top, bottom)``: the scene rows the tiles that make ``strips`` read."""
    return grid.row_offsets[grid.resume_row(strips.start)], grid.row_offsets[strips[-1]] + grid.tile_shape[0]


def _array_block(raw: np.ndarray, decode: RawDecoder, spec: PredictorSpec, top: int, height: int,
                 strips: range) -> np.ndarray:
    """Task: (3, rows, W) raw input rows ``top ..`` -> (B, block rows, W) spectra."""
    rows = _Rows(decode(raw), top, top + raw.shape[1], height, origin=top)
    return spec.predictor().predict_strips(rows, strips)


def _file_block(path: str, reading: dict[str, Any], spec: PredictorSpec, strips: range, top: int,
                bottom: int) -> np.ndarray:
    """Task: read rows ``top .. bottom - 1`` of a raster file (``open_scene(path, **reading)``) -> (B, block rows, W)."""
    with open_scene(path, **reading) as scene:
        return spec.predictor().predict_strips(_Rows(scene, top, bottom, scene.height), strips)


def _assemble(grid: TileGrid, bands: int, chunk_rows: int, block: Callable[[range], Delayed],
              strips: range | None = None) -> da.Array:
    """Concatenate one delayed ``block(group)`` per strip group (of ``strips``, default all) into a (B, rows, W) array."""
    parts = []
    for group in strip_groups(grid, chunk_rows, strips):
        start, stop = grid.strip(group.start)[0], grid.strip(group[-1])[1]
        parts.append(da.from_delayed(block(group), (bands, stop - start, grid.width), np.float32))
    return da.concatenate(parts, axis=1)


def lazy_cube(raw: da.Array, decode: RawDecoder, spec: PredictorSpec, bands: int, chunk_rows: int) -> da.Array:
    """Lazy spectra of a lazy RGB array; nothing runs until computed.

    Args:
        raw: (3, H, W) raw RGB values, any chunks.
        decode: how raw values become reflectance and validity.
        spec: the predictor, with tile and overlap set (:meth:`PredictorSpec.pinned`).
        bands: B, the model's band count.
        chunk_rows: the least number of rows a block (task) makes (but the last).

    Returns:
        (B, H, W) float32 dask array, chunked in full-width groups of whole strips.
    """
    height, width = raw.shape[1:]
    grid = TileGrid(height, width, spec.options.tile, spec.options.overlap)

    def block(strips: range) -> Delayed:
        top, bottom = _input_rows(grid, strips)
        return dask.delayed(_array_block, pure=True)(raw[:, top:bottom], decode, spec, top, height, strips)

    return _assemble(grid, bands, chunk_rows, block)


def file_cube(path: str | os.PathLike[str], grid: TileGrid, spec: PredictorSpec, bands: int, chunk_rows: int,
              reading: dict[str, Any], strips: range | None = None) -> da.Array:
    """Lazy spectra of a raster file whose tasks read it themselves (the file must be visible to the workers).

    ``reading`` (:attr:`PredictOptions.reading <hprn_geo.predict_options.PredictOptions.reading>`) goes to
    :func:`hprn_geo.io.open_scene` in every task (the white balance comes from the whole scene's decimated read,
    the same in each). ``strips``: only these strips of ``grid`` (default all), e.g. those a resumed run still needs.

    Returns:
        (B, H, W) float32 dask array over ``grid`` (with ``strips``: their rows only), chunked as
        :func:`lazy_cube`'s.
    """
    name = os.path.abspath(path) if os.path.exists(path) else os.fspath(path)  # keep GDAL names as they are

    def block(strips: range) -> Delayed:
        return dask.delayed(_file_block, pure=True)(name, reading, spec, strips, *_input_rows(grid, strips))

    return _assemble(grid, bands, chunk_rows, block, strips)


def create_zarr(path: str | os.PathLike[str], spec: CubeSpec, chunks: tuple[int, int, int] | None = None,
                overwrite: bool = False) -> None:
    """Write an empty Zarr (format 2) cube: metadata and coordinates, laid out as the CLI writes it.

    Args:
        path: the store.
        spec: shape, wavelengths, georeferencing (CF ``grid_mapping``) and tags.
        chunks: (bands, rows, cols) chunks; default the CLI's.
        overwrite: replace an existing store (else :class:`~hprn_geo.errors.OutputError`).
    """
    path = Path(path)
    check_overwrite(path, overwrite)
    create_store(path, spec, chunks or ZarrWriter(path, spec).chunks)


def write_zarr_rows(data: da.Array, spec: CubeSpec, path: str | os.PathLike[str], row_off: int = 0,
                    compute: bool = True) -> Delayed | None:
    """Write (B, rows, W) reflectance into rows ``row_off ..`` of a store made by :func:`create_zarr`.

    Each task writes whole Zarr chunks, so any number of workers (or separate
    jobs writing separate row ranges) can write one store at once. ``spec``
    encodes the values (its dtype, scale and nodata; its height is not used).

    Raises:
        ValueError: the rows do not start (and end, unless at the bottom) on a chunk boundary,
            or the bands or width differ from the store's.
    """
    array = zarr.open_array(str(Path(path) / VARIABLE), mode="r+")
    region = _region(array, row_off, data.shape)
    stored = da.asarray(data).map_blocks(spec.encode, dtype=np.dtype(spec.dtype)).rechunk(array.chunks)
    return da.store(stored, array, regions=region, lock=False, compute=compute)


def _region(array: zarr.Array, row_off: int, shape: tuple[int, ...]) -> tuple[slice, slice, slice]:
    bands, height, width = array.shape
    block = array.chunks[1]
    stop = row_off + shape[1]
    if (shape[0], shape[2]) != (bands, width):
        raise ValueError(f"data has {shape[0]} bands x {shape[2]} columns; the store has {bands} x {width}")
    if row_off % block or (stop % block and stop != height) or stop > height:
        raise ValueError(f"rows {row_off}..{stop} do not fall on the store's {block}-row chunks "
                         f"(0..{height}); parallel writers must not share a chunk")
    return slice(None), slice(row_off, stop), slice(None)


def _in_order(client: Client, parts: list[da.Array], ahead: int) -> Iterator[np.ndarray]:
    """Compute ``parts`` on the cluster, at most ``ahead`` at a time, yielding results in order."""
    queue: deque = deque()
    for part in parts:
        queue.append(client.compute(part))
        if len(queue) >= ahead:
            yield queue.popleft().result()
    while queue:
        yield queue.popleft().result()


def predict_on_cluster(src: str | os.PathLike[str], dst: str | os.PathLike[str], scheduler_address: str, *,
                       model: str | None = None, weights: str | os.PathLike[str] | None = None,
                       bands: int | None = None, tile: int | None = None, overlap: int | None = None,
                       batch: int | str = "auto", device: str = "auto", precision: str = "auto",
                       colour_consistent: bool | None = None, rgb_bands: tuple[int, int, int] | None = None,
                       scale: float | str = "auto", encoding: str = "auto", white_balance: str = "none",
                       sensor: str | None = None, dtype: str = "float32", cog: bool = False, overwrite: bool = False,
                       chunk_rows: int = 512, resume: bool = False, block: int | None = None) -> PredictionReport:
    """Reconstruct a raster file on a running dask.distributed cluster; same result as ``hprn-geo predict``.

    The output goes through the CLI's writer (:func:`hprn_geo.io.open_writer`, its partial file, journal
    and lock); a ``parallel`` format (Zarr) is written by the workers, the others are computed on the
    cluster and written here in order (docs/dask.md). ``src``, ``dst`` and a ``weights`` file must be
    paths every worker (and this process) can see.

    Args:
        src: the RGB raster.
        dst: the output cube (``.zarr``, ``.tif``, ``.tiff``).
        scheduler_address: e.g. ``"tcp://10.0.0.5:8786"``.
        model, weights, bands: which checkpoint, as :func:`hprn_geo.registry.resolve` takes them.
        tile, overlap, batch, device, precision, colour_consistent, block, rgb_bands, scale, encoding,
            white_balance, sensor: the fields of :class:`~hprn_geo.predict_options.PredictOptions`, built here
            once and passed to :func:`run_on_cluster` (which the CLI calls with its own).
        dtype, cog, overwrite, resume: as :meth:`Predictor.predict_file <hprn_geo.predict.Predictor.predict_file>`
            takes them.
        chunk_rows: the least number of rows one task makes (more: fewer recomputed tile rows, more memory).

    A worker lost mid-run costs only the blocks it was running: the scheduler runs them again.

    Raises:
        OptionError: ``block`` is narrower than the tile.
        OutputError: ``dst`` exists without ``overwrite``, an unsupported suffix, ``cog`` with Zarr,
            a journal written with other options; :class:`~hprn_geo.errors.OutputLockedError` when
            another run is writing ``dst``.
        ClusterError: no scheduler answers at ``scheduler_address``; workers kept dying on one block
            (more than the scheduler's ``allowed-failures``): nothing is left at ``dst``.
    """
    return run_on_cluster(src, dst, scheduler_address, PredictOptions.pick(locals()), model=model, weights=weights,
                          bands=bands, dtype=dtype, cog=cog, overwrite=overwrite, chunk_rows=chunk_rows, resume=resume)


def run_on_cluster(src: str | os.PathLike[str], dst: str | os.PathLike[str], scheduler_address: str,
                   options: PredictOptions, *, model: str | None = None, weights: str | os.PathLike[str] | None = None,
                   bands: int | None = None, dtype: str = "float32", cog: bool = False, overwrite: bool = False,
                   chunk_rows: int = 512, resume: bool = False) -> PredictionReport:
    """:func:`predict_on_cluster` with its options built (what ``hprn-geo predict --dask-scheduler`` runs).

    Raises:
        as :func:`predict_on_cluster`.
    """
    refuse_nir(options.sensor, "the dask cluster path (--dask-scheduler)")
    started = time.perf_counter()
    dst = Path(os.path.abspath(dst))
    reading, sensor = options.reading, options.sensor
    if model is None and weights is None and sensor is not None:
        model = pick_model(bands, sensor)
    with open_scene(src, **reading) as scene:
        asked = replace(options, colour_consistent=colour_request(options.colour_consistent, scene.encoding.name))
        spec = PredictorSpec(model=model, weights=None if weights is None else str(Path(weights).resolve()),
                             bands=bands, options=asked)
        predictor = spec.plan()
        check_input(predictor.card, sensor)
        grid = predictor.grid(scene.height, scene.width)
        cube_spec = predictor.cube_spec(scene, dtype)
        notes = [*input_notes(scene), f"colour-consistent output: {'on' if predictor.colour_consistent else 'off'}"]
    output = format_for(dst)
    with _connect(scheduler_address) as client:
        try:
            with open_writer(dst, cube_spec, cog=cog, overwrite=overwrite, resume=resume) as writer:
                rows = writer.block_rows_to_write()
                everything = -(-grid.height // writer.block_rows)
                if len(rows) < everything:
                    notes.append(f"resumed: {everything - len(rows)} of {everything} rows of "
                                 f"{writer.block_rows}-row blocks were already written")
                groups, parts = [], []
                for start, stop in _runs(rows):  # each run of missing rows: the strips over it, in tasks
                    strips = strips_over(grid, start, stop)
                    cube = file_cube(src, grid, spec.pinned(predictor), predictor.card.bands, chunk_rows, reading,
                                     strips)
                    parts.append((cube, grid.strip(strips.start)[0], [r for r in rows if start <= r[0] < stop]))
                    groups += strip_groups(grid, chunk_rows, strips)
                if output is not None and output.parallel:
                    _write_on_workers(client, writer, parts)
                else:
                    for cube, offset, _ in parts:
                        _write_here(client, cube, offset, writer)
        except KilledWorker as e:
            raise ClusterError(f"cannot write {dst}: every worker of {scheduler_address} that ran one block died "
                               f"({e.allowed_failures + 1} tries, the last on {e.last_worker.address}); "
                               "see the workers' logs") from None
    tiles = sum(s[-1] - grid.resume_row(s.start) + 1 for s in groups) * grid.n_cols
    notes.append(f"{len(groups)} tasks on {scheduler_address}; "
                 f"{tiles - sum(len(s) for s in groups) * grid.n_cols} tiles run twice at block edges")
    return PredictionReport(dst, grid, options.device, tiles, time.perf_counter() - started, notes=notes,
                            model=predictor.card.name)


def _runs(rows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``(start, stop)`` of each run of consecutive ``(row_off, rows)`` spans."""
    runs: list[tuple[int, int]] = []
    for row_off, n in rows:
        if runs and runs[-1][1] == row_off:
            runs[-1] = (runs[-1][0], row_off + n)
        else:
            runs.append((row_off, row_off + n))
    return runs


def _connect(address: str) -> Client:
    """A client of the scheduler at ``address``.

    Raises:
        ClusterError: the address is malformed or nothing answers there (within
            ``distributed.comm.timeouts.connect``).
    """
    try:
        return Client(address, set_as_default=False)
    except (OSError, ValueError) as e:
        raise ClusterError(f"cannot reach the dask scheduler at {address}: {one_line_reason(e)}") from None


def _write_rows(target: str, spec: CubeSpec, row_off: int, data: np.ndarray) -> None:
    """Task: write one row of the writer's blocks into the partial of ``target``, durably."""
    writer: CubeWriter = format_for(target).writer_class()(Path(target), spec)
    writer.write_rows_elsewhere(row_off, data)


def _write_on_workers(client: Client, writer: CubeWriter,
                      parts: list[tuple[da.Array, int, list[tuple[int, int]]]]) -> None:
    """The workers write rows of the writer's blocks, all at once; each is journaled here once written.

    ``parts``: ``(cube, offset, rows)``: a lazy cube whose row 0 is scene row ``offset``, and the
    ``(row_off, rows)`` of the writer's block rows it holds.
    """
    spans = [span for _, _, rows in parts for span in rows]
    writes = [dask.delayed(_write_rows, pure=False)(str(writer.path), writer.spec, row_off,
                                                     cube[:, row_off - offset:row_off - offset + n])
              for cube, offset, rows in parts for row_off, n in rows]
    futures = client.compute(writes)
    which = {future.key: span for future, span in zip(futures, spans)}
    try:
        for future in as_completed(futures, loop=client.loop):
            future.result()
            writer.journal_rows(*which[future.key])
    except BaseException:
        client.cancel(futures)
        raise


def _write_here(client: Client, cube: da.Array, offset: int, writer: CubeWriter) -> None:
    """The blocks of ``cube`` (whose row 0 is scene row ``offset``), computed on the cluster a few ahead and
    written here in order (rows already on disk are skipped by the writer)."""
    workers = len(client.scheduler_info()["workers"])
    starts = offset + np.cumsum((0,) + cube.chunks[1])
    parts = [cube.blocks[0, k, 0] for k in range(len(cube.chunks[1]))]
    for k, data in enumerate(_in_order(client, parts, ahead=2 * max(workers, 1))):
        writer.write_window(int(starts[k]), 0, data)
