"""The second-order prior constraint (SOPC) loss, paper eqs. (14)-(15)."""

from __future__ import annotations

import torch


def band_covariance(cube: torch.Tensor) -> torch.Tensor:
    """Sample covariance between bands, eq. (14): X = I Sigma I^T, Sigma = (Id - 1/n) / n.

    Args:
        cube: (N, B, H, W).

    Returns:
        (N, B, B) covariance over the n = H * W pixels of each sample.
    """
    flat = cube.flatten(2).float()
    centred = flat - flat.mean(dim=2, keepdim=True)
    return centred @ centred.transpose(1, 2) / flat.shape[2]


def sopc_loss(pred: torch.Tensor, target: torch.Tensor, tau: float = 2.0) -> torch.Tensor:
    """L1 plus ``tau`` times the L1 distance between band covariance matrices, eq. (15).

    Both L1 terms are means (over elements, and over the B x B covariance
    entries), so ``tau`` keeps the paper's meaning of a relative weight.

    Args:
        pred: (N, B, H, W) reconstruction.
        target: (N, B, H, W) ground truth.
        tau: weight of the second-order term (2 in the paper).

    Returns:
        Scalar tensor.
    """
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ")
    l1 = (pred.float() - target.float()).abs().mean()
    second = (band_covariance(pred) - band_covariance(target)).abs().mean()
    return l1 + tau * second
