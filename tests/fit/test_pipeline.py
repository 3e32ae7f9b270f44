"""``hprn-geo fit`` end to end on a real pair: a normal checkpoint that ``predict`` uses, scored on a blocked holdout."""

from __future__ import annotations

import _thread
import functools
import json
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from click.testing import CliRunner

from hprn_geo.cli import main
from hprn_geo.errors import (
    CheckpointError,
    DataFileError,
    MisregistrationWarning,
    TooFewPixelsError,
)
from hprn_geo.fit.pipeline import FitReport, fit_pair
from hprn_geo.fit.scenefit import SceneFitConfig
from hprn_geo.fit.simulate import SimulatedPair
from hprn_geo.registry import load_checkpoint

from .conftest import SHIFT

QUICK = SceneFitConfig(patch=32, batch_size=2, steps=4, pool=8)


@pytest.fixture(scope="module")
def fitted(enmap_pair: SimulatedPair, tmp_path_factory: pytest.TempPathFactory) -> FitReport:
    """A quick aligned fit of the EnMAP pair (a few steps: the plumbing, not the accuracy)."""
    output = tmp_path_factory.mktemp("fit") / "scene_model.pt"
    return fit_pair(enmap_pair.rgb_path, enmap_pair.cube_path, output, config=QUICK, align=True, holdout=0.25, device="cpu")


def test_the_checkpoint_is_a_normal_one_with_its_card(fitted: FitReport, enmap_pair: SimulatedPair) -> None:
    checkpoint = load_checkpoint(fitted.path)
    card = checkpoint.card
    assert card.name == "scene_model" and card.bands == 91 and card.fwhm is not None and 5 < min(card.fwhm)
    assert "cube.tif" in card.training_data[0] and "rgb.tif" in card.training_data[0] and card.input.startswith("photo:")
    assert set(card.scores["holdout"]) == {"hprn", "ridge", "knn", "flat"} and card.scores["factor"] == 2
    assert json.loads(fitted.path.with_suffix(".json").read_text())["scores"]["holdout"] == card.scores["holdout"]
    assert not Path(f"{fitted.path}.state.pt").exists()
    assert abs(fitted.moved[0] - SHIFT[0]) < 0.2 and abs(fitted.moved[1] - SHIFT[1]) < 0.2
    assert fitted.aligned is not None and fitted.aligned.offset < 0.15
    assert 0.2 < fitted.holdout_pixels / (fitted.holdout_pixels + fitted.train_pixels) < 0.35


def test_predict_uses_the_checkpoint(fitted: FitReport, enmap_pair: SimulatedPair, tmp_path: Path) -> None:
    out = tmp_path / "cube.tif"
    result = CliRunner().invoke(main, ["predict", str(enmap_pair.rgb_path), "-o", str(out), "--weights", str(fitted.path), "-q"])
    assert result.exit_code == 0, result.output
    with rasterio.open(out) as cube, rasterio.open(enmap_pair.rgb_path) as photo:
        assert cube.count == 91 and (cube.width, cube.height, cube.crs) == (photo.width, photo.height, photo.crs)
        assert float(cube.tags(1)["fwhm"]) == pytest.approx(fitted.checkpoint.card.fwhm[0])
        assert np.nanmedian(cube.read(20)) == pytest.approx(np.nanmedian(enmap_pair.truth[19]), rel=0.5)


def test_the_fitted_model_beats_ridge_and_knn_on_the_blocked_holdout(enmap_pair: SimulatedPair, tmp_path: Path) -> None:
    """The fast check, on the 35 visible bands (418-700 nm, what the camera sees) and 120 steps of small patches;
    benchmarks/fit.py measures the whole spectrum with the full recipe (docs/fit.md)."""
    quick = SceneFitConfig(patch=16, steps=120, lr=3e-3, warmup=20, pool=64)
    report = fit_pair(enmap_pair.rgb_path, enmap_pair.cube_path, tmp_path / "m.pt", bands=range(1, 36), config=quick,
                      align=True, holdout=0.25, device="cpu")  # fmt: skip
    ours, table = report.table["hprn"], report.table
    assert ours["mrae"] < 0.8 * min(table["ridge"]["mrae"], table["knn"]["mrae"])
    assert ours["sam"] < min(table["ridge"]["sam"], table["knn"]["sam"])


def test_a_misregistered_photo_is_reported(enmap_pair: SimulatedPair, tmp_path: Path) -> None:
    with pytest.warns(MisregistrationWarning, match="--align"):
        fit_pair(enmap_pair.rgb_path, enmap_pair.cube_path, tmp_path / "m.pt", config=QUICK, holdout=0.0, device="cpu")


@pytest.mark.filterwarnings("ignore::hprn_geo.errors.MisregistrationWarning")
def test_too_few_training_pixels(enmap_pair: SimulatedPair, tmp_path: Path) -> None:
    with pytest.raises(TooFewPixelsError, match="at least 5000"):
        fit_pair(enmap_pair.rgb_path, enmap_pair.cube_path, tmp_path / "m.pt", config=QUICK, min_pixels=5000)


