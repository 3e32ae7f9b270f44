"""Semantic-driven spatial relation module (SSRM, paper section III-D)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from hprn_geo.model.layers import ReflectConv

__all__ = ["SSRM", "offset_labels", "segment_order"]


def offset_labels(labels: torch.Tensor) -> torch.Tensor:
    """Shift each scale's labels past the previous scales' so no two scales share a value.

    The authors add a fixed ``100 * scale`` offset, which collides as soon as
    one scale has 100 or more segments. Here scale s is offset by the sum of
    (max label + 1) of the scales before it (maxima over the batch), which holds
    whatever number of segments the superpixel method returns.

    Args:
        labels: (N, S, H, W) non-negative integer labels, one map per scale.

    Returns:
        (N, S, H * W) int64 labels, scale s in [offset_s, offset_s + max_s].
    """
    n, s = labels.shape[:2]
    flat = labels.reshape(n, s, -1).long()
    if flat.numel() and int(flat.min()) < 0:
        raise ValueError("semantic labels must be non-negative integers")
    extent = flat.amax(dim=(0, 2)) + 1  # (S,)
    offsets = torch.cumsum(extent, 0) - extent
    return flat + offsets.view(1, s, 1)


def segment_order(labels: torch.Tensor) -> torch.Tensor:
    """Pixel order that groups pixels by segment, scale by scale.

    One stable sort of all scales' offset labels, as in the authors' code:
    since the offsets separate the scales, block s of the sorted sequence holds
    exactly the H * W pixels of scale s.

    Args:
        labels: (N, S, H, W) non-negative integer labels.

    Returns:
        (N, S, H * W) int64 pixel indices (row-major) in segment order.
    """
    n, s, h, w = labels.shape
    keys = offset_labels(labels).reshape(n, s * h * w)
    order = torch.sort(keys, dim=1, stable=True).indices % (h * w)
    return order.reshape(n, s, h * w)


def _padded_order(order: torch.Tensor, window: int) -> torch.Tensor:
    """Pad a (N, L) pixel order to a multiple of ``window`` by repeating its last elements.

    This is the authors' "mirror filling"; when L is shorter than the pad the
    sequence repeats cyclically.
    """
    length = order.shape[1]
    pad = -length % window
    if not pad:
        return order
    tail = torch.arange(length - pad, length, device=order.device) % length
    return torch.cat([order, order[:, tail]], dim=1)


def _gather(tokens: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """(N, L, E) tokens picked in (N, M) ``order`` -> (N, M, E)."""
    return tokens.gather(1, order.unsqueeze(-1).expand(-1, -1, tokens.shape[-1]))


def _neighbourhoods(tokens: torch.Tensor, order: torch.Tensor, window: int) -> torch.Tensor:
    """Each window's tokens with those of the previous and next window (cyclic).

    Gathers the sequence extended by one window at each end and returns an
    overlapping strided view, so no token is copied three times.

    Args:
        tokens: (N, L, E) in pixel order.
        order: (N, M) padded segment order, M = G * window.

    Returns:
        (N, G, 3 * window, E) view: previous, own and next window.
    """
    n, m = order.shape
    extended = _gather(tokens, torch.cat([order[:, -window:], order, order[:, :window]], dim=1))
    e = tokens.shape[-1]
    return extended.as_strided((n, m // window, 3 * window, e), (extended.stride(0), window * e, e, 1))


class SSRM(nn.Module):
    """Sparse non-local attention over pixels grouped by superpixel labels.

    For each superpixel scale, pixels are sorted so that each segment's pixels
    are contiguous, cut into windows of ``window`` pixels, and every pixel
    attends to the pixels of its own window and of the two adjacent windows.
    Query and key come from one shared 3x3 embedding (keys L2-normalised,
    queries not, no temperature), values from a 1x1 projection; the scales'
    outputs are fused by a 1x1 convolution (with bias) and added to the input.
    This follows the authors' ``HPRN.py``; the paper describes two separate
    1x1 embeddings for query and key and a plain softmax (``shared_qk=False``
    gives separate query and key embeddings).

    Args:
        bands: B, channels of the coarse spectral estimate.
        scales: number of superpixels asked of SLIC at each scale (8, 12, 16, 20).
        window: pixels per attention window (64).
        shared_qk: one embedding for query and key (authors' code) or two.

    Shape:
        x (N, B, H, W), labels (N, S, H, W) integer -> (N, B, H, W).
    """

    def __init__(
        self, bands: int, scales: Sequence[int] = (8, 12, 16, 20), window: int = 64, shared_qk: bool = True
    ) -> None:
        super().__init__()
        self.scales = tuple(scales)
        self.window = window
        self.query = ReflectConv(bands, bands, 3)
        self.key = None if shared_qk else ReflectConv(bands, bands, 3)
        self.value = ReflectConv(bands, bands, 1)
        self.fuse = nn.Conv2d(bands * len(self.scales), bands, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        n, b, h, w = x.shape
        if labels.shape != (n, len(self.scales), h, w):
            raise ValueError(f"labels must have shape {(n, len(self.scales), h, w)}, got {tuple(labels.shape)}")
        query = self.query(x).flatten(2).transpose(1, 2)  # (N, L, B)
        key = query if self.key is None else self.key(x).flatten(2).transpose(1, 2)
        key = F.normalize(key, dim=-1, eps=5e-5)  # per token, so before grouping
        value = self.value(x).flatten(2).transpose(1, 2)
        order = segment_order(labels)
        outs = [self._attend(query, key, value, order[:, s]) for s in range(len(self.scales))]
        stacked = torch.stack(outs, dim=1)  # (N, S, L, B)
        fused = stacked.permute(0, 1, 3, 2).reshape(n, -1, h, w)
        return self.fuse(fused) + x

    def _attend(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
        """Windowed attention in one scale's segment order; returns (N, L, B) in pixel order.

        Keys are already L2-normalised. The neighbourhood lists the previous
        window first (the authors list it second); attention does not depend
        on the order of its keys.
        """
        n, length, b = query.shape
        padded = _padded_order(order, self.window)
        q = _gather(query, padded).reshape(n, -1, self.window, b)
        k = _neighbourhoods(key, padded, self.window)
        v = _neighbourhoods(value, padded, self.window)
        out = F.scaled_dot_product_attention(q, k, v, scale=1.0).reshape(n, -1, b)[:, :length]
        return torch.empty_like(out).scatter_(1, order.unsqueeze(-1).expand(-1, -1, b), out)
