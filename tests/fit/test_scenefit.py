"""HPRN fitted on a scene never sees a held-out pixel's spectrum as a target, on the cube's grid or a finer one."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from hprn_geo.classify import CLASSIFY_FIT, classify_scene, random_split
from hprn_geo.errors import DataFileError
from hprn_geo.fit import SceneFitConfig, block_mean, fit_scene_model
from hprn_geo.fit.scenefit import STARTS
from hprn_geo.evaluate.baselines import KNNBaseline
from hprn_geo.model.init import LOOKUP_NEIGHBOURS
from hprn_geo.io.cube import Cube

TINY = SceneFitConfig(patch=32, batch_size=2, steps=3, pool=4)


def _inputs(jasper: tuple[Cube, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cube, labels = jasper
    hsi = cube.data[::4, :48, :48] / np.float32(0.4)  # 50 of the 198 bands, for speed
    return hsi[[6, 4, 1]].copy(), hsi, random_split(labels[:48, :48], 5, seed=0).test


def _finer(rgb: np.ndarray, hsi: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The RGB kept at 48 x 48, the cube averaged to 24 x 24 (k = 2), test pixels where all four are."""
    return rgb, block_mean(hsi, 2), block_mean(test[None].astype(np.float32), 2)[0] == 1


@pytest.mark.parametrize("factor", [1, 2])
def test_test_spectra_do_not_change_the_fitted_model(jasper: tuple[Cube, np.ndarray], factor: int) -> None:
    rgb, hsi, test = _inputs(jasper) if factor == 1 else _finer(*_inputs(jasper))
    garbage = hsi.copy()
    garbage[:, test] = np.random.default_rng(0).uniform(0, 5, size=(hsi.shape[0], int(test.sum())))
    fits = [fit_scene_model(rgb, cube, ~test, np.arange(50.0), "bands:7,5,2", TINY) for cube in (hsi, garbage)]
    states = [fit.model.state_dict() for fit in fits]
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    # ... while a change outside the test split does change it
    moved = hsi.copy()
    moved[:, ~test] *= 1.5
    other = fit_scene_model(rgb, moved, ~test, np.arange(50.0), "bands:7,5,2", TINY).model.state_dict()
    assert not all(torch.equal(states[0][k], other[k]) for k in states[0])
    assert fits[0].card.training_data == ("this scene, test split excluded",) and fits[0].card.bands == 50


def test_nothing_to_train_on_is_an_error(jasper: tuple[Cube, np.ndarray]) -> None:
    rgb, hsi, _ = _inputs(jasper)
    with pytest.raises(DataFileError, match="no pixel outside the test split"):
        fit_scene_model(rgb, hsi, np.zeros(hsi.shape[1:], bool), np.arange(50.0), "bands:7,5,2", TINY)


def test_block_mean_and_grids_that_do_not_divide(jasper: tuple[Cube, np.ndarray]) -> None:
    rgb, hsi, _ = _inputs(jasper)
    assert np.allclose(block_mean(rgb, 2)[:, 3, 5], rgb[:, 6:8, 10:12].mean(axis=(1, 2)), atol=1e-6)
    with pytest.raises(ValueError, match="not a whole multiple"):
        fit_scene_model(rgb, hsi[:, :20, :20], np.ones((20, 20), bool), np.arange(50.0), "bands:7,5,2", TINY)


def test_nodata_is_no_target(jasper: tuple[Cube, np.ndarray]) -> None:
    """A cube pixel without data, or whose photo pixels are not all data, trains like a pixel that is no target."""
    rgb, hsi, _ = _finer(*_inputs(jasper))
    rgb[:, 13, 20] = np.nan  # one photo pixel of cube pixel (6, 10)
    holes = hsi.copy()
    holes[:, 2:6, 3:9] = np.nan
    holes[:, 6, 10] = 7.0  # a value no model should learn, in a cube pixel the photo does not fully see
    everything, excluded = np.ones(hsi.shape[1:], bool), np.ones(hsi.shape[1:], bool)
    excluded[2:6, 3:9] = excluded[6, 10] = False
    fits = [fit_scene_model(rgb, holes, everything, np.arange(50.0), "bands:7,5,2", TINY),
            fit_scene_model(rgb, hsi, excluded, np.arange(50.0), "bands:7,5,2", TINY)]  # fmt: skip
    states = [fit.model.state_dict() for fit in fits]
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    trained = fit_scene_model(rgb, hsi, everything, np.arange(50.0), "bands:7,5,2", TINY).model.state_dict()
    assert not all(torch.equal(states[0][k], trained[k]) for k in states[0])  # those pixels do count when they hold data


