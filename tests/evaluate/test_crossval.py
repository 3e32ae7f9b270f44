"""Leave-one-scene-out cross-validation (hprn_geo.evaluate.crossval) on real shared cubes, tiny schedule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hprn_geo.evaluate import RidgeBaseline, prepare_scenes
from hprn_geo.evaluate.crossval import cross_validate, fold_config
from hprn_geo.metrics import mrae
from hprn_geo.train import load_config
from hprn_geo.scenes import InputConvention, RGBRenderer, load_scene, training_pairs

SCENES = ["samson", "moffett", "muufl_sub"]


def _recipe(data_dir: Path):
    return load_config(
        None, name="tiny", train=SCENES, validation=[], data_dir=str(data_dir), rgb_bands=[20, 12, 4],
        augment_cameras=[], edge_clamp_nm=19.0, patch_size=16, overlap=4, pool_size=4, batch_size=2, steps=2,
        snapshots=[1], switches={"channels": 8, "blocks": 1, "ssrm": False},
    )  # fmt: skip


def test_a_fold_holds_its_scene_out_and_has_no_validation(shared_data: Path) -> None:
    fold = fold_config(_recipe(shared_data), "moffett")
    assert fold.train == ("samson", "muufl_sub") and fold.validation == () and fold.test == ("moffett",)
    with pytest.raises(ValueError, match="not one of the recipe's scenes"):
        fold_config(_recipe(shared_data), "jasper_ridge")


@pytest.mark.slow
def test_every_fold_is_scored_against_baselines_fitted_on_the_same_scenes(shared_data: Path, tmp_path: Path) -> None:
    recipe = _recipe(shared_data)
    result = cross_validate(recipe, tmp_path, progress=False)
    assert list(result.scores) == SCENES
    assert result.methods[:6] == ["hprn", "hprn-cc", "hprn@1", "hprn-cc@1", "hprn@2", "hprn-cc@2"]
    assert result.methods[6:] == ["flat", "knn", "ridge"]
    for scene in SCENES:
        assert result.scores[scene]["hprn"] == result.scores[scene]["hprn@2"]
        assert result.scores[scene]["hprn-cc"] == result.scores[scene]["hprn-cc@2"]
        assert result.scores[scene]["hprn@1"] != result.scores[scene]["hprn@2"]
        assert result.scores[scene]["hprn-cc@2"] != result.scores[scene]["hprn@2"]
    # the ridge column is a ridge fitted on the two other scenes, scored on the held-out one
    renderer = RGBRenderer(InputConvention(rgb_bands=(20, 12, 4)), recipe.wavelengths)
    others = [load_scene(s, recipe.wavelengths, shared_data, edge_clamp_nm=19.0) for s in ("samson", "muufl_sub")]
    ridge = RidgeBaseline().fit(*training_pairs(others, renderer))
    held = prepare_scenes(["moffett"], renderer, shared_data, edge_clamp_nm=19.0)[0]
    expected = mrae(ridge.predict(held.rgb)[:, held.valid], held.truth[:, held.valid])
    assert result.scores["moffett"]["ridge"]["mrae"] == pytest.approx(expected, rel=1e-6)
    mean = result.mean()
    assert mean["ridge"]["mrae"] == pytest.approx(np.mean([result.scores[s]["ridge"]["mrae"] for s in SCENES]))
    assert "moffett" in result.table() and (tmp_path / "moffett" / "scores.json").is_file()
    # finished folds are reused, not trained again
    stamp = (tmp_path / "moffett" / "model.pt").stat().st_mtime_ns
    again = cross_validate(recipe, tmp_path, scenes=["moffett"], progress=False)
    assert (tmp_path / "moffett" / "model.pt").stat().st_mtime_ns == stamp
    assert again.scores["moffett"] == result.scores["moffett"]
