"""Fit HPRN to one scene, RGB -> cube, on the pixels allowed as targets, at the RGB's resolution or finer.

The network sees the RGB at its own resolution, ``k`` times finer than the
cube (``k = 1``: the same grid, the paper's Pavia set-up); its output is
averaged over each ``k x k`` block before the loss, so fine detail is used
without inventing fine targets. Pixels that may not be targets (a test split,
a holdout, nodata) are set to 0 and given weight 0 in
:func:`hprn_geo.model.sopc_loss` before any patch is cut, so they cannot reach
the loss or its gradient; their RGB stays in the input, as context, like any
pixel of the image the model is applied to. Training is the bundled models'
recipe (``configs/*.toml``) but for its start: a chromaticity lookup of the training pixels (or, asked, a
relative least-squares linear start, with or without a constant), random patches with
their SLIC prior, Adam with a warm-up and polynomial decay (power 1.5), SOPC plus a relative-error
term (:class:`SceneFitConfig`), a fixed number of steps (no early stopping: the held-out pixels
must not choose).

Both ``hprn-geo fit`` (:mod:`hprn_geo.fit.pipeline`) and ``hprn-geo classify``
train with :func:`fit_scene_model`.
"""

from __future__ import annotations

import functools
import dataclasses
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from hprn_geo.errors import DataFileError
from hprn_geo.fit.state import TrainingState
from hprn_geo.model import HPRN, build_model, linear_init, lookup_init, relative_l1, slic_labels, sopc_loss
from hprn_geo.registry import Checkpoint, ModelCard
from hprn_geo.scenes import patch_positions, random_dihedral, window_sums
from hprn_geo.train.loop import lr_factor

__all__ = ["SceneFitConfig", "block_mean", "fit_scene_model"]