@pytest.mark.parametrize(("command", "options"), [("fit", {"preset": "--preset", "steps": "--steps", "patch": "--patch",
                                                           "batch_size": "--batch-size", "start": "--start"}),
                                                  ("classify", {"preset": "--preset", "steps": "--fit-steps"})])
def test_the_commands_fit_with_the_recipe_their_help_names(command: str, options: dict[str, str]) -> None:
    from hprn_geo.cli import main

    params = {p.opts[0]: p for p in main.commands[command].params}
    recipe = SceneFitConfig() if command == "fit" else CLASSIFY_FIT
    for field, flag in options.items():
        assert params[flag].help.endswith(f"[default: the fit recipe's, {getattr(recipe, field)}].")
    if "start" in options:
        assert tuple(params["--start"].type.choices) == STARTS
    else:  # classify fits from the linear start (CLASSIFY_FIT), the recipe's but for that
        assert recipe == SceneFitConfig(start="linear") != SceneFitConfig()
        assert inspect.signature(classify_scene).parameters["fit"].default == recipe


def test_replace_applies_the_given_options_and_keeps_the_recipe_for_unset_ones() -> None:
    config = SceneFitConfig().replace(preset="compact", steps=None, seed=3)
    assert config == SceneFitConfig(preset="compact", seed=3)
    assert config.steps == SceneFitConfig.steps


def test_the_lookup_start_trains_from_the_training_pixels_lookup(jasper: tuple[Cube, np.ndarray]) -> None:
    """``start="lookup"`` (the recipe's): a lookup-table network started at the kNN of the training pixels (test
    pixels excluded), the card says so; ``start="linear"`` has no table."""
    rgb, hsi, test = _inputs(jasper)
    untrained = TINY.replace(start="lookup", steps=1, lr=1e-12, warmup=0)  # one step that moves nothing
    fitted = fit_scene_model(rgb, hsi, ~test, np.arange(50.0), "bands:7,5,2", untrained)
    expected = KNNBaseline(k=LOOKUP_NEIGHBOURS).fit(rgb[:, ~test], hsi[:, ~test])
    grid = np.array([(r, g) for r in range(40, 50) for g in range(30, 40)]) / 127  # grid points of the 128 x 128 table
    image = np.stack([grid[:, 0], grid[:, 1], 1 - grid.sum(1)])  # brightness 1
    with torch.no_grad():
        out = fitted.model.lookup(torch.from_numpy(image[None, :, None]).float())[0, :, 0].numpy()
    np.testing.assert_allclose(out, expected.predict(image), rtol=1e-3, atol=1e-5)
    assert fitted.card.scores["start"] == "lookup"
    assert SceneFitConfig().start == "lookup"
    linear = fit_scene_model(rgb, hsi, ~test, np.arange(50.0), "bands:7,5,2", TINY.replace(start="linear"))
    assert linear.model.lookup is None and linear.card.scores["start"] == "linear"
    with pytest.raises(ValueError, match="start must be one of linear, affine, lookup; got 'auto'"):
        SceneFitConfig(start="auto")


def test_the_affine_start_is_the_relative_least_squares_map_with_a_constant(jasper: tuple[Cube, np.ndarray]) -> None:
    """``start="affine"``: the untrained network is ``A^T [r, g, b, 1]``, A fitted to the training pixels
    relative to their truth (floor as the recipe's), the constant in SSRM's fusion bias."""
    rgb, hsi, test = _inputs(jasper)
    untrained = TINY.replace(start="affine", steps=1, lr=1e-12, warmup=0)
    fitted = fit_scene_model(rgb, hsi, ~test, np.arange(50.0), "bands:7,5,2", untrained)
    ones = lambda x: np.vstack([x, np.ones((1, x.shape[1]))])  # noqa: E731
    x, y = ones(rgb[:, ~test]).T.astype(np.float64), hsi[:, ~test].T.astype(np.float64)
    band = 20
    scale = 1.0 / np.maximum(np.abs(y[:, band]), untrained.init_floor)
    weights = np.linalg.lstsq(x * scale[:, None], y[:, band] * scale, rcond=None)[0]  # (4,)
    with torch.no_grad():
        out = fitted.model(torch.from_numpy(rgb[None]))[0, band].numpy()
    np.testing.assert_allclose(out, np.einsum("c,chw->hw", weights, ones(rgb.reshape(3, -1)).reshape(4, 48, 48)), rtol=1e-3, atol=1e-4)
    assert abs(weights[3]) > 1e-3 and fitted.card.scores["start"] == "affine"  # a constant that matters
