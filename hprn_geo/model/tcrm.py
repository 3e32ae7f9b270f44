"""Transformer-based channel relation module (TCRM, paper section III-C)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ChannelSelfAttention", "TCRM"]


class ChannelSelfAttention(nn.Module):
    """Single-head self-attention across channels, as in the authors' ``MSAModule``.

    Each channel is one token whose feature is its pooled grid (``embed`` values).
    Query, key, value and output projections are bias-free linear maps.

    Shape:
        (N, C, embed) -> (N, C, embed).
    """

    def __init__(self, embed: int) -> None:
        super().__init__()
        self.query = nn.Linear(embed, embed, bias=False)
        self.key = nn.Linear(embed, embed, bias=False)
        self.value = nn.Linear(embed, embed, bias=False)
        self.out = nn.Linear(embed, embed, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.out(F.scaled_dot_product_attention(self.query(tokens), self.key(tokens), self.value(tokens)))


class TCRM(nn.Module):
    """Channel gate from a transformer over locally pooled channel descriptors.

    Every channel is average-pooled to a ``grid`` x ``grid`` map (4 x 4 in the
    paper and code, an embedding of 16), the C descriptors attend to each other
    (one head, as in the authors' code; the paper says "multi-head"), are
    averaged to one number per channel, and pass a bottleneck gate
    (1x1 conv C -> C/r, PReLU, 1x1 conv C/r -> C, sigmoid) that rescales the
    input channels.

    Args:
        channels: C.
        grid: side of the pooled grid (embedding = grid**2).
        reduction: r, the gate's bottleneck ratio (16).

    Shape:
        (N, C, H, W) -> (N, C, H, W); any H, W >= 1.
    """

    def __init__(self, channels: int, grid: int = 4, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.pool = nn.AdaptiveAvgPool2d(grid)
        self.attention = ChannelSelfAttention(grid * grid)
        self.gate = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False),
            nn.PReLU(),
            nn.Conv2d(hidden, channels, 1, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[:2]
        tokens = self.pool(x).reshape(n, c, -1)
        descriptor = self.attention(tokens).mean(-1).reshape(n, c, 1, 1)
        return x * self.gate(descriptor)
