"""The bundled checkpoints: registered digests, refusal of tampered copies, held-out accuracy."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import pytest

from hprn_geo.errors import CheckpointError
from hprn_geo.evaluate import evaluate_checkpoint
from hprn_geo.registry import available_models, load_bundled, load_checkpoint, sha256

WEIGHTS = resources.files("hprn_geo") / "weights"
INDEX = json.loads((WEIGHTS / "index.json").read_text())
BUNDLED = sorted(INDEX)


def test_vnir31_and_rosis103_are_bundled() -> None:
    assert {"vnir31", "rosis103"} <= set(BUNDLED)


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_checkpoint_matches_its_digest_and_card(name: str) -> None:
    entry = INDEX[name]
    with resources.as_file(WEIGHTS / entry["file"]) as path:
        assert sha256(path) == entry["sha256"]
        assert path.stat().st_size < 5_000_000
    checkpoint = load_bundled(name)
    card = checkpoint.card
    assert card == available_models()[name]
    assert card.trained and card.preset == "compact" and card.bands == checkpoint.model.bands
    assert card.patch_size == 64 and str(card.tile) in card.scores["tile_sweep"]
    assert card.scores["protocol"]["hardware"] == "CPU"
    held_out = set(card.scores["protocol"]["test"]) | set(card.validation_data)
    assert not held_out & set(card.training_data)
    for scene in card.scores["protocol"]["test"]:
        assert {"hprn", "ridge", "knn", "flat"} <= set(card.scores["test"][scene])


@pytest.mark.parametrize("name", BUNDLED)
def test_a_tampered_copy_is_refused(name: str, tmp_path: Path) -> None:
    entry = INDEX[name]
    copy = tmp_path / entry["file"]
    with resources.as_file(WEIGHTS / entry["file"]) as path:
        shutil.copyfile(path, copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256"):
        load_checkpoint(copy, entry["sha256"])


@pytest.mark.slow
@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_model_beats_ridge_on_its_held_out_test_scene(name: str, shared_data: Path) -> None:
    checkpoint = load_bundled(name)
    protocol = checkpoint.card.scores["protocol"]
    evaluation = evaluate_checkpoint(checkpoint, protocol["test"], shared_data)
    for scene, scores in evaluation.scores.items():
        assert scores["hprn"]["mrae"] < scores["ridge"]["mrae"], scene
