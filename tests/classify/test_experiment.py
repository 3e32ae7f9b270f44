"""``hprn-geo classify`` end to end on the real Jasper Ridge cube, and its one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from click.testing import CliRunner

from hprn_geo.classify import INPUTS, ClassifierConfig, SceneFitConfig, class_scores, classify_scene, random_split
from hprn_geo.cli import main
from hprn_geo.errors import DataFileError
from hprn_geo.io.cube import Cube
from hprn_geo.registry import load_bundled

FAST = ["--train-per-class", "10", "--fit-steps", "2", "--epochs", "3", "-q"]


@pytest.fixture(scope="module")
def files(jasper: tuple[Cube, np.ndarray], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Jasper as a .mat cube (key ``Y``, with wavelengths) and a .mat label map (key ``gt``)."""
    cube, labels = jasper
    folder = tmp_path_factory.mktemp("jasper")
    scipy.io.savemat(folder / "cube.mat", {"Y": np.moveaxis(cube.data, 0, -1), "wavelengths": cube.wavelengths[:, None]})
    scipy.io.savemat(folder / "gt.mat", {"gt": labels.astype(np.uint8)})
    scipy.io.savemat(folder / "small_gt.mat", {"gt": labels[:50].astype(np.uint8)})
    scipy.io.savemat(folder / "empty_gt.mat", {"gt": np.zeros_like(labels, np.uint8)})
    split = random_split(labels, 10, seed=7)
    scipy.io.savemat(folder / "tr.mat", {"tr": np.where(split.train, labels, 0).astype(np.uint8)})
    scipy.io.savemat(folder / "ts.mat", {"ts": np.where(split.test, labels, 0).astype(np.uint8)})
    (folder / "wl_bad.txt").write_text("400, 410, oops")
    return {"cube": folder / "cube.mat", "gt": folder / "gt.mat", "small": folder / "small_gt.mat",
            "empty": folder / "empty_gt.mat", "tr": folder / "tr.mat", "ts": folder / "ts.mat",
            "wl_bad": folder / "wl_bad.txt", "folder": folder}  # fmt: skip


def _classify(*args: str) -> object:
    return CliRunner().invoke(main, ["classify", *args])


def _scores_of(confusion: np.ndarray) -> dict:
    """The JSON scores of the truth and predictions (classes 1-4) that ``confusion`` counts."""
    truth, predicted = np.nonzero(confusion)
    counts = confusion[truth, predicted]
    classes = np.arange(1, 5)
    return class_scores(np.repeat(truth + 1, counts), np.repeat(predicted + 1, counts), classes).to_dict()


def test_cli_writes_all_three_inputs_plots_and_is_reproducible(files: dict[str, Path]) -> None:
    out = files["folder"]
    base = ["--cube", str(files["cube"]), "--gt", str(files["gt"]), *FAST, "--seed", "4"]
    first = _classify(*base, "--json", str(out / "a.json"), "--plots", str(out / "plots"))
    assert first.exit_code == 0, first.output
    second = _classify(*base, "--json", str(out / "b.json"))
    assert second.exit_code == 0, second.output
    report = json.loads((out / "a.json").read_text())
    assert json.loads((out / "b.json").read_text()) == report
    test_per_class = [report["split"]["test_per_class"][c] for c in ("1", "2", "3", "4")]
    for name in INPUTS:
        scores = report[name]
        confusion = np.array(scores["confusion"])
        assert confusion.sum(axis=1).tolist() == test_per_class  # scored on the test pixels' true classes
        assert scores == _scores_of(confusion)  # OA, AA, kappa, per class: of these very predictions
        assert scores["kappa"] > 0.05  # above chance: predictions independent of the truth give 0 +- 0.01
    assert report["hsi"]["oa"] > max(test_per_class) / sum(test_per_class)  # beats always guessing the majority
    assert report["split"]["train"] == 40 and report["split"]["test"] == 9960 and report["seed"] == 4
    assert report["reconstruction"]["bands"] == 198 and report["reconstruction"]["mrae"] > 0
    assert report["fit"]["steps"] == 2 and report["classifier"]["epochs"] == 3
    assert {p.name for p in (out / "plots").iterdir()} == {"maps.png", "confusion.png"}
    assert "reconstructed" in first.output and "9960 test pixels" in first.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--cube-key", "nope"], "cube.mat has no array 'nope'; it has: Y, wavelengths"),
        (["--gt-key", "labels"], "gt.mat has no array 'labels'; it has: gt"),
        (["--rgb-bands", "250,16,5"], r"--rgb-bands \[250\] out of range: the cube has bands 1-198"),
        (["--train-per-class", "800"], "class 4 has 753 labelled pixels"),
        (["--model", "rosis103", "--rgb-bands", "53,31,7"], "fixes its RGB input .*drop --rgb-bands"),
    ],
)
def test_cli_one_line_errors(files: dict[str, Path], extra: list[str], message: str) -> None:
    result = _classify("--cube", str(files["cube"]), "--gt", str(files["gt"]), *FAST, *extra)
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and re.search(message, lines[0]), result.stderr


