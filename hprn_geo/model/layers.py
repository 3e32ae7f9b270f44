"""Convolution building blocks shared by the HPRN modules.

The authors pad every 3x3 convolution with ``nn.ReflectionPad2d``. We do the
same reflection (:func:`reflect_pad`), and also accept sides too short to
reflect (one pixel for a 3x3 kernel), where the edge pixel is repeated, so the
model runs on images of any size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ReflectConv", "reflect_pad"]


def reflect_pad(x: torch.Tensor, pad: int) -> torch.Tensor:
    """Reflection-pad the two spatial axes of ``x`` by ``pad`` pixels.

    Args:
        x: (N, C, H, W) tensor, any memory format.
        pad: pixels added on each side.

    Returns:
        (N, C, H + 2 pad, W + 2 pad), equal to ``nn.ReflectionPad2d(pad)``
        wherever that is defined (H, W > pad); an axis too short to reflect
        repeats its edge pixel instead.
    """
    if pad == 0:
        return x
    h, w = x.shape[-2:]
    if h > pad and w > pad:
        return F.pad(x, (pad, pad, pad, pad), mode="reflect")
    x = F.pad(x, (pad, pad, 0, 0), mode="reflect" if w > pad else "replicate")
    return F.pad(x, (0, 0, pad, pad), mode="reflect" if h > pad else "replicate")


class ReflectConv(nn.Module):
    """Bias-free convolution with reflection padding ("same" output size).

    Args:
        in_channels: C_in.
        out_channels: C_out.
        kernel_size: odd kernel size (3 in the backbone, 1 for projections).

    Shape:
        (N, C_in, H, W) -> (N, C_out, H, W).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.pad = kernel_size // 2
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(reflect_pad(x, self.pad))
