"""Multi-residual block (MRB) of the HPRN backbone."""

from __future__ import annotations

import torch
from torch import nn

from hprn_geo.model.layers import ReflectConv
from hprn_geo.model.tcrm import TCRM

__all__ = ["MRB"]


class MRB(nn.Module):
    """Four reflection-padded 3x3 convolutions with the authors' residual sums.

    Follows the released ``HPRN.py`` exactly (the paper's Fig. 2 is less
    specific)::

        y = prelu0(conv0(x)); y = prelu1(conv1(y)) + x
        y = prelu2(conv2(y) + x)
        y = prelu3(tcrm(conv3(y)) + x)

    Args:
        channels: C (in = out).
        tcrm: include the TCRM channel gate (False reproduces the "w/o TCRM" ablation).
        grid: TCRM pooled grid side.
        reduction: TCRM gate reduction.

    Shape:
        (N, C, H, W) -> (N, C, H, W).
    """

    def __init__(self, channels: int, tcrm: bool = True, grid: int = 4, reduction: int = 16) -> None:
        super().__init__()
        self.convs = nn.ModuleList(ReflectConv(channels, channels) for _ in range(4))
        self.acts = nn.ModuleList(nn.PReLU() for _ in range(4))
        self.tcrm = TCRM(channels, grid, reduction) if tcrm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv, act = self.convs, self.acts
        y = act[1](conv[1](act[0](conv[0](x)))) + x
        y = act[2](conv[2](y) + x)
        return act[3](self.tcrm(conv[3](y)) + x)
