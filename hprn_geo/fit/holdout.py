"""An honest holdout for a scene fit: whole blocks of the scene, scored against baselines fitted on the rest.

Neighbouring pixels are alike, so a holdout of scattered pixels would score how well a model interpolates
between its own training targets (docs/fit.md, step 4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hprn_geo.evaluate.baselines import fit_baselines
from hprn_geo.evaluate.harness import EvalScene
from hprn_geo.evaluate.plots import pick_pixels
from hprn_geo.figures import pyplot, save_figure
from hprn_geo.metrics import mrae, rmse, sam

__all__ = ["HoldoutSpectra", "blocked_holdout", "format_holdout", "plot_holdout_spectra", "score_holdout"]


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


@dataclass(frozen=True)
class HoldoutSpectra:
    """The held-out pixels: truth, input and every method's spectra.

    Attributes:
        pixels: (N, 2) (row, col) of each held-out pixel on the cube's grid.
        rgb: (3, N) the RGB averaged over each pixel (the baselines' input).
        truth: (B, N) the cube's spectra.
        methods: name -> (B, N) prediction: ``"hprn"`` (the fitted model), then ``"ridge"``, ``"knn"``, ``"flat"``.
    """

    pixels: np.ndarray
    rgb: np.ndarray
    truth: np.ndarray
    methods: dict[str, np.ndarray]

    def table(self) -> dict[str, dict[str, float]]:
        """Method -> ``{"mrae", "sam" (degrees), "rmse"}`` over the held-out pixels."""
        return {
            name: {"mrae": mrae(p, self.truth), "sam": sam(p, self.truth), "rmse": rmse(p, self.truth)}
            for name, p in self.methods.items()
        }


def score_holdout(
    predicted: np.ndarray, cube: np.ndarray, rgb: np.ndarray, train: np.ndarray, holdout: np.ndarray
) -> HoldoutSpectra:
    """The model's and each baseline's spectra on the held-out pixels, the baselines fitted on exactly ``train``.

    Args:
        predicted: (B, H, W) the model's output on the cube's grid.
        cube: (B, H, W) the truth.
        rgb: (3, H, W) the RGB on the cube's grid (the photo averaged per cube pixel), the baselines' input.
        train: (H, W) bool the training pixels.
        holdout: (H, W) bool the held-out pixels with data.

    Returns:
        The :class:`HoldoutSpectra`.
    """
    methods = {"hprn": predicted[:, holdout]}
    for name, baseline in fit_baselines(rgb[:, train], cube[:, train]).items():
        methods[name] = baseline.predict(rgb[:, holdout])
    return HoldoutSpectra(np.argwhere(holdout), rgb[:, holdout], cube[:, holdout], methods)


def format_holdout(table: Mapping[str, Mapping[str, float]]) -> str:
    """The table as plain text, one method a line."""
    lines = [f"{'method':<8}{'MRAE':>8}{'SAM°':>8}{'RMSE':>8}"]
    lines += [f"{name:<8}{m['mrae']:>8.4f}{m['sam']:>8.2f}{m['rmse']:>8.4f}" for name, m in table.items()]
    return "\n".join(lines)


def plot_holdout_spectra(spectra: HoldoutSpectra, wavelengths: np.ndarray, path: str | Path, title: str = "") -> Path:
    """Truth and every method's spectrum at four held-out pixels, dark to bright (a PNG at ``path``)."""
    plt = pyplot()
    picked = pick_pixels(EvalScene(title, spectra.rgb[:, None, :], spectra.truth[:, None, :]))
    fig, axes = plt.subplots(1, len(picked), figsize=(3.6 * len(picked), 3.2), sharey=True)
    for ax, (_, i) in zip(axes, picked):
        ax.plot(wavelengths, spectra.truth[:, i], "k-", lw=2, label="truth")
        for name, values in spectra.methods.items():
            ax.plot(wavelengths, values[:, i], lw=1.5 if name == "hprn" else 0.8, label=name)
        row, col = spectra.pixels[i]
        ax.set(title=f"held-out pixel ({row}, {col})", xlabel="wavelength (nm)")
    axes[0].set_ylabel("reflectance")
    axes[-1].legend(fontsize=7)
    fig.suptitle(title)
    return save_figure(fig, path)
