"""Training and test pixels of a labelled scene: a fixed split from files, or a seeded per-class draw."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hprn_geo.errors import DataFileError

__all__ = ["Split", "fixed_split", "random_split"]


@dataclass(frozen=True)
class Split:
    """Which labelled pixels train the classifier and which score it.

    Attributes:
        labels: (H, W) int64 class ids, 0 = unlabelled.
        train: (H, W) bool training pixels (all labelled).
        test: (H, W) bool test pixels (all labelled, disjoint from ``train``).
        source: how the split was made, e.g. ``"fixed: TR.mat / TS.mat"``.
        seed: the seed of a random split, None for a fixed one.
    """

    labels: np.ndarray
    train: np.ndarray
    test: np.ndarray
    source: str
    seed: int | None = None

    @property
    def classes(self) -> np.ndarray:
        """(K,) the class ids with training pixels, ascending."""
        return np.unique(self.labels[self.train])

    def counts(self) -> dict[str, dict[str, int]]:
        """Pixels per class (ids as strings, JSON-ready) in ``train`` and ``test``."""
        return {
            part: {str(c): int(np.count_nonzero(self.labels[mask] == c)) for c in self.classes}
            for part, mask in (("train", self.train), ("test", self.test))
        }

    def restricted(self, valid: np.ndarray) -> Split:
        """The same split without the pixels where ``valid`` (H, W) is False (no data).

        Raises:
            DataFileError: a test class is left without a training pixel.
        """
        split = Split(self.labels, self.train & valid, self.test & valid, self.source, self.seed)
        _check_trained(split.labels, split.train, split.test)
        return split


def _check_labels(labels: np.ndarray, shape: tuple[int, int] | None, name: str = "the label map") -> np.ndarray:
    labels = np.asarray(labels)
    if shape is not None and labels.shape != tuple(shape):
        raise DataFileError(f"{name} is {labels.shape[0]}x{labels.shape[1]} but the cube is {shape[0]}x{shape[1]}")
    if not np.any(labels > 0):
        raise DataFileError(f"{name} has no labelled pixel (all 0 = unlabelled)")
    return labels.astype(np.int64)


def _check_trained(labels: np.ndarray, train: np.ndarray, test: np.ndarray) -> None:
    untrained = sorted({int(c) for c in np.unique(labels[test])} - {int(c) for c in np.unique(labels[train])})
    if untrained:
        raise DataFileError(f"test classes {untrained} have no training pixel with data")
    if not train.any() or not test.any():
        raise DataFileError("no training or no test pixel has data in every band")


def _usable(usable: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    return np.ones(shape, bool) if usable is None else np.asarray(usable, bool)


def fixed_split(
    labels: np.ndarray,
    train_map: np.ndarray,
    test_map: np.ndarray,
    shape: tuple[int, int] | None = None,
    source: str = "fixed",
    usable: np.ndarray | None = None,
) -> Split:
    """A split from two class maps (like Pavia's ``TRpavia_fixed`` / ``TSpavia_fixed``): their pixels > 0.

    The maps' classes are authoritative for their pixels: where the ground
    truth labels a pixel too it must agree; where it leaves the pixel
    unlabelled the map's class is used (Pavia's standard training set has
    1,147 such pixels), and the report's ``source`` says how many.

    Args:
        labels: (H, W) ground truth, 0 = unlabelled.
        train_map, test_map: (H, W) class maps of the training and test pixels.
        shape: the cube's (H, W), checked against every map.
        source: a description for the report.
        usable: (H, W) bool pixels with data; the others leave the split.

    Raises:
        DataFileError: shapes differ, nothing is labelled, the two maps share
            pixels, a map's class contradicts the ground truth, or a test class
            has no training pixel with data.
    """
    labels = _check_labels(labels, shape).copy()
    maps = [_check_labels(values, labels.shape, f"the {name} split") for name, values in (("train", train_map), ("test", test_map))]
    shared = np.count_nonzero((maps[0] > 0) & (maps[1] > 0))
    if shared:
        raise DataFileError(f"the train and test splits share {shared} pixels")
    filled = 0
    for name, values in zip(("train", "test"), maps):
        inside = values > 0
        disagree = np.count_nonzero(inside & (labels > 0) & (values != labels))
        if disagree:
            raise DataFileError(f"the {name} split contradicts the label map at {disagree} labelled pixels")
        extra = inside & (labels == 0)
        labels[extra], filled = values[extra], filled + int(extra.sum())
    if filled:
        source += f" ({filled} split pixels unlabelled in the label map take the split's class)"
    return Split(labels, maps[0] > 0, maps[1] > 0, source).restricted(_usable(usable, labels.shape))


def random_split(
    labels: np.ndarray, per_class: int, seed: int, shape: tuple[int, int] | None = None, usable: np.ndarray | None = None
) -> Split:
    """``per_class`` random training pixels of every class; all other labelled pixels are test pixels.

    Only ``usable`` (H, W) pixels (those with data; default all) are drawn or tested.

    Raises:
        DataFileError: shapes differ, nothing is labelled, or a class has no
            more than ``per_class`` usable pixels (one at least must be left to test).
    """
    labels = _check_labels(labels, shape)
    if per_class < 1:
        raise DataFileError(f"--train-per-class must be at least 1, got {per_class}")
    usable = _usable(usable, labels.shape)
    rng = np.random.default_rng(seed)
    train = np.zeros(labels.shape, bool)
    for c in np.unique(labels[labels > 0]):
        pixels = np.flatnonzero((labels == c) & usable)
        if pixels.size <= per_class:
            raise DataFileError(
                f"class {c} has {pixels.size} labelled pixels with data; {per_class} per class for training "
                f"needs at least {per_class + 1} (one left to test)"
            )
        train.flat[rng.choice(pixels, per_class, replace=False)] = True
    return Split(labels, train, (labels > 0) & usable & ~train, f"random: {per_class} per class", seed)
