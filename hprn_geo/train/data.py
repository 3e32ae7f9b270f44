"""Training data: the renderer a config asks for, and pools of training
patches (their SLIC prior computed once; the RGB of a patch is re-rendered deterministically from its
stored seed, so the pool stays small). Scenes and RGB rendering are :mod:`hprn_geo.scenes`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hprn_geo.cameras import PhotoDegradation
from hprn_geo.errors import DataFileError
from hprn_geo.model import slic_labels
from hprn_geo.sensors import load_responses
from hprn_geo.scenes import InputConvention, RGBRenderer, Scene, camera_folder, patch_positions, random_dihedral
from hprn_geo.train.config import TrainConfig

__all__ = ["PatchPool", "renderer_for"]


def renderer_for(config: TrainConfig) -> RGBRenderer:
    """The renderer (fixed convention and training augmentation) a config asks for."""
    convention = InputConvention(config.camera, config.rgb_bands)
    needs_cameras = convention.camera is not None or bool(config.augment_cameras)
    cameras = load_responses(camera_folder(config.srf_dir, config.data_dir)) if needs_cameras else None
    return RGBRenderer(
        convention,
        config.wavelengths,
        cameras,
        config.augment_cameras,
        config.fixed_camera_fraction,
        config.noise_std,
        PhotoDegradation(config.white_balance_std, config.gamma_range, config.quantize_fraction, config.blur_sigma),
        config.holdout_cameras,
    )


@dataclass(frozen=True)
class PatchPool:
    """Training patches with their semantic prior, computed once.

    Patch i is ``exposure[i] * tilt_i(wavelength) * scenes[scene[i]].cube[:, row[i]:+P, col[i]:+P]``
    with RGB ``renderer.training(target, default_rng(seed[i]))``; ``labels[i]`` is the SLIC prior of
    exactly that RGB. The spectral tilt ``exp(tilt[i, 0] * x + tilt[i, 1] * (x**2 - 1/3))``, ``x`` the
    wavelength mapped to [-1, 1] over the grid, changes target and RGB together.

    Attributes:
        scene, row, col, seed: (N,) int64.
        exposure: (N,) float32.
        tilt: (N, 2) float32 spectral tilt coefficients (zeros: none).
        labels: (N, S, P, P) int16 SLIC labels, or (N, 0, P, P) for a model without SSRM.
    """

    scene: np.ndarray
    row: np.ndarray
    col: np.ndarray
    seed: np.ndarray
    exposure: np.ndarray
    tilt: np.ndarray
    labels: np.ndarray

    @property
    def size(self) -> int:
        """P, the patch side."""
        return int(self.labels.shape[-1])

    def __len__(self) -> int:
        return int(self.scene.size)

    @classmethod
    def build(
        cls,
        scenes: Sequence[Scene],
        renderer: RGBRenderer,
        count: int,
        size: int,
        scales: Sequence[int],
        exposure: tuple[float, float],
        rng: np.random.Generator,
        weights: str = "positions",
        tilt: float = 0.0,
    ) -> PatchPool:
        """Draw ``count`` patches over the valid positions of ``scenes``.

        ``weights="positions"``: uniformly over all positions of all scenes;
        ``"pixels"``: a scene in proportion to its valid pixels, then a position in it uniformly.
        ``tilt``: standard deviation of the spectral tilt's two coefficients (0: none).

        Raises:
            DataFileError: no scene has a fully valid ``size x size`` window.
        """
        positions = [patch_positions(scene.valid, size) for scene in scenes]
        owner = np.concatenate([np.full(len(p), i) for i, p in enumerate(positions)])
        if owner.size == 0:
            raise DataFileError(f"no training scene has a {size}x{size} window with data; lower patch_size")
        everywhere = np.concatenate(positions)
        if weights == "pixels":
            share = np.array([scene.valid.sum() if len(p) else 0 for scene, p in zip(scenes, positions)], np.float64)
            per_position = (share / share.sum() / np.maximum([len(p) for p in positions], 1))[owner]
            picked = rng.choice(owner.size, size=count, p=per_position / per_position.sum())
        else:
            picked = rng.integers(owner.size, size=count)
        pool = cls(
            scene=owner[picked].astype(np.int64),
            row=everywhere[picked, 0].astype(np.int64),
            col=everywhere[picked, 1].astype(np.int64),
            seed=rng.integers(2**62, size=count),
            exposure=rng.uniform(*exposure, size=count).astype(np.float32),
            tilt=(rng.normal(0.0, tilt, size=(count, 2)) if tilt else np.zeros((count, 2))).astype(np.float32),
            labels=np.zeros((count, len(scales), size, size), np.int16),
        )
        if scales:
            for i in range(count):
                pool.labels[i] = slic_labels(pool.patch(i, scenes, renderer)[0][:3], scales)
        return pool

    def patch(self, i: int, scenes: Sequence[Scene], renderer: RGBRenderer) -> tuple[np.ndarray, np.ndarray]:
        """Patch i: (rgb (3, P, P), target (B, P, P)) float32."""
        rows, cols = slice(self.row[i], self.row[i] + self.size), slice(self.col[i], self.col[i] + self.size)
        target = scenes[self.scene[i]].cube[:, rows, cols] * self.exposure[i]
        if self.tilt[i].any():
            grid = renderer.wavelengths
            x = 2.0 * (grid - grid.min()) / max(np.ptp(grid), 1e-9) - 1.0
            target = target * np.exp(self.tilt[i, 0] * x + self.tilt[i, 1] * (x**2 - 1.0 / 3.0)).astype(np.float32)[:, None, None]
        return renderer.training(target, np.random.default_rng(int(self.seed[i]))), target

    def batch(
        self, indices: Sequence[int], scenes: Sequence[Scene], renderer: RGBRenderer, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Patches ``indices``, each rotated by a random multiple of 90 degrees and maybe mirrored.

        Returns:
            rgb (N, 3, P, P), target (N, B, P, P) float32 and labels (N, S, P, P) int64.
        """
        turned = [random_dihedral((*self.patch(i, scenes, renderer), self.labels[i]), rng) for i in indices]
        rgbs, targets, labels = (np.stack(arrays) for arrays in zip(*turned))
        return (
            np.ascontiguousarray(rgbs, np.float32),
            np.ascontiguousarray(targets, np.float32),
            np.ascontiguousarray(labels, np.int64),
        )

    def save(self, path: str | Path) -> None:
        """Write the pool as an ``.npz``."""
        np.savez_compressed(path, **{name: getattr(self, name) for name in self.__dataclass_fields__})

    @classmethod
    def load(cls, path: str | Path) -> PatchPool:
        """Read a pool written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            return cls(**{name: data[name] for name in cls.__dataclass_fields__})
