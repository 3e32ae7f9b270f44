"""Fit HPRN on one labelled scene, RGB -> cube, without ever using a test pixel's spectrum as a target.

This is the paper's Pavia set-up (HPRN trained for the scene's own bands).
The test split's spectra are removed from the target cube (set to 0 and
given weight 0 in :func:`hprn_geo.model.sopc_loss`) before any patch is cut,
so they cannot reach the loss or its gradient; their RGB stays in the input,
as context, like any pixel of the image the model is applied to. Training
is the bundled models' recipe (``configs/*.toml``): least-squares linear
start, random 64 x 64 patches with their SLIC prior, Adam with polynomial
decay (power 1.5), SOPC loss, a fixed number of steps (no early stopping:
there is no held-out scene to stop on, and the test pixels must not choose).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from hprn_geo.errors import DataFileError
from hprn_geo.model import build_model, linear_init, slic_labels, sopc_loss
from hprn_geo.registry import Checkpoint, ModelCard
from hprn_geo.scenes import patch_positions, random_dihedral, window_sums

__all__ = ["SceneFitConfig", "fit_scene_model"]


@dataclass(frozen=True)
class SceneFitConfig:
    """How :func:`fit_scene_model` trains (defaults: CPU-friendly, the bundled models' recipe)."""

    preset: str = "compact"
    patch: int = 64
    batch_size: int = 4
    steps: int = 500
    lr: float = 5e-4
    power: float = 1.5
    tau: float = 2.0
    pool: int = 256
    seed: int = 0
    """``pool``: windows cut (with their SLIC prior) before training, at most ``steps * batch_size``."""

    def to_dict(self) -> dict:
        """JSON-ready."""
        return asdict(self)


def fit_scene_model(
    rgb: np.ndarray,
    cube: np.ndarray,
    targets: np.ndarray,
    wavelengths: np.ndarray,
    input_text: str,
    config: SceneFitConfig = SceneFitConfig(),
    progress: bool = False,
    device: str | torch.device = "cpu",
) -> Checkpoint:
    """Train HPRN to map ``rgb`` to ``cube`` on the pixels where ``targets`` is True.

    Args:
        rgb: (3, H, W) float32 input, roughly [0, 1].
        cube: (B, H, W) float32 target, NaN where there is no data.
        targets: (H, W) bool pixels allowed as training targets (everything but the test split).
        wavelengths: (B,) band centres (nm, or band numbers when unknown), for the card.
        input_text: the card's ``input`` convention.
        config: training settings.
        progress: show a progress bar.
        device: where to train (the returned model is on the CPU).

    Returns:
        The trained model with a card (tile = patch, trained on "this scene").

    Raises:
        DataFileError: no target pixel with data, or no window of data.
    """
    valid = np.isfinite(cube).all(axis=0) & np.isfinite(rgb).all(axis=0)
    weight = (targets & valid).astype(np.float32)
    if not weight.any():
        raise DataFileError("no pixel outside the test split has data to train the reconstruction on")
    target = np.where(weight > 0, np.nan_to_num(cube), 0.0).astype(np.float32)
    rgb = np.where(valid, rgb, 0.0).astype(np.float32)
    size = min(config.patch, *valid.shape)
    torch.manual_seed(config.seed)
    model = build_model(config.preset, cube.shape[0])
    w = weight > 0
    linear_init(model, rgb[:, w], target[:, w])
    rng = np.random.default_rng(config.seed)
    count = min(config.pool, config.steps * config.batch_size)  # never more windows than are drawn
    pool = _pool(rgb, weight, valid, size, model.config.scales, count, rng)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.9, 0.99))
    scheduler = torch.optim.lr_scheduler.PolynomialLR(optimizer, config.steps, config.power)
    model.train()
    for _ in tqdm(range(config.steps), desc="fit HPRN on the scene", disable=not progress, leave=False):
        picks = rng.integers(len(pool), size=config.batch_size)
        batch = [random_dihedral(_cut(rgb, target, weight, pool[i], size), rng) for i in picks]
        x, y, m, labels = (torch.from_numpy(np.ascontiguousarray(np.stack(parts))).to(device) for parts in zip(*batch))
        pred = model(x, labels.long())
        loss = sopc_loss(pred, y, config.tau, m)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
    card = ModelCard(
        name="scene-fit",
        wavelengths=tuple(float(v) for v in wavelengths),
        preset=config.preset,
        input=input_text,
        patch_size=size,
        tile=size,
        overlap=size // 4,
        training_data=("this scene, test split excluded",),
    )
    return Checkpoint(model.cpu().eval(), card)


def _pool(
    rgb: np.ndarray, weight: np.ndarray, valid: np.ndarray, size: int, scales: tuple[int, ...], count: int,
    rng: np.random.Generator,
) -> list[tuple[int, int, np.ndarray]]:
    """``count`` windows (row, col, SLIC labels (S, P, P)) with data everywhere and at least one target."""
    positions = patch_positions(valid, size)
    targets = window_sums(weight > 0, size)
    positions = positions[targets[positions[:, 0], positions[:, 1]] > 0]
    if positions.size == 0:
        raise DataFileError(f"no {size}x{size} window of the scene is all data with a training target in it")
    picked = positions[rng.integers(len(positions), size=count)]
    return [
        (int(row), int(col), slic_labels(rgb[:, row : row + size, col : col + size], scales).astype(np.int16))
        for row, col in picked
    ]


def _cut(
    rgb: np.ndarray, target: np.ndarray, weight: np.ndarray, entry: tuple[int, int, np.ndarray], size: int
) -> tuple[np.ndarray, ...]:
    row, col, labels = entry
    window = (slice(None), slice(row, row + size), slice(col, col + size))
    return rgb[window], target[window], weight[None][window], labels
