"""Figures of a classification run: the class maps beside the ground truth, and the confusion matrices."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hprn_geo.classify.experiment import INPUTS, ClassificationResult
from hprn_geo.figures import pyplot, save_figure

__all__ = ["plot_classification", "plot_confusion", "plot_maps"]


def _class_colours(labels: np.ndarray) -> tuple[object, object]:
    """A listed colormap (unlabelled = white, then one colour per class id) and its norm over ids 0..max."""
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm, ListedColormap

    top = max(int(labels.max()), 1)
    palette = colormaps["tab20"]
    colours = ["white"] + [palette(i % 20) for i in range(top)]
    return ListedColormap(colours), BoundaryNorm(np.arange(-0.5, top + 1.5), top + 1)


def plot_maps(result: ClassificationResult, path: str | Path) -> Path:
    """Ground truth and the class map of each input (every pixel with data), side by side."""
    if result.maps is None:
        raise ValueError("the result has no class maps; run classify_scene(..., maps=True)")
    plt = pyplot()
    classes = result.split.classes
    cmap, norm = _class_colours(result.split.labels)
    panels = [("ground truth", result.split.labels)] + [
        (f"{name}: OA {result.scores[name].oa:.3f}", result.maps[name]) for name in INPUTS
    ]
    fig, axes = plt.subplots(1, 4, figsize=(13, 4))
    for ax, (title, values) in zip(axes, panels):
        ax.imshow(values, cmap=cmap, norm=norm, interpolation="nearest")
        ax.set(title=title, xticks=[], yticks=[])
    handles = [plt.Rectangle((0, 0), 1, 1, color=cmap(norm(c))) for c in classes]
    fig.legend(handles, [f"class {c}" for c in classes], loc="lower center", ncol=min(len(classes), 9), frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return save_figure(fig, path, tight=False)


def plot_confusion(result: ClassificationResult, path: str | Path) -> Path:
    """Row-normalised confusion matrices (truth x prediction) of the three inputs."""
    plt = pyplot()
    classes = result.split.classes
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.4))
    for ax, name in zip(axes, INPUTS):
        counts = result.scores[name].confusion.astype(np.float64)
        rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
        ticks = np.arange(len(classes))
        ax.set(title=f"{name}: kappa {result.scores[name].kappa:.3f}", xticks=ticks, yticks=ticks,
               xticklabels=classes, yticklabels=classes, xlabel="predicted", ylabel="true")  # fmt: skip
    fig.tight_layout(rect=(0, 0, 0.93, 1))
    fig.colorbar(image, cax=fig.add_axes((0.94, 0.15, 0.012, 0.7)), label="fraction of the true class")
    return save_figure(fig, path, tight=False)


def plot_classification(result: ClassificationResult, folder: str | Path) -> list[Path]:
    """``maps.png`` and ``confusion.png`` in ``folder`` (created)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [plot_maps(result, folder / "maps.png"), plot_confusion(result, folder / "confusion.png")]
