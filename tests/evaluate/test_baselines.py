"""The classical baselines against behaviour checked by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hprn_geo.evaluate.baselines import (
    FlatBaseline,
    KNNBaseline,
    RidgeBaseline,
    fit_baselines,
)
from hprn_geo.metrics import mrae
from hprn_geo.scenes import InputConvention, RGBRenderer, load_scene

VNIR31 = np.linspace(400.0, 700.0, 31)


def test_ridge_is_exact_on_data_an_affine_map_generated() -> None:
    rng = np.random.default_rng(0)
    weights, offset = rng.normal(size=(3, 31)), rng.normal(size=31)
    rgb = rng.uniform(0, 1, size=(3, 500))
    spectra = weights.T @ rgb + offset[:, None]
    ridge = RidgeBaseline(alpha=1e-12).fit(rgb, spectra)
    test = rng.uniform(0, 1, size=(3, 4, 5))
    np.testing.assert_allclose(ridge.predict(test), np.einsum("cb,chw->bhw", weights, test) + offset[:, None, None], atol=1e-5)


def test_flat_predicts_the_rgb_mean_in_every_band() -> None:
    rng = np.random.default_rng(1)
    grey = rng.uniform(0.05, 0.9, size=200)
    flat = FlatBaseline().fit(np.tile(grey, (3, 1)), np.tile(grey, (7, 1)))
    assert flat.gain == pytest.approx(1.0)
    rgb = np.array([0.2, 0.4, 0.9])[:, None, None] * np.ones((3, 2, 2))
    np.testing.assert_allclose(flat.predict(rgb), 0.5, rtol=1e-6)
    doubled = FlatBaseline().fit(np.tile(grey, (3, 1)), np.tile(2 * grey, (7, 1)))
    assert doubled.gain == pytest.approx(2.0)


def test_knn_returns_a_training_spectrum_scaled_to_the_pixel_brightness() -> None:
    rgb = np.array([[0.2, 0.1], [0.3, 0.3], [0.5, 0.6]])  # two training pixels, different chromaticities
    spectra = np.array([[1.0, 5.0], [2.0, 6.0], [3.0, 7.0]])
    knn = KNNBaseline(k=1).fit(rgb, spectra)
    query = np.array([0.4, 0.6, 1.0])[:, None]  # pixel 0's chromaticity at twice its brightness
    np.testing.assert_allclose(knn.predict(query)[:, 0], 2 * spectra[:, 0], rtol=1e-6)
    both = KNNBaseline(k=2).fit(rgb, spectra).predict(rgb[:, :1])[:, 0]  # both pixels have brightness 1
    np.testing.assert_allclose(both, spectra.mean(axis=1), rtol=1e-6)


def test_baselines_fitted_on_a_real_scene_rank_as_expected(shared_data: Path) -> None:
    renderer = RGBRenderer(InputConvention(rgb_bands=(20, 12, 4)), VNIR31)
    train, test = (load_scene(name, VNIR31, shared_data, edge_clamp_nm=10.0) for name in ("jasper_ridge", "moffett"))
    fitted = fit_baselines(renderer.fixed(train.cube).reshape(3, -1), train.cube.reshape(31, -1))
    rgb = renderer.fixed(test.cube)
    scores = {name: mrae(b.predict(rgb), test.cube) for name, b in fitted.items()}
    assert scores["ridge"] < scores["flat"]
    assert all(np.isfinite(v) for v in scores.values())
