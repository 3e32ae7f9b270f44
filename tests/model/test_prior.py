"""The SLIC semantic prior on a real image."""

from __future__ import annotations

import numpy as np
import torch

from hprn_geo.model import PAPER_SCALES, semantic_prior, slic_labels


def test_real_image_gives_one_label_map_per_scale_from_zero(pavia_rgb: np.ndarray) -> None:
    labels = slic_labels(pavia_rgb[:, :256, :256])
    assert labels.shape == (4, 256, 256) and labels.dtype == np.int64
    counts = [len(np.unique(m)) for m in labels]
    assert all(int(m.min()) == 0 for m in labels)
    assert counts[-1] > counts[0]  # more segments asked, more returned
    assert all(2 <= c <= 2 * k for c, k in zip(counts, PAPER_SCALES))


def test_batch_prior_equals_per_image_prior(pavia_rgb: np.ndarray) -> None:
    rgb = torch.from_numpy(np.stack([pavia_rgb[:, :64, :64], pavia_rgb[:, 64:128, :64]]))
    batch = semantic_prior(rgb, (8, 16))
    assert batch.shape == (2, 2, 64, 64) and batch.dtype == torch.int64
    assert np.array_equal(batch[1].numpy(), slic_labels(rgb[1].numpy(), (8, 16)))


def test_values_outside_unit_range_are_clipped(out_of_range_rgb: np.ndarray) -> None:
    clipped = np.clip(out_of_range_rgb, 0.0, 1.0)
    assert np.array_equal(slic_labels(out_of_range_rgb), slic_labels(clipped))
