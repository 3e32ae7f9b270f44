"""An honest holdout for a scene fit: whole blocks of the scene, scored against baselines fitted on the rest.

Neighbouring pixels are alike, so a holdout of scattered pixels scores how well
a model interpolates between its own training targets. :func:`blocked_holdout`
holds out whole square blocks instead, drawn at random until a share of the
data is held out; :func:`holdout_table` scores the fitted model and the
classical baselines (:mod:`hprn_geo.evaluate.baselines`, fitted on exactly the
training pixels) on the same held-out pixels.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from hprn_geo.evaluate.baselines import fit_baselines
from hprn_geo.metrics import mrae, rmse, sam

__all__ = ["blocked_holdout", "format_holdout", "holdout_table"]


def blocked_holdout(valid: np.ndarray, fraction: float, block: int, seed: int = 0) -> np.ndarray:
    """Whole ``block x block`` squares of the grid, drawn at random until ``fraction`` of the valid pixels are in them.

    Args:
        valid: (H, W) bool pixels with data.
        fraction: share of the valid pixels to hold out, in [0, 1).
        block: side of a square, pixels.
        seed: the draw's seed.

    Returns:
        (H, W) bool, True on the held-out squares (valid or not).
    """
    height, width = valid.shape
    rows, cols = -(-height // block), -(-width // block)
    labels = (np.arange(height)[:, None] // block) * cols + np.arange(width)[None, :] // block
    counts = np.bincount(labels[valid], minlength=rows * cols)
    order = np.random.default_rng(seed).permutation(rows * cols)
    taken = np.cumsum(counts[order]) < fraction * valid.sum()  # blocks before the target is reached ...
    chosen = order[: int(taken.sum()) + 1] if fraction > 0 else order[:0]  # ... and the one that reaches it
    return np.isin(labels, chosen)


def holdout_table(
    predicted: np.ndarray, cube: np.ndarray, rgb: np.ndarray, train: np.ndarray, holdout: np.ndarray
) -> dict[str, dict[str, float]]:
    """MRAE, SAM (degrees) and RMSE on the held-out pixels: the model's, and each baseline's.

    Args:
        predicted: (B, H, W) the model's output on the cube's grid.
        cube: (B, H, W) the truth.
        rgb: (3, H, W) the RGB on the cube's grid (the photo averaged per cube pixel), the baselines' input.
        train: (H, W) bool the training pixels (the baselines are fitted on exactly these).
        holdout: (H, W) bool the held-out pixels with data.

    Returns:
        ``{"hprn": {"mrae", "sam", "rmse"}, "ridge": ..., "knn": ..., "flat": ...}``.
    """
    truth = cube[:, holdout]
    methods = {"hprn": predicted[:, holdout]}
    for name, baseline in fit_baselines(rgb[:, train], cube[:, train]).items():
        methods[name] = baseline.predict(rgb[:, holdout])
    return {name: {"mrae": mrae(p, truth), "sam": sam(p, truth), "rmse": rmse(p, truth)} for name, p in methods.items()}


def format_holdout(table: Mapping[str, Mapping[str, float]]) -> str:
    """The table as plain text, one method a line."""
    lines = [f"{'method':<8}{'MRAE':>8}{'SAM°':>8}{'RMSE':>8}"]
    lines += [f"{name:<8}{m['mrae']:>8.4f}{m['sam']:>8.2f}{m['rmse']:>8.4f}" for name, m in table.items()]
    return "\n".join(lines)
