"""The ``rio hprn`` plugin: rasterio's arguments, the options of ``hprn-geo predict``, the same cube."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.windows import Window

from hprn_geo.cli import main
from hprn_geo.cli.predict_commands import predict
from hprn_geo.io.rgb import write_rgb
from hprn_geo.rio import hprn

pytestmark = pytest.mark.filterwarnings("ignore::hprn_geo.errors.UntrainedModelWarning")

RIO = "from rasterio.rio.main import main_group; main_group()"


@pytest.fixture()
def crop(tmp_path: Path, shared_data: Path) -> Path:
    """A 128 x 160 crop of the real RGB scene, CRS and transform kept."""
    window = Window(300, 300, 160, 128)
    with rasterio.open(shared_data / "geo" / "RGB.byte.tif") as src:
        return write_rgb(tmp_path / "crop.tif", src.read(window=window), src.crs, src.window_transform(window), 0)


def test_help_lists_every_predict_option() -> None:
    result = CliRunner().invoke(hprn, ["--help"])
    assert result.exit_code == 0, result.output
    assert "INPUT OUTPUT" in result.output
    options = [param for param in predict.params if param.name not in ("src", "dst")]  # INPUT OUTPUT instead
    flags = [flag for param in options for flag in param.opts if flag.startswith("--")]
    assert "--overwrite" in flags and "--weights" in flags
    missing = [flag for flag in flags if flag not in result.output]
    assert not missing, missing


@pytest.mark.slow
def test_under_rio_writes_the_cube_predict_writes(crop: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    """``rio hprn`` inside rasterio's real ``rio`` group (as the entry point loads it) == ``hprn-geo predict``."""
    under_rio = ("from rasterio.rio.main import main_group; from hprn_geo.rio import hprn; "
                 "main_group.add_command(hprn); main_group()")
    result = subprocess.run([sys.executable, "-c", under_rio, "hprn", str(crop), str(tmp_path / "rio.tif"),
                             "--weights", str(tiny_checkpoint), "--cog", "-q"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    reference = CliRunner().invoke(main, ["predict", str(crop), "-o", str(tmp_path / "predict.tif"),
                                          "--weights", str(tiny_checkpoint), "--cog", "-q"])
    assert reference.exit_code == 0, reference.output
    with rasterio.open(tmp_path / "rio.tif") as a, rasterio.open(tmp_path / "predict.tif") as b:
        assert (a.count, a.crs, a.transform, a.descriptions) == (8, b.crs, b.transform, b.descriptions)
        assert a.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        np.testing.assert_allclose(a.read(), b.read(), atol=1e-6)  # one run in-process, one in a child process


def test_existing_output_needs_overwrite(crop: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    existing = tmp_path / "out.tif"
    existing.write_bytes(b"precious")
    result = CliRunner().invoke(hprn, [str(crop), str(existing), "--weights", str(tiny_checkpoint)])
    assert result.exit_code == 1
    assert [line for line in result.stderr.splitlines() if line.startswith("Error:")] == [
        f"Error: {existing} exists; pass --overwrite to replace it"
    ]
    assert existing.read_bytes() == b"precious"
    result = CliRunner().invoke(hprn, [str(crop), str(existing), "--weights", str(tiny_checkpoint), "--overwrite",
                                       "-q"])
    assert result.exit_code == 0, result.output
    with rasterio.open(existing) as cube:
        assert cube.count == 8


def test_missing_input_is_one_line(tmp_path: Path, tiny_checkpoint: Path) -> None:
    result = CliRunner().invoke(hprn, [str(tmp_path / "nope.tif"), str(tmp_path / "out.tif"),
                                       "--weights", str(tiny_checkpoint)])
    assert result.exit_code != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "nope.tif" in errors[0]
    assert not (tmp_path / "out.tif").exists()


def test_rio_plugin_is_registered() -> None:
    """Passes once pyproject.toml declares ``[project.entry-points."rasterio.rio_plugins"] hprn = ...``."""
    result = subprocess.run([sys.executable, "-c", RIO, "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    commands = [line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.strip()]
    assert "hprn" in commands, result.stdout
