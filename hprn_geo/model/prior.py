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

PAPER_SCALES: tuple[int, ...] = (8, 12, 16, 20)


def slic_labels(rgb: np.ndarray, scales: Sequence[int] = PAPER_SCALES) -> np.ndarray:
    """SLIC labels of one RGB image at several segment counts.

    Args:
        rgb: (3, H, W) float reflectance-like values; clipped to [0, 1] for SLIC.
        scales: segment counts asked of SLIC (it often returns fewer, sometimes more).

    Returns:
        (S, H, W) int64 labels starting at 0, one map per scale.
    """
    image = np.clip(np.moveaxis(np.asarray(rgb, dtype=np.float64), 0, -1), 0.0, 1.0)
    maps = [
        slic(image, n_segments=int(k), compactness=10.0, start_label=0, channel_axis=-1)
        for k in scales
    ]
    return np.stack(maps).astype(np.int64)


def semantic_prior(rgb: torch.Tensor, scales: Sequence[int] = PAPER_SCALES) -> torch.Tensor:
    """Multi-scale SLIC labels for a batch, computed on the CPU with scikit-image.

    Args:
        rgb: (N, 3, H, W) float tensor in [0, 1] (values outside are clipped), any device.
        scales: segment counts asked of SLIC.

    Returns:
        (N, S, H, W) int64 tensor on ``rgb``'s device.
    """
    images = rgb.detach().float().cpu().numpy()
    labels = np.stack([slic_labels(image, scales) for image in images])
    return torch.from_numpy(labels).to(rgb.device)
