"""Classification scores: confusion matrix, overall and average accuracy, Cohen's kappa."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ClassScores", "class_scores", "confusion_matrix"]


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """(K, K) int64 counts, row = true class, column = predicted class, in the order of ``classes`` (K,)."""
    index = {int(c): i for i, c in enumerate(classes)}
    k = len(classes)
    rows = np.array([index[int(t)] for t in truth], np.int64)
    cols = np.array([index.get(int(p), -1) for p in predicted], np.int64)
    if np.any(cols < 0):
        raise ValueError("a prediction is not one of the classes")
    return np.bincount(rows * k + cols, minlength=k * k).reshape(k, k)


@dataclass(frozen=True)
class ClassScores:
    """Scores of one classification on the test pixels.

    Attributes:
        oa: overall accuracy, fraction of test pixels right, in [0, 1].
        aa: average accuracy, the mean of the per-class accuracies.
        kappa: Cohen's kappa, agreement beyond chance.
        per_class: accuracy (recall) of each class id.
        confusion: (K, K) counts, rows = truth.
    """

    oa: float
    aa: float
    kappa: float
    per_class: dict[int, float]
    confusion: np.ndarray

    def to_dict(self) -> dict:
        """JSON-ready: class ids as strings."""
        return {
            "oa": self.oa,
            "aa": self.aa,
            "kappa": self.kappa,
            "per_class": {str(c): a for c, a in self.per_class.items()},
            "confusion": self.confusion.tolist(),
        }


def class_scores(truth: np.ndarray, predicted: np.ndarray, classes: np.ndarray) -> ClassScores:
    """OA, AA, kappa and per-class accuracy of ``predicted`` against ``truth`` (both (N,) class ids)."""
    confusion = confusion_matrix(truth, predicted, classes)
    total = confusion.sum()
    correct = np.trace(confusion) / total
    per_row = confusion.sum(axis=1)
    recall = np.divide(np.diag(confusion), per_row, out=np.zeros(len(classes)), where=per_row > 0)
    chance = float((per_row * confusion.sum(axis=0)).sum()) / float(total) ** 2
    kappa = (correct - chance) / (1.0 - chance) if chance < 1.0 else 1.0
    present = per_row > 0
    return ClassScores(
        oa=float(correct),
        aa=float(recall[present].mean()),
        kappa=float(kappa),
        per_class={int(c): float(r) for c, r, p in zip(classes, recall, present) if p},
        confusion=confusion,
    )
