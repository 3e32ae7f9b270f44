"""The command line: bad input gets one clear line, a non-zero exit, and nothing written."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from click.testing import CliRunner
from rasterio.transform import from_origin

from hprn_geo.cli import main


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hprn_geo.cli", *args], capture_output=True, text=True)


def _error_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert result.returncode != 0, result.stderr
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def _write(path: Path, data: np.ndarray, crs: str | None = "EPSG:32633", nodata: float | None = None) -> Path:
    profile = {"driver": "GTiff", "height": data.shape[1], "width": data.shape[2], "count": data.shape[0],
               "dtype": data.dtype.name, "transform": from_origin(500000, 5800000, 10, 10), "nodata": nodata}
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


@pytest.fixture()
def real_rgb(shared_data: Path) -> np.ndarray:
    """A 96 x 120 uint8 crop of the real Landsat RGB scene (valid pixels)."""
    with rasterio.open(shared_data / "geo" / "RGB.byte.tif") as src:
        return src.read(window=((300, 396), (300, 420)))


@pytest.fixture()
def existing(tmp_path: Path) -> Path:
    """An existing output whose bytes must survive every failed run."""
    path = tmp_path / "out.tif"
    path.write_bytes(b"precious")
    return path


def _untouched(path: Path) -> bool:
    return path.read_bytes() == b"precious" and not list(path.parent.glob("out.tif.*"))


def test_wrong_band_count(tmp_path: Path, real_rgb: np.ndarray, tiny_checkpoint: Path, existing: Path) -> None:
    src = _write(tmp_path / "four.tif", np.concatenate([real_rgb, real_rgb[:1]]))
    line = _error_line(_run("predict", str(src), "-o", str(existing), "--weights", str(tiny_checkpoint), "--overwrite"))
    assert "4 bands" in line and "--rgb-bands" in line
    assert _untouched(existing)


def test_rgb_bands_picks_three_of_four(tmp_path: Path, real_rgb: np.ndarray, tiny_checkpoint: Path) -> None:
    src = _write(tmp_path / "four.tif", np.concatenate([real_rgb[:1], real_rgb]))
    result = _run("predict", str(src), "-o", str(tmp_path / "cube.tif"), "--weights", str(tiny_checkpoint),
                  "--rgb-bands", "2,3,4", "-q")
    assert result.returncode == 0, result.stderr
    with rasterio.open(tmp_path / "cube.tif") as cube:
        assert cube.count == 8


def test_corrupt_file(tmp_path: Path, tiny_checkpoint: Path, existing: Path) -> None:
    src = tmp_path / "broken.tif"
    src.write_bytes(b"II*\x00" + bytes(range(256)) * 8)
    line = _error_line(_run("predict", str(src), "-o", str(existing), "--weights", str(tiny_checkpoint), "--overwrite"))
    assert "broken.tif" in line
    assert _untouched(existing)


def test_missing_crs_warns_and_writes_without_crs(tmp_path: Path, real_rgb: np.ndarray, tiny_checkpoint: Path) -> None:
    src = _write(tmp_path / "nocrs.tif", real_rgb, crs=None)
    result = _run("predict", str(src), "-o", str(tmp_path / "cube.tif"), "--weights", str(tiny_checkpoint), "-q")
    assert result.returncode == 0, result.stderr
    assert f"hprn-geo: warning: {src} has no CRS; the output will be written without one" in result.stderr.splitlines()
    with rasterio.open(tmp_path / "cube.tif") as cube:
        assert cube.crs is None


def test_unsupported_dtype(tmp_path: Path, real_rgb: np.ndarray, tiny_checkpoint: Path, existing: Path) -> None:
    src = _write(tmp_path / "complex.tif", real_rgb.astype(np.complex64))
    line = _error_line(_run("predict", str(src), "-o", str(existing), "--weights", str(tiny_checkpoint), "--overwrite"))
    assert "complex" in line
    assert _untouched(existing)


def test_tile_not_larger_than_twice_the_overlap(shared_data: Path, tiny_checkpoint: Path, existing: Path) -> None:
    src = shared_data / "geo" / "rgb1.tif"
    line = _error_line(_run("predict", str(src), "-o", str(existing), "--weights", str(tiny_checkpoint),
                            "--tile", "64", "--overlap", "32", "--overwrite"))
    assert "overlap" in line
    assert _untouched(existing)


def test_checkpoint_with_other_band_count(shared_data: Path, tiny_checkpoint: Path, existing: Path) -> None:
    line = _error_line(_run("predict", str(shared_data / "geo" / "rgb1.tif"), "-o", str(existing),
                            "--weights", str(tiny_checkpoint), "--bands", "103", "--overwrite"))
    assert "8 bands" in line and "103" in line
    assert _untouched(existing)


class _Payload:
    """Unpickled in full, it creates ``marker``: the code a pickled checkpoint can carry."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return os.mkdir, (str(self.marker),)


def _code_checkpoint(path: Path, marker: Path) -> Path:
    torch.save({"format": "hprn-geo/1", "card": _Payload(marker)}, path)
    return path


