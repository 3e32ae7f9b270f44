"""Figures of an :class:`~hprn_geo.evaluate.harness.Evaluation` (matplotlib, Agg backend).

Per scene: the model's per-pixel MRAE map, truth against every method's
spectrum at a few pixels, and MRAE against wavelength for every method.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hprn_geo.evaluate.harness import EvalScene, Evaluation
from hprn_geo.figures import pyplot, save_figure
from hprn_geo.metrics import per_band_mrae, per_pixel_mrae

__all__ = ["pick_pixels", "plot_band_error", "plot_error_map", "plot_evaluation", "plot_spectra"]

_QUANTILES = (0.1, 0.4, 0.7, 0.95)


def pick_pixels(scene: EvalScene, quantiles: tuple[float, ...] = _QUANTILES) -> list[tuple[int, int]]:
    """(row, col) of the valid pixels whose brightness (mean RGB) sits at ``quantiles``: dark to bright."""
    rows, cols = np.nonzero(scene.valid)
    order = np.argsort(scene.rgb[:, rows, cols].mean(axis=0), kind="stable")
    picks = [order[min(int(q * order.size), order.size - 1)] for q in quantiles]
    return [(int(rows[p]), int(cols[p])) for p in picks]


def plot_error_map(pred: np.ndarray, truth: np.ndarray, path: str | Path, title: str) -> Path:
    """Per-pixel MRAE of pred (B, H, W) against truth, as an image with a colour bar (pixels without data blank)."""
    plt = pyplot()
    error = per_pixel_mrae(pred, truth)
    fig, ax = plt.subplots(figsize=(5, 4.2))
    image = ax.imshow(error, cmap="magma", vmin=0, vmax=float(np.nanpercentile(error, 99)))
    fig.colorbar(image, ax=ax, label="MRAE")
    ax.set(title=title, xticks=[], yticks=[])
    return save_figure(fig, path)


def plot_spectra(
    wavelengths: np.ndarray, scene: EvalScene, predictions: dict[str, np.ndarray], path: str | Path
) -> Path:
    """Truth and each method's spectrum at the pixels of :func:`pick_pixels`, one panel per pixel."""
    plt = pyplot()
    pixels = pick_pixels(scene)
    fig, axes = plt.subplots(1, len(pixels), figsize=(3.6 * len(pixels), 3.2), sharey=True)
    for ax, (row, col) in zip(np.atleast_1d(axes), pixels):
        ax.plot(wavelengths, scene.truth[:, row, col], "k-", lw=2, label="truth")
        for name, pred in predictions.items():
            ax.plot(wavelengths, pred[:, row, col], lw=1, label=name)
        ax.set(title=f"pixel ({row}, {col})", xlabel="wavelength (nm)")
    np.atleast_1d(axes)[0].set_ylabel("reflectance")
    np.atleast_1d(axes)[-1].legend(fontsize=7)
    fig.suptitle(scene.name)
    return save_figure(fig, path)


def plot_band_error(
    wavelengths: np.ndarray, scene: EvalScene, predictions: dict[str, np.ndarray], path: str | Path
) -> Path:
    """MRAE of each band over the scene's valid pixels against wavelength, one line per method."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for name, pred in predictions.items():
        ax.plot(wavelengths, per_band_mrae(pred[:, scene.valid], scene.truth[:, scene.valid]), lw=1.5, label=name)
    ax.set(title=scene.name, xlabel="wavelength (nm)", ylabel="MRAE", yscale="log")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_evaluation(evaluation: Evaluation, folder: str | Path) -> list[Path]:
    """All three figures for every scene into ``folder`` (``<scene>_error_map.png``, ...)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = evaluation.methods[0]
    paths = []
    for scene in evaluation.scenes:
        predictions = {name: evaluation.predictions[name][scene.name] for name in evaluation.methods}
        paths += [
            plot_error_map(predictions[model], scene.truth, folder / f"{scene.name}_error_map.png", f"{scene.name}: {model} MRAE"),
            plot_spectra(evaluation.wavelengths, scene, predictions, folder / f"{scene.name}_spectra.png"),
            plot_band_error(evaluation.wavelengths, scene, predictions, folder / f"{scene.name}_band_error.png"),
        ]
    return paths
