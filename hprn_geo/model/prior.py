"""The semantic prior: multi-scale SLIC superpixel labels of the RGB input.

This is the reference implementation used by the authors: scikit-image's SLIC
with its defaults (CIELAB colour, compactness 10, 10 iterations, connectivity
enforced), once per scale, on the CPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from skimage.segmentation import slic

from hprn_geo.model.fastslic import torch_semantic_prior

__all__ = ["PAPER_SCALES", "PRIOR_METHODS", "semantic_prior", "slic_labels"]

PAPER_SCALES: tuple[int, ...] = (8, 12, 16, 20)
PRIOR_METHODS: tuple[str, ...] = ("skimage", "torch", "torch-connected")
"""``semantic_prior`` methods: scikit-image on the CPU (the reference), or
:mod:`hprn_geo.model.fastslic` on the input's device without / with its
connectivity clean-up."""


def slic_labels(rgb: np.ndarray, scales: Sequence[int] = PAPER_SCALES) -> np.ndarray:
    """SLIC labels of one RGB image at several segment counts.

    Args:
        rgb: (3, H, W) float reflectance-like values; clipped to [0, 1] for SLIC.
        scales: segment counts asked of SLIC (it often returns fewer, sometimes more).

    Returns:
        (S, H, W) int64 labels starting at 0, one map per scale.
    """
    image = np.clip(np.moveaxis(np.asarray(rgb, dtype=np.float64), 0, -1), 0.0, 1.0)
    maps = [slic(image, n_segments=int(k), compactness=10.0, start_label=0, channel_axis=-1) for k in scales]
    return np.stack(maps).astype(np.int64)


def semantic_prior(rgb: torch.Tensor, scales: Sequence[int] = PAPER_SCALES, method: str = "skimage") -> torch.Tensor:
    """Multi-scale SLIC labels for a batch, on the CPU with scikit-image (default) or with torch.

    Args:
        rgb: (N, 3, H, W) float tensor in [0, 1] (values outside are clipped), any device.
        scales: segment counts asked of SLIC.
        method: ``"skimage"`` (default, the reference), or ``"torch"`` /
            ``"torch-connected"``: :func:`hprn_geo.model.fastslic.torch_semantic_prior`
            on ``rgb``'s device (GPU fast path), without / with its connectivity clean-up.

    Returns:
        (N, S, H, W) int64 tensor on ``rgb``'s device.
    """
    if method != "skimage":
        if method not in PRIOR_METHODS:
            raise ValueError(f"unknown prior method {method!r}; choose one of {PRIOR_METHODS}")
        return torch_semantic_prior(rgb, scales, connectivity=method == "torch-connected")
    images = rgb.detach().float().cpu().numpy()
    labels = np.stack([slic_labels(image, scales) for image in images])
    return torch.from_numpy(labels).to(rgb.device)