def test_a_checkpoint_that_would_run_code_is_refused_and_runs_none(tmp_path: Path, shared_data: Path,
                                                                   existing: Path) -> None:
    torch.load(_code_checkpoint(tmp_path / "live.pt", tmp_path / "ran"), weights_only=False)
    assert (tmp_path / "ran").is_dir()  # the payload is live: a full unpickle runs it
    evil = _code_checkpoint(tmp_path / "evil.pt", tmp_path / "marker")
    line = _error_line(_run("predict", str(shared_data / "geo" / "rgb1.tif"), "-o", str(existing),
                            "--weights", str(evil), "--overwrite"))
    assert not (tmp_path / "marker").exists()
    assert line.startswith(f"Error: {evil} is not a weights-only hprn-geo checkpoint (") and "posix.mkdir" in line
    assert _untouched(existing)


def test_existing_output_needs_overwrite(shared_data: Path, tiny_checkpoint: Path, existing: Path) -> None:
    line = _error_line(_run("predict", str(shared_data / "geo" / "rgb1.tif"), "-o", str(existing),
                            "--weights", str(tiny_checkpoint)))
    assert "--overwrite" in line
    assert _untouched(existing)


def test_output_directory_not_writable(tmp_path: Path, shared_data: Path, tiny_checkpoint: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a directory")
    line = _error_line(_run("predict", str(shared_data / "geo" / "rgb1.tif"), "-o", str(blocker / "cube.tif"),
                            "--weights", str(tiny_checkpoint)))
    assert "cube.tif" in line


def _file_size_limit() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit then fail with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))


def test_disk_full_leaves_existing_output_untouched(shared_data: Path, tiny_checkpoint: Path, existing: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hprn_geo.cli", "predict", str(shared_data / "geo" / "rgb1.tif"), "-o", str(existing),
         "--weights", str(tiny_checkpoint), "--overwrite", "-q"],
        capture_output=True, text=True, preexec_fn=_file_size_limit,
    )
    _error_line(result)
    assert _untouched(existing)


def test_all_nodata_scene_writes_all_nodata_cube(tmp_path: Path, tiny_checkpoint: Path) -> None:
    src = _write(tmp_path / "empty.tif", np.zeros((3, 40, 50), np.uint8), nodata=0)
    result = _run("predict", str(src), "-o", str(tmp_path / "cube.tif"), "--weights", str(tiny_checkpoint), "-q")
    assert result.returncode == 0, result.stderr
    assert "nodata" in result.stderr
    with rasterio.open(tmp_path / "cube.tif") as cube:
        assert np.isnan(cube.read()).all()


