"""SSRM: label offsets, segment ordering and the locality of its windowed attention."""

from __future__ import annotations

import numpy as np
import torch

from hprn_geo.model import SSRM, offset_labels, segment_order, slic_labels


def test_offsets_from_real_slic_labels_separate_the_scales(pavia_rgb: np.ndarray) -> None:
    labels = torch.from_numpy(slic_labels(pavia_rgb[:, :128, :128]))[None]  # (1, 4, 128, 128)
    shifted = offset_labels(labels)
    extents = [int(labels[0, s].max()) + 1 for s in range(4)]
    start = 0
    for s in range(4):
        assert int(shifted[0, s].min()) == start
        assert int(shifted[0, s].max()) == start + extents[s] - 1
        start += extents[s]


def test_offsets_hold_beyond_a_hundred_segments() -> None:
    # The authors' fixed offset of 100 per scale would collide here.
    labels = torch.stack([torch.arange(150).repeat(2), torch.arange(300) % 7])[None, :, None, :]
    shifted = offset_labels(labels)
    assert int(shifted[0, 0].max()) < int(shifted[0, 1].min())


def test_segment_order_is_a_permutation_sorted_by_label(pavia_rgb: np.ndarray) -> None:
    labels = torch.from_numpy(slic_labels(pavia_rgb[:, 200:260, 100:150]))[None]
    order = segment_order(labels)
    flat = labels.reshape(1, 4, -1)
    for s in range(4):
        assert torch.equal(order[0, s].sort().values, torch.arange(60 * 50))
        assert (flat[0, s, order[0, s]].diff() >= 0).all()


def test_pixels_attend_only_to_their_own_and_adjacent_windows() -> None:
    # 16 x 16 image, one scale, four segments of 64 pixels = four windows of 64.
    # Window 0 attends windows 3, 0, 1: changing the inside of segment 2 must not
    # change segment 0's output, but must change segment 1's (which sees window 2).
    torch.manual_seed(0)
    module = SSRM(bands=6, scales=(4,), window=64).eval()
    labels = (torch.arange(16) // 4).view(16, 1).expand(16, 16)[None, None]
    x = torch.rand(1, 6, 16, 16)
    changed = x.clone()
    changed[:, :, 9:11] += 1.0
    with torch.no_grad():
        a, b = module(x, labels), module(changed, labels)
    assert torch.equal(a[:, :, 0:4], b[:, :, 0:4])
    assert not torch.allclose(a[:, :, 4:7], b[:, :, 4:7])


def test_sequences_shorter_than_a_window_and_ragged_lengths_work() -> None:
    module = SSRM(bands=3, scales=(8, 12), window=64).eval()
    for h, w in [(1, 1), (3, 5), (9, 11)]:
        labels = torch.randint(0, 4, (2, 2, h, w))
        with torch.no_grad():
            out = module(torch.rand(2, 3, h, w), labels)
        assert out.shape == (2, 3, h, w) and torch.isfinite(out).all()


def test_output_depends_on_the_order_of_segments_not_on_label_values() -> None:
    """Segments renumbered in the same order, by another increasing map per scale, give the same output bit
    for bit; renumbered in another order, they share windows differently and the output changes."""
    torch.manual_seed(0)
    module = SSRM(bands=4, scales=(8, 12), window=16).eval()
    labels = torch.randint(0, 5, (1, 2, 12, 12))
    renumbered = torch.stack([labels[:, 0] * 3 + 10, labels[:, 1] + 1], dim=1)
    reordered = 4 - labels
    x = torch.rand(1, 4, 12, 12)
    with torch.no_grad():
        out = module(x, labels)
        assert torch.equal(module(x, renumbered), out)
        assert not torch.allclose(module(x, reordered), out, atol=1e-3)
