"""The prediction pipeline: scene -> block columns -> tiles -> batches -> model -> mosaic -> writer.

:class:`Predictor` is the one core behind every front door (CLI, xarray accessor, STAC, plugins). It runs
the scene one block column at a time, top to bottom, tile row by tile row; nodata is filled with the
tile's mean colour and masked again at the end. Memory depends on block, tile, batch and bands, never on
the scene's width or height (:mod:`hprn_geo.estimate` models it; docs/predict.md).
"""

from __future__ import annotations

import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from hprn_geo.errors import AllNodataWarning, CheckpointError, DeviceError, UntrainedModelWarning, WeakModelWarning
from hprn_geo.io import CubeSpec, CubeWriter, RasterScene, open_scene, open_writer
from hprn_geo.predict_options import DEFAULT_OPTIONS, PredictOptions, check_block
from hprn_geo.registry import Checkpoint, check_input
from hprn_geo.sources import ArraySource, TileBatch, WindowSource, prepared_batches
from hprn_geo.spectral import colour_consistent as project_to_input
from hprn_geo.tiles import MosaicAccumulator, Strip, TileGrid, Window

__all__ = ["AUTO_BATCH_MAX", "AUTO_BATCH_MEMORY", "UINT16_SCALE", "WRITE_AHEAD", "PredictOptions", "PredictionReport",
           "Predictor", "SpectralModel", "StageTimes", "TileCallback", "colour_request", "input_notes",
           "load_model", "pick_device"]


@dataclass
class StageTimes:
    """Seconds spent in each stage of a run (for benchmarks and ``--verbose``)."""

    read: float = 0.0
    prior: float = 0.0
    model: float = 0.0
    blend: float = 0.0
    write: float = 0.0

    def as_dict(self) -> dict[str, float]:
        """Stage name -> seconds."""
        return dict(vars(self))


@dataclass
class PredictionReport:
    """What a file prediction did."""

    path: Path
    grid: TileGrid
    device: str
    tiles_run: int
    seconds: float
    times: StageTimes = field(default_factory=StageTimes)
    notes: list[str] = field(default_factory=list)
    model: str = ""
    """The card name of the model that wrote it."""


