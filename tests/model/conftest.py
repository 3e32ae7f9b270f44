"""Fixtures of the model tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture()
def out_of_range_rgb(pavia_rgb: np.ndarray) -> np.ndarray:
    """A (3, 48, 48) float32 Pavia crop with a 10 x 10 block at 5.0 and a 4 x 40 strip at -1.0."""
    rgb = np.ascontiguousarray(pavia_rgb[:, :48, :48]).copy()
    rgb[:, 10:20, 10:20] = 5.0
    rgb[:, 30:34, 0:40] = -1.0
    return rgb
