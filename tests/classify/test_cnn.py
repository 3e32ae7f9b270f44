"""The 11 x 11 patch CNN: the patch is centred on its pixel, a seed fixes the result, maps skip pixels without data."""

from __future__ import annotations

import numpy as np
import pytest

from hprn_geo.classify import ClassifierConfig, PatchCNN, PixelClassifier, random_split
from hprn_geo.io.cube import Cube

FAST = ClassifierConfig(epochs=15)


def test_architecture_three_convs_two_fc() -> None:
    model = PatchCNN(bands=103, classes=9, config=ClassifierConfig())
    convs = [m for m in model.modules() if m.__class__.__name__ == "Conv2d"]
    linears = [m for m in model.modules() if m.__class__.__name__ == "Linear"]
    assert len(convs) == 3 and len(linears) == 2
    assert convs[0].in_channels == 103 and linears[0].in_features == 64 * 5 * 5 and linears[1].out_features == 9
    with pytest.raises(ValueError, match="at least 7"):
        PatchCNN(3, 2, ClassifierConfig(patch=5))
    with pytest.raises(ValueError, match="odd"):
        PatchCNN(3, 2, ClassifierConfig(patch=12))


def test_one_hot_labels_as_input_are_classified_almost_perfectly(jasper: tuple[Cube, np.ndarray]) -> None:
    """If the centre pixel's bands say its class, the CNN must find it: a misaligned patch would fail at every border."""
    _, labels = jasper
    split = random_split(labels, 100, seed=0)
    one_hot = (labels[None] == np.arange(1, 5)[:, None, None]).astype(np.float32)
    fitted = PixelClassifier(one_hot, split.labels, split.train, FAST)
    rows, cols = np.nonzero(split.test)
    assert np.mean(fitted.predict(rows, cols) == labels[rows, cols]) > 0.97  # 0.985 measured
    shifted = np.minimum(cols + 1, labels.shape[1] - 1)  # what a patch off by one column would see
    assert np.mean(fitted.predict(rows, shifted) == labels[rows, cols]) < 0.9  # 0.86


def test_same_seed_same_predictions_and_maps(jasper: tuple[Cube, np.ndarray]) -> None:
    cube, labels = jasper
    split = random_split(labels, 10, seed=3)
    image = cube.data[::20]
    rows, cols = np.nonzero(split.test)
    runs = [PixelClassifier(image, split.labels, split.train, ClassifierConfig(epochs=3, seed=s)) for s in (5, 5, 6)]
    predictions = [run.predict(rows, cols) for run in runs]
    assert np.array_equal(predictions[0], predictions[1])
    assert not np.array_equal(predictions[0], predictions[2])
    valid = np.ones(labels.shape, bool)
    valid[:10] = False
    class_map = runs[0].predict_map(valid)
    assert np.all(class_map[:10] == 0) and set(np.unique(class_map[10:])) <= {1, 2, 3, 4}
    inside = rows >= 10
    assert np.array_equal(class_map[rows[inside], cols[inside]], predictions[0][inside])
