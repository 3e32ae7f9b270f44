"""What a prediction would do and cost, for ``hprn-geo info``."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from hprn_geo.errors import CheckpointError
from hprn_geo.io import open_scene
from hprn_geo.predict import Predictor
from hprn_geo.registry import Checkpoint, resolve

PROBE = 64
"""Side of the tile timed to estimate the run time."""


def seconds_per_megapixel(checkpoint: Checkpoint) -> float:
    """Time one PROBE x PROBE tile (prior + model, CPU, fp32) and scale to a megapixel."""
    rgb = torch.rand(1, 3, PROBE, PROBE, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        checkpoint.model(rgb)  # warm-up
        start = time.perf_counter()
        checkpoint.model(rgb)
        elapsed = time.perf_counter() - start
    return elapsed / (PROBE * PROBE / 1e6)


def peak_memory_bytes(predictor: Predictor, width: int) -> int:
    """Rough peak: model weights, a batch of activations (~8 feature maps), the mosaic buffer."""
    config = predictor.checkpoint.model.config
    side = min(predictor.tile, width)
    weights = sum(p.numel() for p in predictor.model.parameters()) * 4
    activations = predictor.batch * 8 * config.channels * side * side * 4
    mosaic = (config.bands + 1) * side * width * 8 + side * width * 8
    return int(weights + activations + mosaic)


def _colour_consistency(checkpoint: Checkpoint, photo: bool) -> str:
    """Whether predict's output renders back to its input by default, and why."""
    if checkpoint.card.response is None:
        return "off (the model card gives no input response)"
    if photo and checkpoint.card.colour_consistent:
        return "off by default for an sRGB photo: its camera is not the model's (--colour-consistent forces it)"
    return f"{'on' if checkpoint.card.colour_consistent else 'off'} by default (the model card's choice)"


def describe_run(
    src: str | Path,
    model: str | None,
    weights: str | None,
    bands: int | None,
    tile: int | None,
    overlap: int | None,
    rgb_bands: tuple[int, int, int] | None,
    scale: float | str,
    encoding: str = "auto",
    white_balance: str = "none",
) -> dict:
    """Scene metadata, the model that would run, its tile grid and estimated time and memory."""
    with open_scene(src, rgb_bands=rgb_bands, scale=scale, encoding=encoding, white_balance=white_balance) as scene:
        report = dict(scene.describe())
        height, width = scene.height, scene.width
        report["valid fraction"] = f"{scene.valid_fraction():.3f}"
        photo = scene.encoding.name == "srgb"
    try:
        checkpoint = resolve(model, weights, bands)
    except CheckpointError as exc:
        report["model"] = f"none ({exc})"
        return report
    predictor = Predictor(checkpoint, tile, overlap, device="cpu")
    grid = predictor.grid(height, width)
    per_mpx = seconds_per_megapixel(checkpoint)
    tiled_mpx = len(grid) * np.prod(grid.tile_shape) / 1e6
    report.update({
        "model": f"{checkpoint.card.name} ({checkpoint.card.bands} bands, preset {checkpoint.card.preset})",
        "colour-consistent": _colour_consistency(checkpoint, photo),
        "tiles": f"{len(grid)} ({grid.n_rows} x {grid.n_cols}) of {grid.tile_shape[0]} x {grid.tile_shape[1]}, overlap {grid.overlap}",
        "est. time (CPU)": f"{per_mpx * tiled_mpx:.0f} s ({per_mpx:.1f} s per tiled Mpx on this machine)",
        "est. peak memory": f"{peak_memory_bytes(predictor, width) / 2**30:.2f} GiB",
    })
    return report
