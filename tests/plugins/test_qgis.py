"""The QGIS plugin folder: importable without QGIS, its runner writes the cube, its metadata is complete."""

from __future__ import annotations

import ast
import configparser
import importlib
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from hprn_geo import __version__
from hprn_geo.io.rgb import write_rgb

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
    report = runner.reconstruct_raster(str(crop), str(out), weights=str(tiny_checkpoint), rgb_bands=(1, 2, 3),
                                       scale="auto", device="cpu", log=messages.append)
    assert report.path == out
    with rasterio.open(crop) as src, rasterio.open(out) as cube:
        assert (cube.count, cube.crs, cube.transform, cube.shape) == (8, src.crs, src.transform, src.shape)
        assert cube.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert cube.descriptions[0] == "450.0 nm"
        nodata = (src.read_masks() == 0).any(axis=0)
        data = cube.read()
    assert np.isnan(data[:, nodata]).all() and np.isfinite(data[:, ~nodata]).all()
    assert messages[0].startswith("model 'tiny8': 8 bands, tile 128 px, overlap 16 px, on cpu")
    assert any("uint8: divided by 255" in m for m in messages) and messages[-1].startswith(f"wrote {out}")


def test_runner_takes_the_scale_as_text(runner: ModuleType, crop: Path, tiny_checkpoint: Path,
                                        tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale"):
        runner.reconstruct_raster(str(crop), str(tmp_path / "cube.tif"), weights=str(tiny_checkpoint),
                                  scale="bright", log=lambda _: None)
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


def test_algorithm_parameters_under_qgis(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("qgis.core", reason="QGIS (PyQGIS) is not installed")
    monkeypatch.syspath_prepend(str(PLUGINS))
    from hprn_geo_qgis.algorithm import ReconstructAlgorithm

    algorithm = ReconstructAlgorithm()
    algorithm.initAlgorithm()
    names = [p.name() for p in algorithm.parameterDefinitions()]
    assert names == ["INPUT", "RED", "GREEN", "BLUE", "MODEL", "WEIGHTS", "SCALE", "TILE", "OVERLAP", "DEVICE", "COG",
                     "OUTPUT"]


def test_runner_passes_encoding_white_balance_and_colour_consistency(runner: ModuleType, crop: Path,
                                                                    tiny_checkpoint: Path, tmp_path: Path) -> None:
    from hprn_geo.errors import CheckpointError

    messages: list[str] = []
    runner.reconstruct_raster(str(crop), str(tmp_path / "cube.tif"), weights=str(tiny_checkpoint), rgb_bands=(1, 2, 3),
                              encoding="linear", white_balance="exposure", device="cpu", log=messages.append)
    assert "input encoding: linear: given" in messages and any(m.startswith("white balance: exposure") for m in messages)
    assert list(runner.COLOUR_CONSISTENCY.values()) == [None, True, False]
    with pytest.raises(CheckpointError, match="no input_response"):
        runner.reconstruct_raster(str(crop), str(tmp_path / "cube.tif"), weights=str(tiny_checkpoint),
                                  colour_consistent=True, log=lambda _: None)
