"""The bundled checkpoints: registered digests, the cross-validation on their cards (refusal of modified copies:
test_registry.py)."""

from __future__ import annotations

import copy
import dataclasses
import json
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from hprn_geo.errors import WeakModelWarning
from hprn_geo.predict import PredictOptions, Predictor
from hprn_geo.registry import Checkpoint, available_models, load_bundled, sha256
from hprn_geo.train import load_config
from hprn_geo.scenes import scene_name
from hprn_geo.train.loop import protocol

WEIGHTS = resources.files("hprn_geo") / "weights"
INDEX = json.loads((WEIGHTS / "index.json").read_text())
BUNDLED = sorted(INDEX)
CONFIGS = Path(__file__).resolve().parents[1] / "configs"
WEAK: set[str] = set()
"""Bundled models whose cross-validation shows a classical baseline doing better (none since the satellite
models' lookup start; docs/satellites.md)."""


def test_vnir31_rosis103_and_the_satellite_models_are_bundled() -> None:
    satellites = {"sentinel2", "landsat", "pleiades", "spot67"}
    assert {"vnir31", "rosis103", *satellites, *(f"{name}_nir" for name in satellites)} <= set(BUNDLED)


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_checkpoint_matches_its_digest_and_card(name: str) -> None:
    entry = INDEX[name]
    with resources.as_file(WEIGHTS / entry["file"]) as path:
        assert sha256(path) == entry["sha256"]
        assert path.stat().st_size < 5_000_000
    checkpoint = load_bundled(name)
    card = checkpoint.card
    assert card == available_models()[name]
    assert card.trained and card.bands == checkpoint.model.bands
    assert str(card.tile) in card.scores["tile_sweep"]
    assert card.scores["protocol"]["hardware"] == "CPU"


@pytest.mark.parametrize("name", BUNDLED)
def test_the_card_was_trained_by_its_config_on_every_scene(name: str) -> None:
    """The bundled model is the config's recipe, trained on all cross-validated scenes for the chosen steps."""
    card = load_bundled(name).card
    config = load_config(CONFIGS / f"{name}.toml")
    step = int(card.scores["cv"]["method"].rpartition("@")[2])
    expected = protocol(config.replace(steps=step))
    assert card.scores["protocol"] == json.loads(json.dumps(expected))
    assert card.training_data == config.train and card.validation_data == () and card.test_data == ()
    assert card.preset == config.preset and card.patch_size == config.patch_size
    assert card.colour_consistent == card.scores["cv"]["method"].startswith("hprn-cc")


@pytest.mark.parametrize("name", BUNDLED)
def test_the_cv_table_covers_every_scene_and_its_means_add_up(name: str) -> None:
    cv = load_bundled(name).card.scores["cv"]
    config = load_config(CONFIGS / f"{name}.toml")
    own = cv["own"]
    assert sorted(own["scenes"]) == sorted(scene_name(scene) for scene in config.train)
    for method in (cv["method"], "ridge", "knn", "flat"):
        for metric in ("mrae", "sam"):
            values = [scores[method][metric] for scores in own["scenes"].values()]
            assert own["mean"][method][metric] == pytest.approx(np.mean(values), rel=1e-9)


@pytest.mark.parametrize("name", BUNDLED)
def test_the_bundled_recipe_beats_every_baseline_in_cross_validation_or_says_so(name: str) -> None:
    """By mean CV MRAE, with SAM no worse than the best baseline's (the choice rule's condition), on the
    scores it was chosen by: its own input convention, or (``vnir31_photo``) a camera it never saw. The
    models of :data:`WEAK` do not, and their cards say so (:meth:`ModelCard.shortfall`)."""
    card = load_bundled(name).card
    cv = card.scores["cv"]
    mean = cv[cv["chosen_by"]]["mean"]
    best = min(("ridge", "knn", "flat"), key=lambda m: mean[m]["mrae"])
    ours = mean[cv["method"]]
    beats = ours["mrae"] < mean[best]["mrae"] and ours["sam"] <= mean[best]["sam"]
    assert beats == (name not in WEAK)
    assert (card.shortfall() is None) == beats


def test_a_model_that_loses_to_a_baseline_warns_when_used() -> None:
    """sentinel2's card with its chosen row's mean CV MRAE set above kNN's warns; the real cards do not."""
    checkpoint = load_bundled("sentinel2")
    scores = copy.deepcopy(checkpoint.card.scores)
    mean = scores["cv"]["own"]["mean"]
    mean[scores["cv"]["method"]]["mrae"] = 2 * mean["knn"]["mrae"]
    weak = Checkpoint(checkpoint.model, dataclasses.replace(checkpoint.card, scores=scores))
    with pytest.warns(WeakModelWarning, match=r"^model 'sentinel2': in cross-validation it does not beat the knn "):
        Predictor(weak, PredictOptions(device="cpu"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", WeakModelWarning)
        for name in set(BUNDLED) - WEAK:
            Predictor(load_bundled(name), PredictOptions(device="cpu"))


def test_models_command_lists_each_model_with_its_cv_score() -> None:
    from click.testing import CliRunner

    from hprn_geo.cli import main

    result = CliRunner().invoke(main, ["models"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    assert set(lines) == set(BUNDLED)
    for name in BUNDLED:
        cv = load_bundled(name).card.scores["cv"]
        mrae = cv[cv["chosen_by"]]["mean"][cv["method"]]["mrae"]
        assert f"CV MRAE {mrae:.3f}" in lines[name]
    assert "(held-out camera)" in lines["vnir31_photo"] and "(held-out camera)" not in lines["vnir31"]
    assert {n for n in BUNDLED if lines[n].endswith("(a baseline does better in CV)")} == WEAK