def pick_device(device: str = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cpu"``/``"cuda"`` as given."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(f"device {device!r} was asked but no CUDA device is available (use device 'cpu' or 'auto')")
    return torch.device(device)


AUTO_BATCH_MEMORY = 0.6
"""Share of the free GPU memory that ``batch="auto"`` plans to fill."""
AUTO_BATCH_MAX = 64
"""The most tiles ``batch="auto"`` puts in one forward pass."""

WRITE_AHEAD = 1
"""Strips handed to the write thread and not yet written, at most, while the next one is computed."""

BLOCK = 1024
"""Default width in pixels of the block columns a scene is run in."""
MOSAIC_DTYPE = np.float32
"""The mosaic's running sums: float32 takes half of float64's memory and stays within 1e-6 of it
on real scenes (tests/test_blocks.py)."""
BLOCK_ALIGN = 512
"""The writers' block width (GeoTIFF tile, Zarr chunk): block columns are multiples of it, so no
written block straddles two block columns (it would wait, half filled, for the next one)."""

TileCallback = Callable[[int, int], None]
"""``on_tile(done, total)`` of :meth:`Predictor.predict_file`: tiles done so far and tiles to do."""

UINT16_SCALE = 10_000.0
"""``--dtype uint16`` stores round(reflectance x UINT16_SCALE); the scale is in the file's metadata."""


class Predictor:
    """Tiled, streaming HPRN inference.

    Args:
        checkpoint: the model and its card (from :func:`hprn_geo.registry.resolve`).
        options: how the model runs and how :meth:`predict_file` reads its input
            (:class:`~hprn_geo.predict_options.PredictOptions`). The prior's SLIC segment counts scale
            with the tile's area relative to the card's ``patch_size``. ``block`` is rounded up to a multiple
            of :data:`BLOCK_ALIGN`; None: :data:`BLOCK`, or wider where a tile row would not fill a batch.
            Colour consistency is applied per tile batch, before blending.
        workers: threads reading tiles and computing the prior ahead of the model.
        progress: show a progress bar on stderr.
        channels_last: run the model in the channels-last memory layout: what cuDNN's fastest convolutions
            use, and 1.2-1.5x faster on the CPU too (oneDNN; ``benchmarks/cpu_throughput.py``). The output
            does not change.

    Raises:
        CheckpointError: ``colour_consistent=True`` and the card has no ``input_response``.
        OptionError: ``block`` is narrower than the tile.

    Warns:
        UntrainedModelWarning: the card says the weights are random.
        WeakModelWarning: the card's cross-validation shows a classical baseline doing better
            (:meth:`~hprn_geo.registry.ModelCard.shortfall`).
    """

    def __init__(self, checkpoint: Checkpoint, options: PredictOptions = DEFAULT_OPTIONS, *, workers: int = 1,
                 progress: bool = False, channels_last: bool = True) -> None:
        self.checkpoint = checkpoint
        self.card = checkpoint.card
        self.options = options
        self.colour_requested = options.colour_consistent
        self.colour_consistent = self._consistency(options.colour_consistent)
        if self.colour_consistent and self.card.response is None:
            raise CheckpointError(f"model {self.card.name!r} has no input_response on its card; "
                                  "colour-consistent output needs one")
        self.tile = int(options.tile or self.card.tile)
        self.overlap = int(self.card.overlap if options.overlap is None else options.overlap)
        self.device = pick_device(options.device)
        self.channels_last = channels_last
        self.memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        self.model = checkpoint.model.to(self.device, memory_format=self.memory_format).eval()
        self.model.prior_patch = self.card.patch_size
        on_cuda = self.device.type == "cuda"
        self.precision = ("bf16" if on_cuda else "fp32") if options.precision == "auto" else options.precision
        self.workers = max(1, int(workers))
        self.progress = progress
        self.prior = ("torch-connected" if on_cuda else "skimage") if options.prior == "auto" else options.prior
        self._prior_on_device = self.prior != "skimage" and on_cuda
        self.times = StageTimes()
        self.batch = self._auto_batch() if options.batch == "auto" else max(1, int(options.batch))
        check_block(options.block, self.tile)
        block = max(BLOCK, self.batch * (self.tile - self.overlap)) if options.block is None else int(options.block)
        self.block = -(-max(1, block) // BLOCK_ALIGN) * BLOCK_ALIGN
        if not self.card.trained:
            warnings.warn(f"model {self.card.name!r} is UNTRAINED (random weights): its spectra are meaningless",
                          UntrainedModelWarning, stacklevel=2)
        elif (shortfall := self.card.shortfall()) is not None:
            warnings.warn(f"model {self.card.name!r}: {shortfall}; see its card (hprn-geo models --json)",
                          WeakModelWarning, stacklevel=2)

    def _consistency(self, requested: bool | None) -> bool:
        """Colour-consistent output or not: as asked, else the card's choice."""
        return self.card.colour_consistent if requested is None else bool(requested)

    @contextmanager
    def _colour_for(self, encoding: str) -> Iterator[str]:
        """Colour consistency for one file of ``encoding`` (:func:`colour_request`), restored afterwards;
        yields why it differs from what was asked ("" when it does not)."""
        requested = colour_request(self.colour_requested, encoding)
        self.colour_consistent = self._consistency(requested)
        try:
            yield " (sRGB photo: its camera is not the model's)" if requested is not self.colour_requested else ""
        finally:
            self.colour_consistent = self._consistency(self.colour_requested)

    def grid(self, height: int, width: int) -> TileGrid:
        """The tile grid this predictor runs over a ``height x width`` scene."""
        return TileGrid(height, width, self.tile, self.overlap)

    def block_columns(self, grid: TileGrid) -> list[tuple[int, int]]:
        """``(start, stop)`` scene columns of the block columns this predictor runs ``grid`` in."""
        return grid.block_columns(self.block)

    @torch.inference_mode()
    def _run(self, batch: TileBatch) -> np.ndarray:
        """Model output for a batch's live tiles: (L, B, h, w) float32 on the host.

        Raises:
            CheckpointError: the input has another channel count than the model takes (R, G, B or with NIR).
        """
        start = time.perf_counter()
        wanted = self.model.config.in_channels
        if batch.rgb.shape[1] != wanted:
            hint = "; read its NIR band too: --sensor NAME --with-nir" if wanted == 4 else "; leave out --with-nir"
            raise CheckpointError(f"model {self.card.name!r} takes {wanted} input bands, not {batch.rgb.shape[1]}{hint}")
        rgb = torch.from_numpy(batch.rgb)
        if self.device.type == "cuda":
            rgb = rgb.pin_memory()
        rgb = rgb.to(self.device, non_blocking=True)
        labels = None if batch.labels is None else batch.labels.to(self.device, non_blocking=True)
        prior_seconds = 0.0
        if self._prior_on_device:
            labels, prior_seconds = self._device_prior(rgb)
        out = self._forward(rgb, labels).float().cpu().numpy()
        if self.colour_consistent:
            out = project_to_input(out, batch.rgb, self.card.response, axis=1)
        self.times.model += time.perf_counter() - start - prior_seconds
        return out

    def _forward(self, rgb: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """The model on (N, C, h, w) already on the device, in this predictor's layout and precision."""
        rgb = rgb.contiguous(memory_format=self.memory_format)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            return self.model(rgb, labels)

    @torch.inference_mode()
    def _auto_batch(self) -> int:
        """4 on the CPU; on CUDA the tiles that fit in the free memory, by one tile's measured peak."""
        if self.device.type != "cuda":
            return 4
        rgb = torch.rand(1, self.model.config.in_channels, self.tile, self.tile, device=self.device)
        _synchronize(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)
        before = torch.cuda.memory_allocated(self.device)
        labels = self.model.prior(rgb if self._prior_on_device else rgb.cpu(), method=self.prior)  # counted too
        labels = None if labels is None else labels.to(self.device)
        self._forward(rgb, labels)
        _synchronize(self.device)
        per_tile = max(torch.cuda.max_memory_allocated(self.device) - before, 1)
        free, _ = torch.cuda.mem_get_info(self.device)
        return int(np.clip(AUTO_BATCH_MEMORY * free // per_tile, 1, AUTO_BATCH_MAX))

    def _device_prior(self, rgb: torch.Tensor) -> tuple[torch.Tensor | None, float]:
        """The prior of a batch already on the GPU and its seconds, added to the prior stage (synchronised before
        and after, so the stage times split GPU time honestly)."""
        _synchronize(self.device)
        start = time.perf_counter()
        labels = self.model.prior(rgb, method=self.prior)
        _synchronize(self.device)
        seconds = time.perf_counter() - start
        self.times.prior += seconds
        return labels, seconds

    def _worker_prior(self, rgb: torch.Tensor) -> torch.Tensor | None:
        """The prior computed in the worker threads (none there when it runs on the GPU)."""
        return None if self._prior_on_device else self.model.prior(rgb, method=self.prior)

    def _tile_predictions(self, batch: TileBatch) -> Iterator[tuple[Window, np.ndarray]]:
        """(window, prediction (B + 1, h, w)) for every tile of a batch; the last band is validity."""
        self.times.read += batch.read_seconds
        self.times.prior += batch.prior_seconds
        outputs = dict(zip(batch.live, self._run(batch))) if batch.live else {}
        for i, window in enumerate(batch.windows):
            pred = outputs.get(i)
            if pred is None:
                pred = np.zeros((self.card.bands, window.height, window.width), np.float32)
            yield window, np.concatenate([pred, batch.valid[i].astype(np.float32)[None]])

    def iter_strips(self, source: WindowSource, first_strip: int = 0, last_strip: int | None = None,
                    tick: Callable[[], None] | None = None, columns: tuple[int, int] | None = None) -> Iterator[Strip]:
        """Finished strips ``first_strip .. last_strip`` of the scene (default: to the end), nodata as NaN,
        over scene ``columns`` ``(start, stop)`` (default: the full width); ``tick`` is called after every tile.

        Only the tile rows these strips need, and the tiles that touch ``columns``, are read and run, so a
        block of strips (a dask task, a resumed run) equals the same strips of a whole-scene run, bit for bit
        on the CPU with the same torch thread count. The mosaic sums in :data:`MOSAIC_DTYPE`.

        Yields:
            :class:`~hprn_geo.tiles.Strip` with ``data`` (B, rows, cols) float32.
        """
        grid = self.grid(source.height, source.width)
        last = grid.n_rows - 1 if last_strip is None else last_strip
        start_row = grid.resume_row(first_strip)
        columns = (0, grid.width) if columns is None else columns
        mosaic = MosaicAccumulator(grid, self.card.bands + 1, MOSAIC_DTYPE, start_row, columns)
        batches = prepared_batches(source, grid, start_row, last + 1, self.batch, self._worker_prior, self.workers,
                                   grid.cols_touching(*columns))
        with closing(batches):  # an exception here (a cancelled tick) stops the reads before the source closes
            for _, batch in batches:
                for window, pred in self._tile_predictions(batch):
                    start = time.perf_counter()
                    strips = mosaic.add(window, pred)
                    self.times.blend += time.perf_counter() - start
                    if tick is not None:
                        tick()
                    for strip in strips:
                        if strip.index >= first_strip:
                            yield _masked(strip)

    def cube_spec(self, scene: RasterScene, dtype: str = "float32") -> CubeSpec:
        """The layout of the cube this predictor writes for ``scene``: its geometry, our bands and tags."""
        return CubeSpec(
            height=scene.height, width=scene.width, wavelengths=self.checkpoint.wavelengths, crs=scene.crs,
            transform=scene.transform, gcps=scene.gcps, dtype=dtype, scale=UINT16_SCALE if dtype == "uint16" else 1.0,
            fwhm=None if self.card.fwhm is None else np.asarray(self.card.fwhm),
            tags={"hprn_model": self.card.name, "hprn_input_scaling": scene.scaling.reason,
                  "hprn_input_encoding": scene.encoding.reason, "hprn_white_balance": scene.balance.reason,
                  "hprn_colour_consistent": str(self.colour_consistent).lower(),
                  **({"hprn_input_sensor": scene.sensor} if scene.sensor else {})},
        )

    def predict_strips(self, source: WindowSource, strips: range | None = None) -> np.ndarray:
        """Strips ``strips`` of the scene (default: all), run block column by block column as
        :meth:`predict_file` runs them, so the values equal the file's bit for bit.

        Returns:
            (B, rows, W) float32, NaN where the input is not valid.
        """
        grid = self.grid(source.height, source.width)
        strips = range(grid.n_rows) if strips is None else strips
        return np.concatenate([
            np.concatenate([s.data for s in self.iter_strips(source, strips.start, strips[-1], columns=columns)], axis=1)
            for columns in self.block_columns(grid)
        ], axis=2)

    def predict_array(self, rgb: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
        """Reconstruct an in-memory RGB image.

        Args:
            rgb: (C, H, W) float reflectance: R, G, B, and NIR for a model that takes it (C = 4).
            valid: (H, W) bool data mask (default: finite pixels).

        Returns:
            (B, H, W) float32, NaN where the input is not valid.
        """
        return self.predict_strips(ArraySource(np.asarray(rgb, np.float32), valid))

    def predict_file(self, src: str | Path, dst: str | Path, reading: PredictOptions | None = None, *,
                     dtype: str = "float32", cog: bool = False, overwrite: bool = False, resume: bool = False,
                     on_tile: TileCallback | None = None) -> PredictionReport:
        """Reconstruct a raster file into a GeoTIFF/COG or Zarr cube, written under a temporary name and renamed
        on success; strips are written on a background thread (at most :data:`WRITE_AHEAD` waiting).

        Args:
            src: the RGB raster.
            dst: the output cube (``.tif``, ``.tiff``, ``.zarr``).
            reading: its ``rgb_bands``, ``scale``, ``encoding``, ``white_balance`` and ``sensor`` say how the
                input becomes linear RGB (:func:`hprn_geo.io.open_scene`); default: this predictor's options.
            dtype, cog, overwrite: the stored data type (``"float32"``, ``"uint16"``), a COG, replace ``dst``.
            resume: continue a killed run from its journal, each block column from its first strip not on disk.
            on_tile: ``on_tile(done, total)`` after every tile; an exception it raises (e.g.
                :class:`~hprn_geo.errors.CancelledError`) stops the run, the output left unpublished.

        Returns:
            What the run did: :class:`PredictionReport`.

        Raises:
            CheckpointError: the card does not take ``reading``'s sensor (:func:`~hprn_geo.registry.check_input`).
            OptionError: ``reading``'s sensor is not a sensor name or ``camera:NAME``.
        """
        started = time.perf_counter()
        self.times = StageTimes()
        reading = self.options if reading is None else reading
        check_input(self.card, reading.sensor)
        with open_scene(src, **reading.reading) as scene, self._colour_for(scene.encoding.name) as why:
            grid = self.grid(scene.height, scene.width)
            notes = [*input_notes(scene), f"colour-consistent output: {'on' if self.colour_consistent else 'off'}{why}"]
            if scene.valid_fraction() == 0:
                warnings.warn(f"{src}: every pixel is nodata; writing an all-nodata cube", AllNodataWarning, stacklevel=2)
            spec = self.cube_spec(scene, dtype)
            with open_writer(dst, spec, cog=cog, overwrite=overwrite, resume=resume) as writer:
                blocks = self.block_columns(grid)
                firsts = [_first_missing(writer, grid, columns) for columns in blocks]
                plan = [(columns, first) for columns, first in zip(blocks, firsts) if first < grid.n_rows]
                if any(firsts):
                    notes.append(f"resumed: {sum(firsts)} of {grid.n_rows * len(blocks)} strips "
                                 f"({len(blocks)} block columns of {grid.n_rows}) were already written")
                remaining = sum((grid.n_rows - grid.resume_row(first)) * len(grid.cols_touching(*columns))
                                for columns, first in plan)
                bar = tqdm(total=remaining, unit="tile", disable=not self.progress, desc="hprn", dynamic_ncols=True)

                counter = iter(range(1, remaining + 1))  # a disabled tqdm does not count

                def tick() -> None:
                    bar.update(1)
                    if on_tile is not None:
                        on_tile(next(counter), remaining)

                strips = (strip for columns, first in plan
                          for strip in self.iter_strips(scene, first, tick=tick, columns=columns))
                pixels = 0
                with closing(strips), bar, ThreadPoolExecutor(1, thread_name_prefix="hprn-write") as write_thread:
                    pending: deque[Future] = deque()
                    for strip in strips:
                        pending.append(write_thread.submit(self._write, writer, strip))
                        while len(pending) > WRITE_AHEAD:
                            pending.popleft().result()
                        pixels += strip.data[0].size
                        bar.set_postfix_str(f"{pixels / 1e6 / max(time.perf_counter() - started, 1e-9):.3f} Mpx/s")
                    while pending:
                        pending.popleft().result()
                start = time.perf_counter()
            self.times.write += time.perf_counter() - start
        return PredictionReport(Path(dst), grid, str(self.device), remaining, time.perf_counter() - started,
                                self.times, notes, self.card.name)

    def _write(self, writer: CubeWriter, strip: Strip) -> None:
        """Write one strip of a block column (on the write thread) and time it."""
        start = time.perf_counter()
        writer.write_window(strip.row_off, strip.col_off, strip.data)
        self.times.write += time.perf_counter() - start


def input_notes(scene: RasterScene) -> list[str]:
    """What was assumed about the input, one line each (sensor and bands when given, scaling, encoding,
    white balance)."""
    sensor = [f"input sensor: {scene.sensor}", f"input bands: {scene.bands_reason}"] if scene.sensor else []
    return [*sensor, f"input scaling: {scene.scaling.reason}", f"input encoding: {scene.encoding.reason}",
            f"white balance: {scene.balance.reason}"]


def colour_request(requested: bool | None, encoding: str) -> bool | None:
    """The colour-consistency request for an input of ``encoding`` (``"linear"`` or ``"srgb"``):
    as asked; when not asked (None, the card's choice), False for an sRGB photo, whose camera is
    not the card's (forcing the card's response on it made held-out spectra worse, docs/predict.md).
    Every door (CLI, accessor, cluster) asks this one rule."""
    return False if requested is None and encoding == "srgb" else requested


def _synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _masked(strip: Strip) -> Strip:
    """Drop the validity band of a (B + 1)-band strip, setting invalid pixels to NaN."""
    data = strip.data[:-1]
    data[:, strip.data[-1] < 0.5] = np.nan  # every tile sees a pixel's validity alike: its mean is 0 or 1
    return Strip(strip.index, strip.row_off, data, strip.col_off)


def _first_missing(writer: CubeWriter, grid: TileGrid, columns: tuple[int, int]) -> int:
    """Index of the first strip of a block column not wholly on disk (its strips are written in order)."""
    first = 0
    while first < grid.n_rows and writer.written(grid.strip(first)[0], columns[0],
                                                 grid.strip(first)[1] - grid.strip(first)[0], columns[1] - columns[0]):
        first += 1
    return first


class SpectralModel:
    """A loaded model with its card, reconstructing RGB arrays of any size.

    Args:
        checkpoint: the model and its card.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.

    Attributes:
        card: the model card.
        wavelengths: (B,) band centres in nm.
    """

    def __init__(self, checkpoint: Checkpoint, device: str = "auto") -> None:
        self.card = checkpoint.card
        self.wavelengths = checkpoint.wavelengths
        self.predictor = Predictor(checkpoint, PredictOptions(device=device))

    def __repr__(self) -> str:
        w = self.wavelengths
        return f"SpectralModel({self.card.name!r}, {w.size} bands {w[0]:.0f}-{w[-1]:.0f} nm)"

    def reconstruct(self, rgb: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
        """(C, H, W) float reflectance-unit RGB (C = 3, or 4 with NIR) -> (B, H, W) float32 spectra.

        Large images are tiled with the card's tile size and blended; NaN
        input pixels (or ``valid == False``) come back as NaN.
        """
        return self.predictor.predict_array(rgb, valid)


def load_model(name: str | Path = "vnir31", device: str = "auto") -> SpectralModel:
    """Load a bundled model by name (``"vnir31"``, ``"rosis103"``) or a checkpoint file.

    Example:
        >>> model = load_model("vnir31")                    # doctest: +SKIP
        >>> cube = model.reconstruct(rgb)                   # (3, H, W) -> (31, H, W)
    """
    from hprn_geo.registry import checkpoint_path, load_bundled, load_checkpoint

    path = checkpoint_path(name)
    checkpoint = load_checkpoint(path) if path is not None else load_bundled(str(name))
    return SpectralModel(checkpoint, device)