def test_the_command_prints_the_table_and_errors_in_one_line(enmap_pair: SimulatedPair, tmp_path: Path) -> None:
    out = tmp_path / "m.pt"
    pair = ["--rgb", str(enmap_pair.rgb_path), "--cube", str(enmap_pair.cube_path), "-o", str(out)]
    quick = ["--preset", "small", "--patch", "32", "--steps", "2", "--device", "cpu", "-q"]
    result = CliRunner().invoke(main, ["fit", *pair, "--align", "--bands", "1-30", "--plot", str(tmp_path / "s.png"), *quick])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s.png").stat().st_size > 10_000
    assert [line.split()[0] for line in result.stdout.splitlines()[-4:]] == ["hprn", "ridge", "knn", "flat"]
    assert "co-registration: correlation" in result.stderr and "aligned: moved by +0.6" in result.stderr
    assert load_checkpoint(out).card.bands == 30
    for args, message in [
        (["--min-pixels", "5000", "--overwrite"], "at least 5000 are needed"),
        (["--wavelengths", str(tmp_path / "m.json"), "--overwrite"], "not a list of numbers"),
        ([], "exists; pass --overwrite"),
        (["-o", str(tmp_path / "absent" / "m.pt")], "is not a writable folder"),
    ]:
        failed = CliRunner().invoke(main, ["fit", *pair, *quick, *args])
        errors = [line for line in failed.stderr.splitlines() if line.startswith("Error:")]
        assert failed.exit_code == 1 and len(errors) == 1 and message in errors[0], failed.output


@pytest.mark.filterwarnings("ignore::hprn_geo.errors.MisregistrationWarning")
def test_an_interrupted_fit_resumes_to_the_same_model(enmap_pair: SimulatedPair, tmp_path: Path) -> None:
    config = replace(QUICK, steps=20)  # the state is saved after every step
    run = functools.partial(fit_pair, enmap_pair.rgb_path, enmap_pair.cube_path, config=config, holdout=0.0, device="cpu")
    whole = run(tmp_path / "whole.pt").checkpoint.model.state_dict()
    state = tmp_path / "cut.pt.state.pt"
    watcher = threading.Thread(target=_interrupt_when, args=(state,))
    watcher.start()
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "cut.pt")
    watcher.join()
    saved = torch.load(state, weights_only=True)["step"]
    assert 0 < saved < 20 and not (tmp_path / "cut.pt").exists()
    with pytest.raises(CheckpointError, match="other inputs or settings"):
        fit_pair(enmap_pair.rgb_path, enmap_pair.cube_path, tmp_path / "cut.pt", config=replace(config, lr=1e-3),
                 holdout=0.0, device="cpu", resume=True)  # fmt: skip
    resumed = run(tmp_path / "cut.pt", resume=True).checkpoint.model.state_dict()
    assert all(torch.equal(whole[k], resumed[k]) for k in whole) and not state.exists()


def _interrupt_when(path: Path, timeout: float = 60.0) -> None:
    """Ctrl-C the main thread as soon as ``path`` exists."""
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    _thread.interrupt_main()


@pytest.mark.filterwarnings("ignore::hprn_geo.errors.MisregistrationWarning")
def test_a_holdout_mask_on_the_cube_grid(enmap_pair: SimulatedPair, tmp_path: Path) -> None:
    mask = np.zeros((32, 64), np.uint8)
    mask[8:16, 40:56] = 1
    np.save(tmp_path / "mask.npy", mask)
    config = replace(QUICK, steps=1)
    report = fit_pair(enmap_pair.rgb_path, enmap_pair.cube_path, tmp_path / "m.pt", holdout_mask=tmp_path / "mask.npy",
                      config=config, device="cpu")  # fmt: skip
    assert report.holdout_pixels == 128 and report.holdout is not None
    assert {tuple(p) for p in report.holdout.pixels} == {(r, c) for r in range(8, 16) for c in range(40, 56)}
    np.save(tmp_path / "small.npy", mask[:20])
    with pytest.raises(DataFileError, match="holdout mask"):
        fit_pair(enmap_pair.rgb_path, enmap_pair.cube_path, tmp_path / "m.pt", holdout_mask=tmp_path / "small.npy",
                 config=config, device="cpu")  # fmt: skip


def test_a_photo_with_more_bands_is_read_through_its_rgb_bands(enmap_pair: SimulatedPair, tmp_path: Path) -> None:
    """A 4-band photo (an extra band first, then R, G, B) with ``--rgb-bands 2,3,4`` fits exactly as the RGB photo."""
    with rasterio.open(enmap_pair.rgb_path) as src:
        profile, rgb = src.profile, src.read()
    four = tmp_path / "four.tif"
    with rasterio.open(four, "w", **{**profile, "count": 4}) as dst:
        dst.write(np.concatenate([np.full_like(rgb[:1], 200), rgb]))
    quick = ["--cube", str(enmap_pair.cube_path), "--preset", "small", "--patch", "32", "--steps", "2", "--device", "cpu", "-q"]
    tables = []
    for photo, extra in [(enmap_pair.rgb_path, []), (four, ["--rgb-bands", "2,3,4"])]:
        out = tmp_path / f"{Path(photo).stem}.pt"
        result = CliRunner().invoke(main, ["fit", "--rgb", str(photo), "-o", str(out), *extra, *quick])
        assert result.exit_code == 0, result.output
        tables.append(load_checkpoint(out).card.scores["holdout"])
    assert tables[0] == tables[1]
