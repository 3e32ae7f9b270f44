"""The blocked holdout holds out whole blocks; the baselines learn from the training pixels only."""

from __future__ import annotations

import numpy as np

from hprn_geo.fit.holdout import blocked_holdout, format_holdout, score_holdout
from hprn_geo.io.cube import Cube


def test_whole_blocks_until_the_share_is_reached(jasper: tuple[Cube, np.ndarray]) -> None:
    valid = np.isfinite(jasper[0].data).all(axis=0) & (jasper[1] != 2)  # everything but water
    held = blocked_holdout(valid, 0.2, 8, seed=3)
    blocks = held[:96, :96].reshape(12, 8, 12, 8)
    assert (blocks.all(axis=(1, 3)) | ~blocks.any(axis=(1, 3))).all()
    share = (held & valid).sum() / valid.sum()
    assert 0.2 <= share < 0.2 + 64 / valid.sum()
    assert not np.array_equal(held, blocked_holdout(valid, 0.2, 8, seed=4))
    assert not blocked_holdout(valid, 0.0, 8).any()


def test_baselines_learn_from_the_training_pixels_only(jasper: tuple[Cube, np.ndarray]) -> None:
    cube = jasper[0].data[::6]  # 33 bands
    rgb = cube[[20, 10, 3]]
    held = blocked_holdout(np.ones(cube.shape[1:], bool), 0.2, 10, seed=0)
    train = np.zeros_like(held)
    train[:50] = ~held[:50]  # the lower half is neither trained on nor scored
    table = score_holdout(cube, cube, rgb, train, held).table()
    assert table["hprn"]["mrae"] == 0 and table["hprn"]["sam"] == 0
    elsewhere = cube.copy()
    elsewhere[:, 50:][:, ~held[50:]] *= 3.0
    assert score_holdout(cube, elsewhere, rgb, train, held).table() == table
    trained = cube.copy()
    trained[:, train] *= 3.0
    assert score_holdout(cube, trained, rgb, train, held).table()["ridge"] != table["ridge"]
    assert format_holdout(table).splitlines()[1].split()[0] == "hprn"
