"""What a prediction would do and cost, for ``hprn-geo info``."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from hprn_geo.errors import CheckpointError
from hprn_geo.io import open_scene
from hprn_geo.predict import BLOCK_ALIGN, WRITE_AHEAD, Predictor
from hprn_geo.predict_options import DEFAULT_OPTIONS, PredictOptions
from hprn_geo.registry import Checkpoint, resolve

PROBE = 64
"""Side of the tile timed to estimate the run time."""


def seconds_per_megapixel(checkpoint: Checkpoint) -> float:
    """Time one PROBE x PROBE tile (prior + model, CPU, fp32) and scale to a megapixel."""
    rgb = torch.rand(1, checkpoint.model.config.in_channels, PROBE, PROBE, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        checkpoint.model(rgb)  # warm-up
        start = time.perf_counter()
        checkpoint.model(rgb)
        elapsed = time.perf_counter() - start
    return elapsed / (PROBE * PROBE / 1e6)


def activation_bytes_per_pixel(checkpoint: Checkpoint) -> float:
    """Peak bytes the model allocates per input pixel in one forward pass (CPU, fp32).

    Measured with torch's profiler on one PROBE x PROBE forward: the running total's maximum over the pixels
    scales to any batch and tile, the peak being linear in the pixels (2.0 kB/px for the benchmark's
    8-channel model at 64² and at 256² alike; 2.2 kB/px before SSRM gathered pixel rows).
    """
    from torch.profiler import ProfilerActivity, profile

    rgb = torch.rand(1, checkpoint.model.config.in_channels, PROBE, PROBE, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        labels = checkpoint.model.prior(rgb)
        with _native_stderr_muted(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            checkpoint.model(rgb, labels)
    running = peak = 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        running += event.self_cpu_memory_usage
        peak = max(peak, running)
    return peak / (PROBE * PROBE)


@contextmanager
def _native_stderr_muted() -> Iterator[None]:
    """Send the process's stderr (file descriptor 2) to /dev/null: torch's profiler (Kineto) writes
    ``profiler_start``/``profiler_stop`` lines there from C++, and ``hprn-geo info`` is no place for them."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def memory_parts(predictor: Predictor, dtype: str = "float32", per_pixel: float | None = None) -> dict[str, int]:
    """The pipeline's buffers at their peak, in bytes, by name; none depends on the scene's size.

    Args:
        predictor: gives tile t, overlap, block width b, batch n, bands B, workers w.
        dtype: the stored dtype (``"float32"`` or ``"uint16"``).
        per_pixel: :func:`activation_bytes_per_pixel` (measured when None).

    The parts (t² pixels a tile, s = t - overlap rows a strip, S prior scales):

    - ``read-ahead``: ``2w + 2`` prepared batches (in the queue, being prepared, in the model):
      RGB float32, validity, int64 prior labels: ``n t² (12 + 1 + 8 S)`` each;
    - ``activations``: the forward pass of one batch, ``n t²`` times the measured bytes per pixel,
      plus its ``(n, B + 1, t, t)`` float32 output and the per-tile copies with validity;
    - ``mosaic``: the block column's running sum ``(B + 1, t, b)`` float32 and weights ``(t, b)`` float64;
    - ``strips``: ``WRITE_AHEAD + 2`` strips ``(B + 1, s, b)`` float32 (being emitted, queued, written);
    - ``writer``: two rows of 512 x 512 blocks under the block column, ``(B, 1024, b)`` stored;
    - ``encoding``: the temporaries of encoding one strip (a NaN mask; float64 copies for uint16);
    - ``writing``: the row of blocks one strip completes, copied into GDAL's block cache while
      they are compressed and written (GeoTIFF; a Zarr chunk is smaller).
    """
    config = predictor.checkpoint.model.config
    t, b, n, bands = predictor.tile, predictor.block, predictor.batch, predictor.card.bands
    stride = max(predictor.tile - predictor.overlap, 1)
    per_pixel = activation_bytes_per_pixel(predictor.checkpoint) if per_pixel is None else per_pixel
    stored = np.dtype(dtype).itemsize
    encode = bands * stride * b * (1 if dtype == "float32" else 8 + 8 + 1)
    return {
        "read-ahead": (2 * predictor.workers + 2) * n * t * t * (12 + 1 + 8 * len(config.scales)),
        "activations": int(n * t * t * (per_pixel + 2 * (bands + 1) * 4)),
        "mosaic": (bands + 1) * t * b * 4 + t * b * 8,
        "strips": (WRITE_AHEAD + 2) * (bands + 1) * stride * b * 4,
        "writer": bands * 2 * BLOCK_ALIGN * b * stored,
        "encoding": encode,
        "writing": bands * BLOCK_ALIGN * b * stored,
    }


def peak_memory_bytes(predictor: Predictor, dtype: str = "float32", per_pixel: float | None = None) -> int:
    """Estimated peak resident memory of a run: this process as it stands (interpreter, libraries,
    the loaded model) plus :func:`memory_parts`. benchmarks/predict_scaling.py checks it against
    the measured peak RSS of real runs (within 25 %)."""
    return _resident_bytes() + sum(memory_parts(predictor, dtype, per_pixel).values())


def _resident_bytes() -> int:
    """This process's resident memory now (Linux ``/proc``; elsewhere its peak so far, or 0 where unknown)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import resource  # POSIX only
    except ImportError:
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _colour_consistency(checkpoint: Checkpoint, photo: bool) -> str:
    """Whether predict's output renders back to its input by default, and why."""
    if checkpoint.card.response is None:
        return "off (the model card gives no input response)"
    if photo and checkpoint.card.colour_consistent:
        return "off by default for an sRGB photo: its camera is not the model's (--colour-consistent forces it)"
    return f"{'on' if checkpoint.card.colour_consistent else 'off'} by default (the model card's choice)"


def describe_run(src: str | Path, model: str | None, weights: str | None, bands: int | None,
                 options: PredictOptions = DEFAULT_OPTIONS) -> dict:
    """Scene metadata (with the sensor, the bands chosen and the scaling, each with why), the model that
    would run with ``options`` (its tile, overlap and how the input is read; estimated on the CPU),
    its tile grid and estimated time and memory."""
    with open_scene(src, **options.reading) as scene:
        report = dict(scene.describe())
        height, width = scene.height, scene.width
        report["valid fraction"] = f"{scene.valid_fraction():.3f}"
        photo = scene.encoding.name == "srgb"
    try:
        checkpoint = resolve(model, weights, bands, options.sensor)
    except CheckpointError as exc:
        report["model"] = f"none ({exc})"
        return report
    predictor = Predictor(checkpoint, replace(options, device="cpu"))
    grid = predictor.grid(height, width)
    per_mpx = seconds_per_megapixel(checkpoint)
    tiled_mpx = len(grid) * np.prod(grid.tile_shape) / 1e6
    report.update({
        "model": f"{checkpoint.card.name} ({checkpoint.card.bands} bands, preset {checkpoint.card.preset})",
        "colour-consistent": _colour_consistency(checkpoint, photo),
        "tiles": f"{len(grid)} ({grid.n_rows} x {grid.n_cols}) of {grid.tile_shape[0]} x {grid.tile_shape[1]}, overlap {grid.overlap}",
        "est. time (CPU)": f"{per_mpx * tiled_mpx:.0f} s ({per_mpx:.1f} s per tiled Mpx on this machine)",
        "est. peak memory": f"{peak_memory_bytes(predictor) / 2**30:.2f} GiB (any scene size; "
                            f"block columns of {predictor.block} px, batch {predictor.batch})",
    })
    return report
