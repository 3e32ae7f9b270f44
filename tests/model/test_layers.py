"""Reflection padding done by slicing equals torch's ReflectionPad2d."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hprn_geo.model.layers import ReflectConv, reflect_pad


@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (1, 4, 2, 2), (1, 1, 9, 3)])
def test_reflect_pad_equals_torch_reflection(shape: tuple[int, ...]) -> None:
    x = torch.randn(*shape)
    assert torch.equal(reflect_pad(x, 1), F.pad(x, (1, 1, 1, 1), mode="reflect"))


def test_reflect_pad_keeps_values_in_channels_last() -> None:
    x = torch.randn(2, 8, 6, 5).contiguous(memory_format=torch.channels_last)
    padded = reflect_pad(x, 1)
    assert padded.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(padded, F.pad(x.contiguous(), (1, 1, 1, 1), mode="reflect"))


def test_one_pixel_sides_repeat_the_edge() -> None:
    x = torch.arange(3.0).view(1, 1, 1, 3)
    padded = reflect_pad(x, 1)
    assert padded.shape == (1, 1, 3, 5)
    assert torch.equal(padded[0, 0, 0], torch.tensor([1.0, 0.0, 1.0, 2.0, 1.0]))
    assert torch.equal(padded[0, 0, 0], padded[0, 0, 2])


def test_reflect_conv_keeps_size() -> None:
    conv = ReflectConv(3, 5, 3)
    assert conv(torch.rand(1, 3, 4, 6)).shape == (1, 5, 4, 6)
    assert conv.conv.bias is None
