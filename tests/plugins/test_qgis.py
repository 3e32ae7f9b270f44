"""The QGIS plugin folder: importable without QGIS, its runner writes the cube, its metadata is complete."""

from __future__ import annotations

import ast
import configparser
import importlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from hprn_geo import __version__
from hprn_geo.errors import CancelledError, DeviceError, OptionError, OutputError, RasterReadError
from hprn_geo.io.rgb import write_rgb
from hprn_geo.plugin_zip import build_plugin_zip

pytestmark = pytest.mark.filterwarnings("ignore::hprn_geo.errors.UntrainedModelWarning")

PLUGINS = Path(__file__).resolve().parents[2] / "plugins" / "qgis"
PLUGIN = PLUGINS / "hprn_geo_qgis"


@pytest.fixture()
def runner(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``hprn_geo_qgis.runner`` imported the way QGIS finds plugins, with any ``qgis`` import made to fail."""
    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.setitem(sys.modules, "qgis", None)
    for name in [n for n in sys.modules if n.startswith("hprn_geo_qgis")]:
        monkeypatch.delitem(sys.modules, name)
    package = importlib.import_module("hprn_geo_qgis")
    assert callable(package.classFactory)
    return importlib.import_module("hprn_geo_qgis.runner")


@pytest.fixture()
def crop(tmp_path: Path, shared_data: Path) -> Path:
    """A 128 x 160 crop of the real RGB scene, CRS and transform kept, nodata 0."""
    window = Window(300, 300, 160, 128)
    with rasterio.open(shared_data / "geo" / "RGB.byte.tif") as src:
        return write_rgb(tmp_path / "crop.tif", src.read(window=window), src.crs, src.window_transform(window), 0)


def test_runner_writes_a_cog_with_the_input_geometry(runner: ModuleType, crop: Path, tiny_checkpoint: Path,
                                                      tmp_path: Path) -> None:
    out = tmp_path / "cube.tif"
    out.write_bytes(b"an earlier result")  # QGIS asks before it hands over an existing path: replace it
    messages: list[str] = []
    report = runner.reconstruct_raster(str(crop), str(out), runner.PredictOptions(rgb_bands=(1, 2, 3), device="cpu"),
                                       weights=str(tiny_checkpoint), log=messages.append)
    assert report.path == out
    with rasterio.open(crop) as src, rasterio.open(out) as cube:
        assert (cube.count, cube.crs, cube.transform, cube.shape) == (8, src.crs, src.transform, src.shape)
        assert cube.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert cube.descriptions[0] == "450 nm"
        nodata = (src.read_masks() == 0).any(axis=0)
        data = cube.read()
    assert np.isnan(data[:, nodata]).all() and np.isfinite(data[:, ~nodata]).all()
    assert messages[0].startswith("model 'tiny8': 8 bands, tile 128 px, overlap 16 px, on cpu")
    assert any("uint8: divided by 255" in m for m in messages) and messages[-1].startswith(f"wrote {out}")


def test_runner_takes_the_scale_as_text(runner: ModuleType, crop: Path, tiny_checkpoint: Path,
                                        tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale"):
        runner.reconstruct_raster(str(crop), str(tmp_path / "cube.tif"), runner.PredictOptions(scale="bright"),
                                  weights=str(tiny_checkpoint), log=lambda _: None)
    assert not (tmp_path / "cube.tif").exists()


def test_model_names_are_the_bundled_models(runner: ModuleType) -> None:
    from hprn_geo.registry import available_models

    assert runner.model_names() == list(available_models())


def test_metadata_txt_has_what_the_plugin_manager_needs() -> None:
    parser = configparser.ConfigParser()
    parser.read(PLUGIN / "metadata.txt", encoding="utf-8")
    general = parser["general"]
    for key in ("name", "qgisMinimumVersion", "description", "about", "version", "author", "email"):
        assert general.get(key), key
    assert general["version"] == __version__
    assert general["hasProcessingProvider"] == "yes"


def test_only_the_qgis_side_imports_qgis() -> None:
    """provider.py and algorithm.py are the thin QGIS layer; everything else must import without QGIS."""
    importers = set()
    for path in PLUGIN.glob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        modules = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0]
        modules += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        if any(module.split(".")[0] == "qgis" for module in modules):
            importers.add(path.name)
    assert importers == {"provider.py", "algorithm.py"}


def test_runner_passes_encoding_white_balance_and_colour_consistency(runner: ModuleType, crop: Path,
                                                                    tiny_checkpoint: Path, tmp_path: Path) -> None:
    from hprn_geo.errors import CheckpointError

    messages: list[str] = []
    options = runner.PredictOptions(rgb_bands=(1, 2, 3), encoding="linear", white_balance="exposure", device="cpu")
    runner.reconstruct_raster(str(crop), str(tmp_path / "cube.tif"), options, weights=str(tiny_checkpoint),
                              log=messages.append)
    assert "input encoding: linear: given" in messages and any(m.startswith("white balance: exposure") for m in messages)
    assert list(runner.COLOUR_CONSISTENCY.values()) == [None, True, False]
    with pytest.raises(CheckpointError, match="no input_response"):
        runner.reconstruct_raster(str(crop), str(tmp_path / "cube.tif"), runner.PredictOptions(colour_consistent=True),
                                  weights=str(tiny_checkpoint), log=lambda _: None)


def test_runner_reports_progress_and_forwards_warnings(runner: ModuleType, crop: Path, tiny_checkpoint: Path,
                                                       tmp_path: Path) -> None:
    percents: list[float] = []
    warned: list[str] = []
    runner.reconstruct_raster(str(crop), str(tmp_path / "cube.tif"), runner.PredictOptions(tile=48, overlap=8),
                              weights=str(tiny_checkpoint), log=lambda _: None, warn=warned.append,
                              progress=percents.append)
    assert len(percents) > 2 and percents == sorted(percents) and percents[-1] == pytest.approx(100.0)
    assert warned == ["model 'tiny8' is UNTRAINED (random weights): its spectra are meaningless"]


def test_runner_cancelled_after_the_first_tile_publishes_nothing(runner: ModuleType, crop: Path,
                                                                 tiny_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "cube.tif"
    percents: list[float] = []
    with pytest.raises(CancelledError, match="cancelled"):
        runner.reconstruct_raster(str(crop), str(out), runner.PredictOptions(tile=48, overlap=8),
                                  weights=str(tiny_checkpoint), log=lambda _: None, progress=percents.append,
                                  cancelled=lambda: bool(percents))
    assert len(percents) == 1 and not out.exists()


@pytest.mark.parametrize(("exc", "line"), [
    (RasterReadError("a.tif has 1 band; pass --rgb-bands R,G,B (1-based) to choose three"),
     "a.tif has 1 band; the Red/Green/Blue band parameters (1-based) to choose three"),
    (RasterReadError("unreadable; pass --scale FACTOR"), "unreadable; set 'Input scale to reflectance'"),
    (DeviceError("no CUDA device"), "no CUDA device"),
    (RuntimeError("CUDA out of memory.\nTried to allocate"), "RuntimeError: CUDA out of memory."),
])
def test_host_message_is_one_line_in_the_dialog_s_words(runner: ModuleType, exc: Exception, line: str) -> None:
    assert runner.host_message(exc) == line


def test_plugin_zip_holds_the_plugin_folder(tmp_path: Path) -> None:
    path = build_plugin_zip(tmp_path)
    with zipfile.ZipFile(path) as archive:
        names = sorted(archive.namelist())
        assert archive.read("hprn_geo_qgis/metadata.txt") == (PLUGIN / "metadata.txt").read_bytes()
    assert names == sorted(f"hprn_geo_qgis/{p.name}" for p in PLUGIN.iterdir() if p.suffix in (".py", ".txt"))
    with pytest.raises(OutputError, match="exists; pass --overwrite"):
        build_plugin_zip(path)


@pytest.mark.slow
def test_the_plugin_in_real_qgis(qgis_venv: Path) -> None:
    """qgis_host.py in Debian's Python with PyQGIS and hprn-geo installed into a venv as docs/qgis.md says."""
    root = PLUGINS.parents[1]
    done = subprocess.run(
        [str(qgis_venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
         str(root / "tests" / "plugins" / "qgis_host.py")],
        cwd=root, capture_output=True, text=True, timeout=1200, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0 and "skipped" not in summary, done.stdout[-6000:] + done.stderr[-3000:]


def test_ci_installs_the_packages_the_qgis_tests_ask_for() -> None:
    from tests.plugins.conftest import QGIS_PACKAGES

    ci = (PLUGINS.parents[1] / ".ci" / "run").read_text()
    assert f'QGIS_PACKAGES="{QGIS_PACKAGES}"' in ci
    readme = (PLUGINS.parents[1] / "README.md").read_text()
    assert f"apt-get install -y {QGIS_PACKAGES}" in readme


def test_runner_takes_an_input_sensor(runner: ModuleType, shared_data: Path, tmp_path: Path) -> None:
    """Sentinel-2 digital numbers in band order B02, B03, B04: the sensor choice finds the bands by name and
    scales them by the L2A convention; the choices are every sensor hprn-geo knows, and none."""
    from hprn_geo.sensors import SENSORS
    from sensor_inputs import sensor_checkpoint, sentinel2_dn, sentinel2_reflectance, write_raster

    dn = sentinel2_dn(sentinel2_reflectance(shared_data))
    src = write_raster(tmp_path / "s2.tif", dn[::-1].copy(), descriptions=["B02", "B03", "B04"])
    messages: list[str] = []
    runner.reconstruct_raster(str(src), str(tmp_path / "cube.tif"),
                              runner.PredictOptions(sensor="sentinel2", device="cpu"),
                              weights=str(sensor_checkpoint(tmp_path / "w")), log=messages.append)
    assert "input sensor: sentinel2" in messages
    assert "input bands: by name: B04, B03, B02 are sentinel2's red, green and blue" in messages
    assert any(m.startswith("input scaling: uint16: sentinel2 convention x 0.0001 - 0.1") for m in messages)
    assert list(runner.INPUT_SENSORS.values()) == [None, *SENSORS]
    assert runner.host_message(OptionError("pass --sensor NAME")) == \
        "set 'Input sensor (satellite bands and DN convention)'"
