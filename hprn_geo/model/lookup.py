"""A learned chromaticity lookup table: the per-pixel, kNN-like path of HPRN (docs/training.md, "Start")."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ChromaticityLookup", "chromaticity"]

DARK = 1e-6
"""Brightness ``r + g + b`` below which a pixel has no chromaticity (it gets grey, 1/3, 1/3)."""


def chromaticity(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Brightness and chromaticity of rgb (N, 3, H, W).

    Returns:
        brightness (N, 1, H, W), ``r + g + b`` clipped at 0; chromaticity (N, 2, H, W),
        ``(r, g) / (r + g + b)``, grey (1/3, 1/3) where the brightness is under :data:`DARK`.
    """
    total = rgb.sum(1, keepdim=True)
    lit = total > DARK
    chroma = torch.where(lit, rgb[:, :2] / torch.where(lit, total, torch.ones_like(total)), torch.full_like(total, 1 / 3))
    return total.clamp(min=0.0), chroma


class ChromaticityLookup(nn.Module):
    """Spectra per unit brightness on a ``side x side`` grid over chromaticity ``(r, g)`` in [0, 1]^2.

    A pixel's output is its brightness ``r + g + b`` times the table bilinearly interpolated at
    its chromaticity (clamped to the grid's border): a smooth, learnable form of the kNN baseline
    (:class:`hprn_geo.evaluate.baselines.KNNBaseline`), whose outputs are scaled real spectra.
    :func:`hprn_geo.model.init.lookup_init` fills it from training pixels.

    Args:
        bands: B, output bands.
        side: G, grid points per chromaticity axis.

    Shape:
        forward(rgb (N, 3, H, W)) -> (N, B, H, W); ``table`` is (B, G, G), rows over g, columns over r.
    """

    def __init__(self, bands: int, side: int) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.zeros(bands, side, side))

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        brightness, chroma = chromaticity(rgb)
        grid = (chroma * 2 - 1).permute(0, 2, 3, 1)  # (N, H, W, 2): x = r, y = g in [-1, 1]
        table = self.table.unsqueeze(0).expand(rgb.shape[0], -1, -1, -1)
        return F.grid_sample(table, grid, mode="bilinear", padding_mode="border", align_corners=True) * brightness
