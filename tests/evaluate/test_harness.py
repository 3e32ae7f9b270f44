"""The evaluation harness and the ``evaluate`` command on real cubes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hprn_geo.cli.train_commands import evaluate as evaluate_command
from hprn_geo.evaluate import EvalScene, evaluate, evaluate_checkpoint, scene_metrics
from hprn_geo.metrics import mrae
from hprn_geo.predict import PredictOptions, Predictor, pick_device
from hprn_geo.registry import load_checkpoint

pytestmark = pytest.mark.filterwarnings("ignore::hprn_geo.errors.UntrainedModelWarning")

METRICS = {"mrae", "rmse", "sam", "psnr", "ssim"}


def test_a_perfect_method_scores_perfectly_and_means_are_over_scenes() -> None:
    rng = np.random.default_rng(0)
    cube = lambda *shape: rng.uniform(0.1, 1, shape).astype(np.float32)
    scenes = [EvalScene(f"s{i}", cube(3, 9, 8), cube(5, 9, 8)) for i in range(2)]
    truth = {id(s.rgb): s.truth for s in scenes}
    result = evaluate({"oracle": lambda rgb: truth[id(rgb)], "half": lambda rgb: truth[id(rgb)] / 2}, scenes, range(5))
    assert result.scores["s0"]["oracle"]["mrae"] == 0 and result.scores["s1"]["oracle"]["ssim"] == pytest.approx(1)
    assert result.scores["s0"]["half"]["mrae"] == pytest.approx(0.5)
    assert result.mean()["half"]["sam"] == pytest.approx(0, abs=1e-6)


def test_checkpoint_and_baselines_are_scored_on_the_same_scene_and_truth(shared_data: Path, tiny_checkpoint: Path) -> None:
    evaluation = evaluate_checkpoint(
        load_checkpoint(tiny_checkpoint), ["moffett"], shared_data, camera="ntire2020_cie1964", baseline_data=["samson"]
    )
    assert evaluation.methods == ["hprn", "ridge", "knn", "flat"]
    report = json.loads(json.dumps(evaluation.to_dict()))
    scene = evaluation.scenes[0]
    options = PredictOptions(device="auto", prior="skimage", precision="fp32")
    model = Predictor(load_checkpoint(tiny_checkpoint), options)
    assert np.array_equal(evaluation.predictions["hprn"]["moffett"], model.predict_array(scene.rgb), equal_nan=True)
    for method in evaluation.methods:
        scores = report["scenes"]["moffett"][method]
        assert scores == scene_metrics(evaluation.predictions[method]["moffett"], scene)  # against the same truth
        assert report["mean"][method] == scores and set(scores) == METRICS  # one scene: its mean is itself
    scores = report["scenes"]["moffett"]
    assert len({scores[m]["mrae"] for m in evaluation.methods}) == 4  # four methods, four predictions
    assert scores["ridge"]["mrae"] < scores["hprn"]["mrae"]  # fitted on samson, against an untrained model
    assert report["baselines_fitted_on"] == ["samson"] and len(report["wavelengths"]) == 8
    assert report["device"] == str(pick_device("auto"))  # CUDA when present, the CPU here


@pytest.mark.slow
def test_evaluate_command_writes_json_and_plots(shared_data: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    args = ["--weights", str(tiny_checkpoint), "--data", "moffett", "--data-dir", str(shared_data),
            "--rgb-bands", "6,4,1", "--baselines-from", "jasper_ridge", "--json", str(tmp_path / "out.json"),
            "--plots", str(tmp_path / "plots"), "--device", "cpu"]  # fmt: skip
    result = CliRunner().invoke(evaluate_command, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "moffett" in result.output and "ridge" in result.output
    report = json.loads((tmp_path / "out.json").read_text())
    assert set(report["mean"]) == {"hprn", "ridge", "knn", "flat"} and report["device"] == "cpu"
    assert report["input"].startswith("bands:6,4,1")
    plots = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert plots == ["moffett_band_error.png", "moffett_error_map.png", "moffett_spectra.png"]


def test_a_card_without_an_input_convention_needs_one(shared_data: Path, tiny_checkpoint: Path) -> None:
    from hprn_geo.errors import DataFileError

    with pytest.raises(DataFileError, match="does not say how to render RGB"):
        evaluate_checkpoint(load_checkpoint(tiny_checkpoint), ["moffett"], shared_data)


def test_pixels_without_data_are_left_out_of_every_score(shared_data: Path, tiny_checkpoint: Path) -> None:
    evaluation = evaluate_checkpoint(
        load_checkpoint(tiny_checkpoint), ["muufl_sub"], shared_data, rgb_bands=(6, 4, 1), baseline_data=["moffett"]
    )
    scene = evaluation.scenes[0]
    assert 0 < scene.valid.mean() < 1
    for method, scores in evaluation.scores["muufl_sub"].items():
        assert all(np.isfinite(v) for v in scores.values()), method
    ridge = evaluation.predictions["ridge"]["muufl_sub"]
    assert scene_metrics(ridge, scene)["mrae"] == pytest.approx(mrae(ridge[:, scene.valid], scene.truth[:, scene.valid]))