def test_cli_fixed_split_from_two_class_maps(files: dict[str, Path]) -> None:
    out = files["folder"] / "fixed.json"
    result = _classify("--cube", str(files["cube"]), "--gt", str(files["gt"]), "--train-mask", str(files["tr"]),
                       "--test-mask", str(files["ts"]), "--fit-steps", "1", "--epochs", "2", "-q", "--json", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    split = json.loads(out.read_text())["split"]
    assert split["source"] == "fixed: tr.mat / ts.mat" and (split["train"], split["test"]) == (40, 9960)


@pytest.mark.parametrize(
    ("gt", "extra", "message"),
    [
        ("small", [], "the label map is 50x100 but the cube is 100x100"),
        ("empty", [], "no labelled pixel"),
        ("gt", ["--train-mask", "<gt>"], "needs both --train-mask and --test-mask"),
        ("gt", ["--wavelengths", "400,700,nan"], "expects finite numbers"),
        ("gt", ["--wavelengths", "400,700,31"], "gives 31 values but the cube has 198 bands"),
        ("gt", ["--wavelengths", "<wl_bad>"], "not a list of numbers"),
        ("gt", ["--model", "rosis103", "--weights", "x.pt"], "--model or --weights, not both"),
        ("gt", ["--camera", "Canon 40D"], "camera responses are needed"),
    ],
)
def test_cli_label_and_split_errors(files: dict[str, Path], gt: str, extra: list[str], message: str) -> None:
    extra = [str(files[e[1:-1]]) if e.startswith("<") else e for e in extra]
    result = _classify("--cube", str(files["cube"]), "--gt", str(files[gt]), *FAST, *extra)
    assert result.exit_code == 1 and message in result.stderr, result.stderr


def test_checkpoint_on_another_grid_resamples_the_cube(jasper: tuple[Cube, np.ndarray]) -> None:
    """Bundled rosis103 (430-860 nm, 103 bands) on Jasper (198 AVIRIS bands): both HSI inputs on the model's grid."""
    cube, labels = jasper
    result = classify_scene(
        cube, random_split(labels, 10, seed=0), checkpoint=load_bundled("rosis103"),
        classifier=ClassifierConfig(epochs=2), device="cpu",
    )  # fmt: skip
    report = result.to_dict()
    assert report["reconstruction"]["bands"] == 103 and report["fit"] is None
    assert report["reconstruction"]["model"] == "checkpoint 'rosis103'"
    assert any("resampled from 198 bands" in note for note in report["notes"])
    # a trained model: its cross-validated SAM on Jasper is 24.1 degrees, the flat baseline's 30.5 (docs/accuracy.md)
    assert report["reconstruction"]["sam"] < 30


def test_checkpoint_refuses_a_cube_that_is_not_reflectance(jasper: tuple[Cube, np.ndarray]) -> None:
    cube, labels = jasper
    scaled = Cube(cube.data * 10000, cube.wavelengths, name="dn")
    with pytest.raises(DataFileError, match="does not look like reflectance .* --scale"):
        classify_scene(scaled, random_split(labels, 10, seed=0), checkpoint=load_bundled("rosis103"))


def test_cube_without_wavelengths_needs_rgb_bands(jasper: tuple[Cube, np.ndarray]) -> None:
    cube, labels = jasper
    bare = Cube(cube.data, None, name="bare")
    with pytest.raises(DataFileError, match="no wavelengths: give --rgb-bands"):
        classify_scene(bare, random_split(labels, 10, seed=0), fit=SceneFitConfig(steps=1))


def test_simulated_rgb_by_bands_camera_or_default(jasper: tuple[Cube, np.ndarray], shared_data: Path) -> None:
    from hprn_geo.cameras import load_cameras
    from hprn_geo.classify import simulate_rgb

    cube, _ = jasper
    rgb, text = simulate_rgb(cube.data, cube.wavelengths)
    assert text.startswith("bands:26,16,5") and np.array_equal(rgb, cube.data[[25, 15, 4]])
    cameras = load_cameras(shared_data / "srf")
    rgb, text = simulate_rgb(cube.data, cube.wavelengths, camera="Canon 40D", cameras=cameras)
    assert text.startswith("camera:Canon 40D") and rgb.shape == (3, 100, 100) and np.isfinite(rgb).all()
    white, _ = simulate_rgb(np.ones_like(cube.data), cube.wavelengths, camera="Canon 40D", cameras=cameras)
    assert np.allclose(white, 1.0, atol=0.02)  # white -> 1 (the camera's range starts 8.5 nm before the cube's)
    with pytest.raises(DataFileError, match="not both"):
        simulate_rgb(cube.data, cube.wavelengths, (1, 2, 3), "Canon 40D", cameras)
    with pytest.raises(DataFileError, match="--camera needs the cube's wavelengths"):
        simulate_rgb(cube.data, None, camera="Canon 40D", cameras=cameras)


def test_pixels_without_data_leave_the_split(jasper: tuple[Cube, np.ndarray]) -> None:
    cube, labels = jasper
    holes = cube.data.copy()
    holes[:, :10] = np.nan  # ten rows without data
    usable = np.isfinite(holes).all(axis=0)
    split = random_split(labels, 10, seed=0, usable=usable)
    assert not (split.train | split.test)[:10].any()
    result = classify_scene(Cube(holes, cube.wavelengths, name="holes"), split,
                            fit=SceneFitConfig(steps=1, patch=32, pool=2), classifier=ClassifierConfig(epochs=1))  # fmt: skip
    assert result.to_dict()["split"]["test"] == int(usable[labels > 0].sum()) - 40
    # a class whose training pixels all lost their data: one clear error, not a KeyError
    drawn = random_split(labels, 10, seed=0)
    dark = cube.data.copy()
    dark[:, drawn.train & (labels == 4)] = np.nan
    with pytest.raises(DataFileError, match=r"test classes \[4\] have no training pixel with data"):
        classify_scene(Cube(dark, cube.wavelengths, name="dark"), drawn, fit=SceneFitConfig(steps=1))
