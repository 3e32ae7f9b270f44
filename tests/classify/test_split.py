"""Fixed splits from the real Pavia split files, seeded random splits, and their errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hprn_geo.classify import fixed_split, random_split
from hprn_geo.errors import DataFileError
from hprn_geo.io.labels import read_label_map

PAVIA_TRAIN = [548, 540, 392, 524, 265, 532, 375, 514, 231]


@pytest.fixture(scope="module")
def pavia(shared_data: Path) -> dict[str, np.ndarray]:
    folder = shared_data / "pavia"
    return {name: read_label_map(folder / f"{name}.mat") for name in ("paviaU_gt", "TRpavia_fixed", "TSpavia_fixed")}


def test_pavia_fixed_split_has_the_standard_sizes(pavia: dict[str, np.ndarray]) -> None:
    split = fixed_split(pavia["paviaU_gt"], pavia["TRpavia_fixed"], pavia["TSpavia_fixed"], (610, 340))
    counts = split.counts()
    assert [counts["train"][str(c)] for c in range(1, 10)] == PAVIA_TRAIN
    assert split.train.sum() == 3921 and split.test.sum() == 40002
    assert not np.any(split.train & split.test)
    assert split.classes.tolist() == list(range(1, 10))
    # the standard training set is not a subset of the ground truth: 1147 of its pixels are 0 there
    assert "1147 split pixels unlabelled in the label map" in split.source
    assert np.array_equal(split.labels[split.train], pavia["TRpavia_fixed"][split.train])


def test_fixed_split_errors(pavia: dict[str, np.ndarray]) -> None:
    gt, tr, ts = pavia["paviaU_gt"], pavia["TRpavia_fixed"], pavia["TSpavia_fixed"]
    with pytest.raises(DataFileError, match="label map is 610x340 but the cube is 600x340"):
        fixed_split(gt, tr, ts, (600, 340))
    with pytest.raises(DataFileError, match="share 3921 pixels"):
        fixed_split(gt, tr, tr)
    wrong = ts.copy()
    wrong[ts == 1] = 2
    with pytest.raises(DataFileError, match="test split contradicts the label map at 6304 labelled pixels"):
        fixed_split(gt, tr, wrong)
    with pytest.raises(DataFileError, match=r"test classes \[9\] have no training pixel"):
        fixed_split(gt, np.where(tr == 9, 0, tr), ts)


def test_random_split_is_reproducible_and_per_class(pavia: dict[str, np.ndarray]) -> None:
    gt = pavia["paviaU_gt"]
    a, b, c = random_split(gt, 30, seed=1), random_split(gt, 30, seed=1), random_split(gt, 30, seed=2)
    assert np.array_equal(a.train, b.train) and not np.array_equal(a.train, c.train)
    assert all(n == 30 for n in a.counts()["train"].values())
    assert a.test.sum() == (gt > 0).sum() - 270 and not np.any(a.train & a.test)
    assert a.seed == 1 and "30 per class" in a.source


def test_random_split_errors(pavia: dict[str, np.ndarray]) -> None:
    gt = pavia["paviaU_gt"]
    with pytest.raises(DataFileError, match="class 9 has 947 labelled pixels with data; 947 per class .* at least 948"):
        random_split(gt, 947, seed=0)
    with pytest.raises(DataFileError, match="no labelled pixel"):
        random_split(np.zeros_like(gt), 5, seed=0)
    with pytest.raises(DataFileError, match="at least 1"):
        random_split(gt, 0, seed=0)
