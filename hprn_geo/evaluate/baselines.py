"""Classical RGB -> spectrum baselines, fitted on the same training spectra as the model.

Each baseline is fitted on pairs of RGB (C, N) and spectra (B, N) and predicts (B, H, W) from
(C, H, W), pixel by pixel (C = 3, or 4 with a near-infrared band): :class:`RidgeBaseline`, :class:`KNNBaseline` and :class:`FlatBaseline`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["BASELINES", "Baseline", "FlatBaseline", "KNNBaseline", "RidgeBaseline", "fit_baselines"]

_DARK = 1e-6


class Baseline(Protocol):
    """A pixel-wise RGB -> spectrum method."""

    def fit(self, rgb: np.ndarray, spectra: np.ndarray) -> Baseline:
        """Fit on rgb (3, N) and spectra (B, N); returns self."""
        ...

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        """rgb (3, ...) -> spectra (B, ...) float32."""
        ...


def _flat(rgb: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """(C, ...) -> (N, C) float64 and the trailing shape."""
    return np.asarray(rgb, np.float64).reshape(np.shape(rgb)[0], -1).T, np.shape(rgb)[1:]


class RidgeBaseline:
    """Affine regression ``spectrum = W^T [r, g, b(, nir)] + c`` with an L2 penalty ``alpha`` on W (not c).

    Exact (up to ``alpha``) on data that an affine map generated.
    """

    def __init__(self, alpha: float = 1e-6) -> None:
        self.alpha = alpha
        self.weights = np.zeros((4, 0))

    def fit(self, rgb: np.ndarray, spectra: np.ndarray) -> RidgeBaseline:
        x, _ = _flat(rgb)
        y = np.asarray(spectra, np.float64).reshape(spectra.shape[0], -1).T
        mean_x, mean_y = x.mean(0), y.mean(0)
        xc, yc = x - mean_x, y - mean_y
        slope = np.linalg.solve(xc.T @ xc + self.alpha * len(x) * np.eye(x.shape[1]), xc.T @ yc)
        self.weights = np.vstack([slope, mean_y - mean_x @ slope])
        return self

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        x, shape = _flat(rgb)
        out = x @ self.weights[:-1] + self.weights[-1]
        return out.T.reshape(-1, *shape).astype(np.float32)


class KNNBaseline:
    """The ``k`` training spectra nearest in chromaticity ``(r, g) / (r + g + b)`` (with a NIR channel:
    ``(r, g, b) / (r + g + b + nir)``).

    Each neighbour's spectrum is scaled by the ratio of the pixel's brightness
    ``r + g + b`` (``+ nir``) to the neighbour's, and the ``k`` scaled spectra are
    averaged. With ``k=1`` every prediction is a training spectrum times a scalar.
    """

    def __init__(self, k: int = 5) -> None:
        self.k = k

    def fit(self, rgb: np.ndarray, spectra: np.ndarray) -> KNNBaseline:
        x, _ = _flat(rgb)
        keep = x.sum(1) > _DARK
        self.brightness = x[keep].sum(1)
        self.spectra = np.asarray(spectra, np.float64).reshape(spectra.shape[0], -1)[:, keep]
        self.tree = cKDTree(_chromaticity(x[keep]))
        return self

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        x, shape = _flat(rgb)
        k = min(self.k, self.brightness.size)
        _, nearest = self.tree.query(_chromaticity(x), k=k)
        nearest = nearest.reshape(len(x), k)
        ratio = np.clip(x.sum(1), 0.0, None)[:, None] / self.brightness[nearest]  # (N, k)
        out = np.einsum("bnk,nk->bn", self.spectra[:, nearest], ratio) / k
        return out.reshape(-1, *shape).astype(np.float32)


def _chromaticity(x: np.ndarray) -> np.ndarray:
    """(N, C) -> (N, C - 1): every channel but the last over their sum; dark pixels get grey (1 / C each)."""
    total = x.sum(1, keepdims=True)
    safe = np.where(total > _DARK, total, 1.0)
    return np.where(total > _DARK, x[:, :-1] / safe, 1.0 / x.shape[1])


class FlatBaseline:
    """Every band = ``gain * mean(r, g, b)`` (and ``nir`` with a fourth channel): grey spectra at the pixel's brightness.

    ``gain`` is the least-squares fit of the spectra's values to the RGB means
    of the training pixels (1 when RGB and reflectance share units exactly).
    """

    def __init__(self) -> None:
        self.gain = 1.0

    def fit(self, rgb: np.ndarray, spectra: np.ndarray) -> FlatBaseline:
        level = _flat(rgb)[0].mean(1)
        values = np.asarray(spectra, np.float64).reshape(spectra.shape[0], -1)
        self.bands = values.shape[0]
        self.gain = float((values @ level).sum() / (self.bands * (level @ level)))
        return self

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        x, shape = _flat(rgb)
        level = self.gain * x.mean(1)
        return np.broadcast_to(level, (self.bands, level.size)).reshape(-1, *shape).astype(np.float32)


BASELINES: Mapping[str, type] = {"ridge": RidgeBaseline, "knn": KNNBaseline, "flat": FlatBaseline}
"""Baseline name -> class (constructed with defaults)."""


def fit_baselines(rgb: np.ndarray, spectra: np.ndarray) -> dict[str, Baseline]:
    """Every baseline of :data:`BASELINES`, fitted on rgb (3, N) and spectra (B, N)."""
    return {name: cls().fit(rgb, spectra) for name, cls in BASELINES.items()}
