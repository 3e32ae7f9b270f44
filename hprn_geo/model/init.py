"""Starting HPRN at the per-pixel least-squares linear map: the start of training and of scene fits."""

from __future__ import annotations

import numpy as np
import torch

from hprn_geo.model.hprn import HPRN

__all__ = ["linear_init"]


def linear_init(model: HPRN, rgb: np.ndarray, spectra: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Start ``model`` at the least-squares linear map from rgb (3, N) to spectra (B, N).

    With ``floor > 0`` the fit is relative: each band's squared errors are
    weighted by ``1 / max(|truth|, floor)**2``, so dark elements count as much
    as MRAE counts them (``floor`` as in :func:`hprn_geo.model.relative_l1`).

    The head's first three channels pass RGB through (centre tap), the band projection applies the
    map to them, the tail and SSRM's fusion start at zero, so the untrained network outputs exactly
    ``W^T rgb`` (docs/training.md, "Start").

    Returns:
        W, (3, B).
    """
    x, y = rgb.T.astype(np.float64), spectra.T.astype(np.float64)
    if floor > 0:
        scale = 1.0 / np.maximum(np.abs(y), floor)  # (N, B)
        weights = np.stack([np.linalg.lstsq(x * w[:, None], t * w, rcond=None)[0] for w, t in zip(scale.T, y.T)], axis=1)
    else:
        weights = np.linalg.lstsq(x, y, rcond=None)[0]
    with torch.no_grad():
        head, bands = model.head.conv.weight, model.to_bands.conv.weight
        head[:3].zero_()
        head[:3, :, 1, 1] = torch.eye(3)
        bands.zero_()
        bands[:, :3, 1, 1] = torch.from_numpy(weights.T).to(bands.dtype)
        model.tail.conv.weight.zero_()
        if model.ssrm is not None:
            model.ssrm.fuse.weight.zero_()
            model.ssrm.fuse.bias.zero_()
    return weights
