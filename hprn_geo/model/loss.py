"""The second-order prior constraint (SOPC) loss, paper eqs. (14)-(15)."""

from __future__ import annotations

import torch

__all__ = ["band_covariance", "relative_l1", "sopc_loss"]


def band_covariance(cube: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Sample covariance between bands, eq. (14): X = I Sigma I^T, Sigma = (Id - 1/n) / n.

    Args:
        cube: (N, B, H, W).
        weight: (N, 1, H, W) pixel weights (1 = counted, 0 = ignored), or None
            for all pixels; a sample without weight gives a zero matrix.

    Returns:
        (N, B, B) covariance over the n = H * W (or the weighted) pixels of each sample.
    """
    flat = cube.flatten(2).float()
    if weight is None:
        centred = flat - flat.mean(dim=2, keepdim=True)
        return centred @ centred.transpose(1, 2) / flat.shape[2]
    w = weight.flatten(2).float()
    total = w.sum(dim=2, keepdim=True).clamp(min=1e-12)
    centred = (flat - (flat * w).sum(dim=2, keepdim=True) / total) * w.sqrt()
    return centred @ centred.transpose(1, 2) / total


def sopc_loss(
    pred: torch.Tensor, target: torch.Tensor, tau: float = 2.0, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """L1 plus ``tau`` times the L1 distance between band covariance matrices, eq. (15).

    Both L1 terms are means (over elements, and over the B x B covariance
    entries), so ``tau`` keeps the paper's meaning of a relative weight.

    Args:
        pred: (N, B, H, W) reconstruction.
        target: (N, B, H, W) ground truth.
        tau: weight of the second-order term (2 in the paper).
        weight: (N, 1, H, W) pixel weights in [0, 1], or None: with weights the
            L1 term is the weighted mean and the covariances are over the
            weighted pixels, so a pixel of weight 0 is no target at all (its
            value never reaches the loss or its gradient).

    Returns:
        Scalar tensor.
    """
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ")
    error = (pred.float() - target.float()).abs()
    if weight is None:
        l1 = error.mean()
    else:
        l1 = (error * weight).sum() / (weight.sum() * pred.shape[1]).clamp(min=1e-12)
    second = (band_covariance(pred, weight) - band_covariance(target, weight)).abs().mean()
    return l1 + tau * second


def relative_l1(
    pred: torch.Tensor, target: torch.Tensor, floor: float = 0.01, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean relative absolute error ``|pred - target| / max(|target|, floor)``: an MRAE-like term.

    The metric MRAE divides by ``|target|``; dark elements (water in the
    near-infrared, shadows) then dominate it. SOPC's L1 barely sees them, so
    a model trained on SOPC alone leaves them relatively wrong. The ``floor``
    (reflectance units) keeps the gradient of near-zero targets bounded.

    Args:
        pred, target: (N, B, H, W).
        floor: smallest divisor.
        weight: (N, 1, H, W) pixel weights in [0, 1], or None: the weighted mean then (a pixel of
            weight 0 is no target at all, as in :func:`sopc_loss`).

    Returns:
        Scalar tensor.
    """
    target = target.float()
    relative = (pred.float() - target).abs() / target.abs().clamp(min=floor)
    if weight is None:
        return relative.mean()
    return (relative * weight).sum() / (weight.sum() * pred.shape[1]).clamp(min=1e-12)