@dataclass(frozen=True)
class SceneFitConfig:
    """How :func:`fit_scene_model` trains; the defaults are the recipe of ``hprn-geo fit`` (``hprn-geo classify``
    fits with the same but for the start, :data:`hprn_geo.classify.CLASSIFY_FIT`).

    The recipe: the bundled models' ``small`` network, the relative-error term beside SOPC (dark pixels
    such as water count, as they do in MRAE and SAM), the chromaticity lookup start (over the four shared-data
    pairs, lower mean MRAE and SAM than the relative linear start: docs/fit.md, "The start") and a warm-up,
    900 steps (on the EnMAP pair, from the linear start, 300 steps lost to kNN on SAM and RMSE, 900 beat it
    on all three; docs/fit.md).

    ``patch`` is the side of a training patch on the RGB's grid (rounded down to a multiple of
    the grid factor ``k``); ``pool``: windows cut (with their SLIC prior) before training, at
    most ``steps * batch_size``; ``mrae_weight``: weight of a relative-error term beside SOPC
    (:func:`hprn_geo.model.relative_l1`; 0: SOPC alone, the paper's loss);
    ``start``: ``"lookup"`` (a ``lookup x lookup`` chromaticity lookup table started at the training pixels'
    kNN, :func:`hprn_geo.model.lookup_init`; better than ``"linear"`` on three of the four pairs, worse on the
    EnMAP one: docs/fit.md, "The start"), ``"linear"`` (the least-squares linear map, relative at ``init_floor``,
    :func:`hprn_geo.model.linear_init`) or ``"affine"`` (the same with a per-band constant, in SSRM's fusion bias);
    ``init_floor``: for the linear and affine starts, 0 for a plain least-squares fit, else relative;
    ``warmup``: steps of linear learning-rate warm-up (:func:`hprn_geo.train.loop.lr_factor`; Adam's first
    steps otherwise throw a start far off: on the EnMAP pair one step at 5e-4 took the linear start's
    held-out SAM from 14 to 56 degrees).
    """

    preset: str = "small"
    patch: int = 48
    batch_size: int = 4
    steps: int = 900
    lr: float = 5e-4
    power: float = 1.5
    tau: float = 2.0
    pool: int = 256
    seed: int = 0
    mrae_weight: float = 1.0
    init_floor: float = 0.02
    start: str = "lookup"
    lookup: int = 128
    warmup: int = 50

    def __post_init__(self) -> None:
        if self.start not in STARTS:
            raise ValueError(f"start must be one of {', '.join(STARTS)}; got {self.start!r}")

    def to_dict(self) -> dict:
        """JSON-ready."""
        return asdict(self)

    def replace(self, **changes: Any) -> SceneFitConfig:
        """A copy with ``changes`` applied (``None`` values are ignored, as unset CLI flags), as
        :meth:`hprn_geo.train.TrainConfig.replace`."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


STARTS = ("linear", "affine", "lookup")
"""The starts :func:`fit_scene_model` can train from (see :class:`SceneFitConfig`'s ``start``)."""


def _started(config: SceneFitConfig, rgb: np.ndarray, spectra: np.ndarray) -> HPRN:
    """An HPRN of ``config.preset`` at ``config.start`` fitted to rgb (3, N) and spectra (B, N), seeded."""
    torch.manual_seed(config.seed)
    lookup = config.start == "lookup"
    model = build_model(config.preset, spectra.shape[0], lookup=config.lookup if lookup else 0)
    if lookup:
        lookup_init(model, rgb, spectra)
    else:
        linear_init(model, rgb, spectra, config.init_floor, intercept=config.start == "affine")
    return model


def block_mean(values: np.ndarray, factor: int) -> np.ndarray:
    """(C, k*H, k*W) -> (C, H, W): the mean over each ``k x k`` block (NaN in a block gives NaN)."""
    channels, height, width = values.shape
    if height % factor or width % factor:
        raise ValueError(f"a {height} x {width} grid is not made of {factor} x {factor} blocks")
    blocks = values.reshape(channels, height // factor, factor, width // factor, factor)
    return blocks.mean(axis=(2, 4), dtype=np.float64).astype(np.float32)


def fit_scene_model(
    rgb: np.ndarray,
    cube: np.ndarray,
    targets: np.ndarray,
    wavelengths: np.ndarray,
    input_text: str,
    config: SceneFitConfig = SceneFitConfig(),
    progress: bool = False,
    device: str | torch.device = "cpu",
    state: TrainingState | None = None,
) -> Checkpoint:
    """Train HPRN to map ``rgb`` to ``cube`` on the pixels where ``targets`` is True.

    Args:
        rgb: (3, k*H, k*W) float32 input, roughly [0, 1], NaN where there is no data; ``k >= 1``
            whole (the grid factor), the RGB pixel (i, j) lying in cube pixel (i // k, j // k).
        cube: (B, H, W) float32 target, NaN where there is no data.
        targets: (H, W) bool pixels allowed as training targets (everything but the test split).
        wavelengths: (B,) band centres (nm, or band numbers when unknown), for the card.
        input_text: the card's ``input`` convention.
        config: training settings.
        progress: show a progress bar.
        device: where to train (the returned model is on the CPU).
        state: where to save the training state as it goes and resume it from (None: nowhere).

    Returns:
        The trained model with a card (tile = patch, trained on "this scene"; ``scores["start"]``: the start).

    Raises:
        DataFileError: no target pixel with data, or no window of data.
    """
    factor = _factor(rgb.shape, cube.shape)
    seen = np.isfinite(rgb).all(axis=0).reshape(cube.shape[1], factor, cube.shape[2], factor).all(axis=(1, 3))
    weight = (targets & seen & np.isfinite(cube).all(axis=0)).astype(np.float32)
    if not weight.any():
        raise DataFileError("no pixel outside the test split has data to train the reconstruction on")
    target = np.where(weight > 0, np.nan_to_num(cube), 0.0).astype(np.float32)
    rgb = np.nan_to_num(rgb).astype(np.float32)
    size = min(config.patch, *rgb.shape[1:]) // factor * factor
    w = weight > 0
    model = _started(config, block_mean(rgb, factor)[:, w], target[:, w])
    rng = np.random.default_rng(config.seed)
    count = min(config.pool, config.steps * config.batch_size)  # never more windows than are drawn
    pool = _pool(rgb, weight, seen, size, factor, model.config.scales, count, rng)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.9, 0.99))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, functools.partial(lr_factor, config))
    start = state.restore(model, optimizer, scheduler, rng) if state is not None else 0
    model.train()
    bar = tqdm(range(start, config.steps), desc="fit HPRN on the scene", disable=not progress, leave=False,
               initial=start, total=config.steps)  # fmt: skip
    for step in bar:
        picks = rng.integers(len(pool), size=config.batch_size)
        batch = [random_dihedral(_cut(rgb, target, weight, pool[i], size, factor), rng) for i in picks]
        x, y, m, labels = (torch.from_numpy(np.ascontiguousarray(np.stack(parts))).to(device) for parts in zip(*batch))
        pred = model(x, labels.long())
        pred = F.avg_pool2d(pred, factor) if factor > 1 else pred
        loss = sopc_loss(pred, y, config.tau, m)
        if config.mrae_weight:
            loss = loss + config.mrae_weight * relative_l1(pred, y, weight=m)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if state is not None:
            state.step_done(step + 1, model, optimizer, scheduler, rng)
    card = ModelCard(
        name="scene-fit",
        wavelengths=tuple(float(v) for v in wavelengths),
        preset=config.preset,
        input=input_text,
        patch_size=size,
        tile=size,
        overlap=size // 4,
        training_data=("this scene, test split excluded",),
        scores={"start": config.start},
    )
    return Checkpoint(model.cpu().eval(), card)