def test_info_reports_scene_model_and_tiles(shared_data: Path, tiny_checkpoint: Path) -> None:
    result = CliRunner().invoke(main, ["info", str(shared_data / "geo" / "RGB.byte.tif"), "--weights",
                                       str(tiny_checkpoint), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert report["crs"] == "EPSG:32618" and report["width"] == 791 and report["height"] == 718
    assert report["tiles"].startswith("49 (7 x 7) of 128 x 128")
    assert "uint8" in report["scaling"]["reason"]


def test_cuda_without_a_gpu_is_one_line(shared_data: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    line = _error_line(_run("predict", str(shared_data / "geo" / "rgb1.tif"), "-o", str(tmp_path / "c.tif"),
                            "--weights", str(tiny_checkpoint), "--device", "cuda"))
    assert "CUDA" in line
    assert not (tmp_path / "c.tif").exists()


@pytest.mark.parametrize("value", ["0", "many"])
def test_batch_must_be_auto_or_a_positive_number(value: str, shared_data: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["predict", str(shared_data / "geo" / "rgb1.tif"), "-o", str(tmp_path / "o.tif"),
                                       "--batch", value])  # fmt: skip
    assert result.exit_code == 2 and "expected 'auto' or a whole number >= 1" in result.output


# ---------------------------------------------------------------- colour consistency and photo inputs


def _predict(src: Path, dst: Path, *options: str) -> np.ndarray:
    """``hprn-geo predict SRC -o DST --model vnir31`` run in process; the cube read back."""
    result = CliRunner().invoke(main, ["predict", str(src), "-o", str(dst), "--model", "vnir31", "--device", "cpu",
                                       "-q", *options])
    assert result.exit_code == 0, result.output
    with rasterio.open(dst) as cube:
        return cube.read()


def test_predict_output_renders_back_to_the_input_unless_turned_off(vnir31_scene, tmp_path: Path) -> None:
    _, rgb, response = vnir31_scene
    src = _write(tmp_path / "rgb.tif", rgb)
    consistent = _predict(src, tmp_path / "on.tif", "--colour-consistent")
    free = _predict(src, tmp_path / "off.tif", "--no-colour-consistent")
    render = lambda cube: np.einsum("cb,bhw->chw", response, cube.astype(np.float64))  # noqa: E731
    np.testing.assert_allclose(render(consistent), rgb, atol=1e-4, rtol=0)
    assert np.abs(render(free) - rgb).max() > 1e-3
    with rasterio.open(tmp_path / "on.tif") as on, rasterio.open(tmp_path / "off.tif") as off:
        assert (on.tags()["hprn_colour_consistent"], off.tags()["hprn_colour_consistent"]) == ("true", "false")


def test_an_8_bit_srgb_photo_predicts_like_its_linear_scene(vnir31_scene, tmp_path: Path) -> None:
    from hprn_geo.io.photo import srgb8

    _, rgb, _ = vnir31_scene
    exposure = 2.0  # a photo exposed brighter than reflectance, as cameras do; the float scene gets the same
    linear = _write(tmp_path / "linear.tif", (rgb * exposure).astype(np.float32))
    photo = _write(tmp_path / "photo.tif", srgb8(rgb * exposure))
    expected = _predict(linear, tmp_path / "linear_cube.tif", "--no-colour-consistent")
    decoded = _predict(photo, tmp_path / "photo_cube.tif")  # colour consistency is off for an sRGB photo
    undecoded = _predict(photo, tmp_path / "raw_cube.tif", "--encoding", "linear", "--no-colour-consistent")
    forced = _predict(photo, tmp_path / "forced_cube.tif", "--colour-consistent")
    with rasterio.open(tmp_path / "photo_cube.tif") as auto, rasterio.open(tmp_path / "forced_cube.tif") as on:
        assert (auto.tags()["hprn_colour_consistent"], on.tags()["hprn_colour_consistent"]) == ("false", "true")
    assert not np.allclose(forced, decoded)
    difference = lambda cube: float(np.mean(np.abs(cube - expected) / np.abs(expected)))  # noqa: E731
    # 8-bit steps change the input by 0.6 % on average here; the model (and its SLIC prior) turns that into ~3 %
    assert difference(decoded) < 0.05, difference(decoded)
    assert difference(undecoded) > 5 * difference(decoded), (difference(undecoded), difference(decoded))


def test_info_says_which_encoding_it_assumes(vnir31_scene, tmp_path: Path) -> None:
    from hprn_geo.io.photo import srgb8

    _, rgb, _ = vnir31_scene
    photo = _write(tmp_path / "photo.tif", srgb8(rgb))
    floats = _write(tmp_path / "floats.tif", rgb)
    for path, expected, consistent in ((photo, "srgb: 8-bit", "off by default for an sRGB photo"),
                                       (floats, "linear: float32", "on by default (the model card's choice)")):
        result = CliRunner().invoke(main, ["info", str(path), "--model", "rosis103", "--json",  # its card: on
                                           "--white-balance", "gray-world"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)
        assert report["encoding"].startswith(expected), report["encoding"]
        assert report["white balance"].startswith("gray-world: gains R, G, B")
        assert report["colour-consistent"].startswith(consistent)


def test_a_block_narrower_than_the_tile_is_one_line(shared_data: Path, tiny_checkpoint: Path, existing: Path) -> None:
    line = _error_line(_run("predict", str(shared_data / "geo" / "rgb1.tif"), "-o", str(existing), "--weights",
                            str(tiny_checkpoint), "--tile", "64", "--overlap", "8", "--block", "32", "--overwrite"))
    assert line == "Error: --block 32 is narrower than the 64-pixel tile; use --block 64 or more"
    assert _untouched(existing)


@pytest.mark.parametrize("value", ["0", "half", "600.5"])
def test_a_block_that_is_not_a_whole_number_is_a_usage_error(tiny_checkpoint: Path, existing: Path, value: str) -> None:
    result = CliRunner().invoke(main, ["predict", str(existing), "-o", str(existing), "--block", value])
    assert result.exit_code == 2 and "Invalid value for '--block'" in result.output, result.output
    assert _untouched(existing)


@pytest.mark.filterwarnings("ignore::hprn_geo.errors.UntrainedModelWarning")
def test_block_sets_the_block_columns(shared_data: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    with rasterio.open(shared_data / "geo" / "RGB.byte.tif") as src:
        rgb = src.read(window=((300, 364), (40, 740)))  # 64 x 700: one block column by default, two at 512
    scene = _write(tmp_path / "wide.tif", rgb, nodata=0)
    tiles, cubes = [], []
    for block in ([], ["--block", "512"]):
        dst = tmp_path / f"cube{len(block)}.tif"
        result = CliRunner().invoke(main, ["predict", str(scene), "-o", str(dst), "--weights", str(tiny_checkpoint),
                                           "--tile", "64", "--overlap", "8", *block])
        assert result.exit_code == 0, result.output
        wrote = next(line for line in result.output.splitlines() if line.startswith("hprn-geo: wrote "))
        tiles.append(int(wrote.split(", ")[-1].split()[0]))
        with rasterio.open(dst) as cube:
            cubes.append(cube.read())
    assert tiles[1] > tiles[0]  # the tiles on the edge between the two block columns run twice
    np.testing.assert_allclose(cubes[1], cubes[0], atol=1e-5)
