"""Convolution building blocks shared by the HPRN modules.

The authors pad every 3x3 convolution with ``nn.ReflectionPad2d``. We do the
same reflection with slicing and concatenation (:func:`reflect_pad`): the values
are identical, it keeps a ``channels_last`` tensor in that layout (where
``ReflectionPad2d`` falls back to a slow kernel), and it also accepts sides of
one pixel, where reflection is undefined and the edge pixel is repeated.
"""

from __future__ import annotations

import torch
from torch import nn


def _pad_axis(x: torch.Tensor, pad: int, dim: int) -> torch.Tensor:
    size = x.shape[dim]
    if size > pad:
        before = x.narrow(dim, 1, pad).flip(dim)
        after = x.narrow(dim, size - 1 - pad, pad).flip(dim)
    else:  # too short to reflect: repeat the edge pixel
        before = x.narrow(dim, 0, 1).repeat_interleave(pad, dim)
        after = x.narrow(dim, size - 1, 1).repeat_interleave(pad, dim)
    return torch.cat([before, x, after], dim=dim)


def reflect_pad(x: torch.Tensor, pad: int) -> torch.Tensor:
    """Reflection-pad the two spatial axes of ``x`` by ``pad`` pixels.

    Args:
        x: (N, C, H, W) tensor, any memory format.
        pad: pixels added on each side.

    Returns:
        (N, C, H + 2 pad, W + 2 pad), equal to ``F.pad(x, [pad] * 4, mode="reflect")``
        wherever that is defined (H, W > pad); an axis too short to reflect
        repeats its edge pixel instead.
    """
    if pad == 0:
        return x
    return _pad_axis(_pad_axis(x, pad, 3), pad, 2)


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
