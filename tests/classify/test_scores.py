"""OA, AA and kappa against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from hprn_geo.classify import class_scores, confusion_matrix


def test_hand_checked_example() -> None:
    # classes 3 and 7: truth 3,3,3,3,7,7 ; predicted 3,3,3,7,7,3
    truth = np.array([3, 3, 3, 3, 7, 7])
    predicted = np.array([3, 3, 3, 7, 7, 3])
    classes = np.array([3, 7])
    assert confusion_matrix(truth, predicted, classes).tolist() == [[3, 1], [1, 1]]
    scores = class_scores(truth, predicted, classes)
    assert scores.oa == pytest.approx(4 / 6)
    assert scores.per_class == {3: pytest.approx(0.75), 7: pytest.approx(0.5)}
    assert scores.aa == pytest.approx(0.625)
    chance = (4 * 4 + 2 * 2) / 36  # row sums x column sums
    assert scores.kappa == pytest.approx((4 / 6 - chance) / (1 - chance))


def test_perfect_and_unknown_predictions() -> None:
    truth = np.array([1, 2, 2, 5])
    perfect = class_scores(truth, truth, np.array([1, 2, 5]))
    assert (perfect.oa, perfect.aa, perfect.kappa) == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="not one of the classes"):
        confusion_matrix(truth, np.array([1, 2, 2, 4]), np.array([1, 2, 5]))