def _factor(rgb_shape: tuple[int, ...], cube_shape: tuple[int, ...]) -> int:
    """The whole k with rgb (3, k*H, k*W) and cube (B, H, W)."""
    factor = rgb_shape[1] // max(cube_shape[1], 1)
    if factor < 1 or rgb_shape[1:] != (factor * cube_shape[1], factor * cube_shape[2]):
        raise ValueError(f"rgb {rgb_shape} is not a whole multiple of the cube's grid {cube_shape}")
    return factor


def _pool(
    rgb: np.ndarray, weight: np.ndarray, seen: np.ndarray, size: int, factor: int, scales: tuple[int, ...],
    count: int, rng: np.random.Generator,
) -> list[tuple[int, int, np.ndarray]]:
    """``count`` windows (cube row, cube col, SLIC labels (S, P, P) of the RGB) with RGB data everywhere
    and at least one target."""
    side = size // factor
    positions = patch_positions(seen, side)
    targets = window_sums(weight > 0, side)
    positions = positions[targets[positions[:, 0], positions[:, 1]] > 0]
    if positions.size == 0:
        raise DataFileError(f"no {size}x{size} window of the scene is all data with a training target in it")
    picked = positions[rng.integers(len(positions), size=count)]
    return [
        (int(row), int(col), slic_labels(_fine(rgb, row, col, size, factor), scales).astype(np.int16))
        for row, col in picked
    ]


def _fine(rgb: np.ndarray, row: int, col: int, size: int, factor: int) -> np.ndarray:
    """The (3, size, size) RGB window whose top-left pixel lies in cube pixel (row, col)."""
    return rgb[:, row * factor : row * factor + size, col * factor : col * factor + size]


def _cut(
    rgb: np.ndarray, target: np.ndarray, weight: np.ndarray, entry: tuple[int, int, np.ndarray], size: int, factor: int
) -> tuple[np.ndarray, ...]:
    row, col, labels = entry
    side = size // factor
    window = (slice(None), slice(row, row + side), slice(col, col + side))
    return _fine(rgb, row, col, size, factor), target[window], weight[None][window], labels
