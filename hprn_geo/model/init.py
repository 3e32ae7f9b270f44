"""Starting HPRN at a per-pixel map of the training pixels: the least-squares linear map
(:func:`linear_init`) or their chromaticity lookup table (:func:`lookup_init`); the start of training
and of scene fits."""

from __future__ import annotations

import numpy as np
import torch

from hprn_geo.model.hprn import HPRN
from hprn_geo.model.lookup import DARK, chromaticity

__all__ = ["LOOKUP_NEIGHBOURS", "linear_init", "lookup_init"]

LOOKUP_NEIGHBOURS = 3
"""Training pixels averaged per grid point by :func:`lookup_init` (3 beat 5 and 10 in the
cross-validation of the table alone: docs/accuracy.md, "The lookup start")."""


def linear_init(
    model: HPRN, rgb: np.ndarray, spectra: np.ndarray, floor: float = 0.0, plain: float = 0.0, intercept: bool = False
) -> np.ndarray:
    """Start ``model`` at the least-squares linear map from rgb (C, N) to spectra (B, N), C the model's input channels.

    With ``floor > 0`` the fit is relative: each band's squared errors are
    weighted by ``1 / max(|truth|, floor)**2``, so dark elements count as much
    as MRAE counts them (``floor`` as in :func:`hprn_geo.model.relative_l1`).
    ``plain`` in [0, 1] blends that map with the plain (unweighted) one: ``W = plain * W_plain + (1 - plain) * W_floor``
    (the plain map keeps the spectra's shape, the relative one the dark pixels; docs/training.md, "Start").
    With ``intercept`` each map also has a per-band constant, fitted with it and
    put in the bias of SSRM's fusion (the network's only bias, so the model needs SSRM).

    The head's first C channels pass the input through (centre tap), the band projection applies the
    map to them, the tail and SSRM's fusion start at zero, so the untrained network outputs exactly
    ``W^T rgb`` (plus the constant; docs/training.md, "Start").

    Returns:
        W, (C, B); with ``intercept`` (C + 1, B), the constant last.

    Raises:
        ValueError: ``plain`` outside [0, 1], or ``intercept`` on a model without SSRM.
    """
    if not 0.0 <= plain <= 1.0:
        raise ValueError(f"plain must lie in [0, 1], got {plain}")
    if intercept and model.ssrm is None:
        raise ValueError("an intercept start needs SSRM's fusion bias: build the model with ssrm = true")
    x = np.vstack([rgb, np.ones((1, rgb.shape[1]))]) if intercept else rgb
    weights = _least_squares(x, spectra, floor)
    if plain > 0 and floor > 0:
        weights = plain * _least_squares(x, spectra, 0.0) + (1.0 - plain) * weights
    channels = rgb.shape[0]
    _start(model)
    with torch.no_grad():
        model.head.conv.weight[:channels].zero_()
        model.head.conv.weight[:channels, :, 1, 1] = torch.eye(channels)
        model.to_bands.conv.weight[:, :channels, 1, 1] = torch.from_numpy(weights[:channels].T).to(model.to_bands.conv.weight.dtype)
        if intercept:
            model.ssrm.fuse.bias.copy_(torch.from_numpy(weights[channels]))  # type: ignore[union-attr]
    return weights


def lookup_init(model: HPRN, rgb: np.ndarray, spectra: np.ndarray, neighbours: int = LOOKUP_NEIGHBOURS) -> np.ndarray:
    """Start ``model`` (built with a ``lookup`` table) at the chromaticity lookup of rgb (C, N) and spectra (B, N)
    (the first three channels, R, G, B: a near-infrared fourth is left to the network).

    Each grid point of the table holds the mean spectrum per unit brightness (spectrum over
    ``r + g + b``) of the ``neighbours`` training pixels nearest to it in chromaticity, as the kNN
    baseline averages; the band projection, the tail and SSRM's fusion start at zero, so the
    untrained network outputs ``(r + g + b) * table(r, g)`` (docs/training.md, "Start").

    Returns:
        The table, (B, G, G).

    Raises:
        ValueError: the model has no lookup table, or no training pixel is brighter than black.
    """
    from scipy.spatial import cKDTree

    if model.lookup is None:
        raise ValueError("lookup_init needs a model built with a lookup table (switch lookup = G)")
    brightness, chroma = chromaticity(torch.from_numpy(np.asarray(rgb, np.float64)[:3].T[:, :, None, None]))
    lit = (brightness > DARK).numpy().ravel()
    if not lit.any():
        raise ValueError("no training pixel is brighter than black: the lookup table cannot be filled")
    per_unit = np.asarray(spectra, np.float64)[:, lit] / brightness.numpy().ravel()[lit]  # (B, n)
    side = model.lookup.table.shape[-1]
    axis = np.linspace(0.0, 1.0, side)
    g, r = np.meshgrid(axis, axis, indexing="ij")
    _, nearest = cKDTree(chroma.numpy()[lit, :, 0, 0]).query(np.stack([r.ravel(), g.ravel()], 1), k=min(neighbours, lit.sum()))
    table = per_unit[:, np.reshape(nearest, (side * side, -1))].mean(-1).reshape(-1, side, side)
    _start(model)
    with torch.no_grad():
        model.lookup.table.copy_(torch.from_numpy(table))
    return table


def _least_squares(rgb: np.ndarray, spectra: np.ndarray, floor: float) -> np.ndarray:
    """W (rows of rgb, B) of :func:`linear_init` (C, or C + 1 with the intercept's row of ones)."""
    x, y = rgb.T.astype(np.float64), spectra.T.astype(np.float64)
    if floor > 0:
        scale = 1.0 / np.maximum(np.abs(y), floor)  # (N, B)
        return np.stack([np.linalg.lstsq(x * w[:, None], t * w, rcond=None)[0] for w, t in zip(scale.T, y.T)], axis=1)
    return np.linalg.lstsq(x, y, rcond=None)[0]


def _start(model: HPRN) -> None:
    """Zero what lies between the per-pixel start and the output: the band projection, the tail,
    SSRM's fusion and a lookup table (each start then sets its own part)."""
    with torch.no_grad():
        model.to_bands.conv.weight.zero_()
        model.tail.conv.weight.zero_()
        if model.ssrm is not None:
            model.ssrm.fuse.weight.zero_()
            model.ssrm.fuse.bias.zero_()
        if model.lookup is not None:
            model.lookup.table.zero_()
