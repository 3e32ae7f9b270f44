"""Is the photo where the cube says it is? A co-registration check of an RGB + hyperspectral pair:
correlation and sub-pixel shift of the photo against the cube rendered to its colours (docs/fit.md, step 3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.filters import window
from skimage.registration import phase_cross_correlation

__all__ = ["Registration", "check_registration", "render_like"]

TOLERANCE = 0.5
"""A shift above this (cube pixels) is a misregistration worth a warning."""

UPSAMPLE = 20
"""Phase correlation's sub-pixel precision: 1 / UPSAMPLE of a cube pixel."""

ROUNDS = 3
"""Rounds of measure, move back, measure again: the fitted rendering absorbs part of a shift, so
one round falls short of a large one (0.4 of 0.6 pixels on EnMAP; three rounds find 0.65)."""


@dataclass(frozen=True)
class Registration:
    """How well a photo and a cube line up.

    Attributes:
        correlation: Pearson correlation of the photo's brightness and the cube's rendering of it, per cube pixel.
        shift: (rows, cols), cube pixels, by which the photo's content lies displaced against the cube.
    """

    correlation: float
    shift: tuple[float, float]

    @property
    def offset(self) -> float:
        """The shift's length in cube pixels."""
        return float(np.hypot(*self.shift))

    @property
    def misregistered(self) -> bool:
        """Whether the shift exceeds :data:`TOLERANCE`."""
        return self.offset > TOLERANCE

    def to_dict(self) -> dict:
        """JSON-ready."""
        return {"correlation": self.correlation, "shift_rows": self.shift[0], "shift_cols": self.shift[1]}


def render_like(cube: np.ndarray, rgb: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The cube rendered to the photo's colours: the least-squares map of its bands onto rgb's channels.

    Args:
        cube: (B, H, W), NaN allowed outside ``valid``.
        rgb: (3, H, W) on the same grid.
        valid: (H, W) pixels fitted on.

    Returns:
        (3, H, W) float32 (NaN where the cube has none).
    """
    x, y = cube[:, valid].T.astype(np.float64), rgb[:, valid].T.astype(np.float64)
    ridge = 1e-6 * np.trace(x.T @ x) / x.shape[1]  # B can exceed what the pixels determine
    weights = np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ y)  # (B, 3)
    return np.einsum("bc,bhw->chw", weights, cube).astype(np.float32)


def check_registration(cube: np.ndarray, rgb: np.ndarray, valid: np.ndarray) -> Registration:
    """Correlation and sub-pixel shift between a photo and a cube on the cube's grid.

    The shift is refined in :data:`ROUNDS` rounds: the photo is moved back by the shift found so far
    (cubic interpolation), the rendering fitted again, and what is left measured and added.

    Args:
        cube: (B, H, W).
        rgb: (3, H, W) the photo averaged over each cube pixel.
        valid: (H, W) pixels both see.

    Returns:
        The :class:`Registration` (correlation as read, before any moving).
    """
    taper = window("hann", valid.shape)  # no jump at the image border for the DFT to see
    filled = np.where(valid, rgb, rgb[:, valid].mean(axis=1)[:, None, None])
    shift, correlation = np.zeros(2), None
    for _ in range(ROUNDS):
        moved = np.stack([ndimage.shift(channel, -shift, order=3, mode="nearest") for channel in filled])
        rendered, photo = _brightness(render_like(cube, moved, valid), valid), _brightness(moved, valid)
        if correlation is None:
            correlation = float(np.corrcoef(rendered[valid], photo[valid])[0, 1])
        found, _, _ = phase_cross_correlation(rendered * taper, photo * taper, upsample_factor=UPSAMPLE)
        shift = shift - found  # found: how to move the photo onto the rendering, the opposite of its displacement
    return Registration(correlation, (float(shift[0]), float(shift[1])))  # type: ignore[arg-type]


def _brightness(rgb: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(3, H, W) -> (H, W) mean of the channels, minus its mean over ``valid``, 0 elsewhere."""
    mean = rgb.mean(axis=0)
    return np.where(valid, mean - mean[valid].mean(), 0.0)
