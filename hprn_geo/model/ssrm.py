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


def _tokens(x: torch.Tensor) -> torch.Tensor:
    """(N, E, H, W) -> (N * H * W, E): one row per pixel (a view when ``x`` is channels-last)."""
    n, e, h, w = x.shape
    return x.permute(0, 2, 3, 1).reshape(n * h * w, e)


def _neighbourhood_index(padded: torch.Tensor, window: int) -> torch.Tensor:
    """Row indices of each window's tokens followed by those of the previous and next window (cyclic).

    Args:
        padded: (N, M) padded segment order as flat token rows, M = G * window.

    Returns:
        (N * G * 3 * window,) row indices: own, previous and next window of each window in turn.
    """
    windows = padded.view(padded.shape[0], -1, window)
    return torch.cat([windows, windows.roll(1, 1), windows.roll(-1, 1)], dim=2).reshape(-1)


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
        query = _tokens(self.query(x))  # (N * L, B)
        key = query if self.key is None else _tokens(self.key(x))
        key = F.normalize(key, dim=-1, eps=5e-5)  # per token, so before grouping
        value = _tokens(self.value(x))
        rows = segment_order(labels) + torch.arange(n, device=x.device).view(n, 1, 1) * (h * w)  # (N, S, L)
        fused = torch.empty(n * h * w, len(self.scales), b, dtype=query.dtype, device=x.device)
        for s in range(len(self.scales)):
            fused[:, s].index_copy_(0, rows[:, s].reshape(-1), self._attend(query, key, value, rows[:, s]))
        # (N * L, S, B) is the channels-last layout of (N, S * B, H, W): no copy before the fusing conv
        return self.fuse(fused.view(n, h, w, -1).permute(0, 3, 1, 2)) + x

    def _attend(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Windowed attention in one scale's segment order.

        Keys are already L2-normalised. The neighbourhood lists the own window
        first, then the previous and the next (the authors list previous, own,
        next); attention does not depend on the order of its keys.

        Args:
            query, key, value: (N * L, B) token rows.
            rows: (N, L) token rows in segment order.

        Returns:
            (N * L, B): the attended tokens in the order of ``rows``.
        """
        n, length = rows.shape
        b = query.shape[1]
        padded = _padded_order(rows, self.window)
        neighbours = _neighbourhood_index(padded, self.window)
        q = query.index_select(0, padded.reshape(-1)).view(n, -1, self.window, b)
        k = key.index_select(0, neighbours).view(n, -1, 3 * self.window, b)
        v = value.index_select(0, neighbours).view(n, -1, 3 * self.window, b)
        out = F.scaled_dot_product_attention(q, k, v, scale=1.0).reshape(n, -1, b)[:, :length]
        return out.reshape(n * length, b)
