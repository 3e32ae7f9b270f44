"""The plugin inside a real QGIS: Debian's PyQGIS, headless, the plugin loaded the way QGIS loads it.

Not collected by the main run (the name does not start with ``test_``):
``test_qgis.py::test_the_plugin_in_real_qgis`` runs this file with pytest in a venv of Debian's
Python with system site packages and hprn-geo installed by pip, as docs/qgis.md installs it.
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
qgis_core = pytest.importorskip("qgis.core", reason="PyQGIS is not installed")

from hprn_geo.io.rgb import write_rgb  # noqa: E402
from hprn_geo.plugin_zip import build_plugin_zip  # noqa: E402

PLUGINS = Path(__file__).resolve().parents[2] / "plugins" / "qgis"
ALGORITHM = "hprngeo:reconstruct"
QGIS_PROCESSING = "/usr/share/qgis/python/plugins"  # where Debian puts QGIS's Processing framework


class Feedback(qgis_core.QgsProcessingFeedback):
    """Keeps what the algorithm tells QGIS; cancels at ``cancel_at`` percent."""

    def __init__(self, cancel_at: float | None = None) -> None:
        super().__init__()
        self.infos: list[str] = []
        self.warnings: list[str] = []
        self.percents: list[float] = []
        self.cancel_at = cancel_at
        self.progressChanged.connect(self._progress)

    def pushInfo(self, info: str) -> None:  # noqa: N802 (QGIS's name)
        self.infos.append(info)

    def pushWarning(self, warning: str) -> None:  # noqa: N802
        self.warnings.append(warning)

    def _progress(self, percent: float) -> None:
        self.percents.append(percent)
        if self.cancel_at is not None and percent >= self.cancel_at:
            self.cancel()


@pytest.fixture(scope="module")
def qgis() -> object:
    """A headless QGIS with Processing, and the plugin loaded and started by ``qgis.utils`` from plugins/qgis."""
    app = qgis_core.QgsApplication([], False)
    app.initQgis()
    sys.path.append(QGIS_PROCESSING)
    from processing.core.Processing import Processing

    Processing.initialize()
    import qgis.utils

    sys.path.insert(0, str(PLUGINS))
    qgis.utils.plugin_paths.insert(0, str(PLUGINS))
    qgis.utils.updateAvailablePlugins()
    assert qgis.utils.loadPlugin("hprn_geo_qgis")
    assert qgis.utils.startProcessingPlugin("hprn_geo_qgis")
    yield app
    qgis.utils.unloadPlugin("hprn_geo_qgis")


@pytest.fixture()
def scene(tmp_path: Path, shared_data: Path) -> Path:
    """A 128 x 160 crop of the real RGB scene, CRS and transform kept, nodata 0."""
    window = Window(300, 300, 160, 128)
    with rasterio.open(shared_data / "geo" / "RGB.byte.tif") as src:
        return write_rgb(tmp_path / "crop.tif", src.read(window=window), src.crs, src.window_transform(window), 0)


def run(parameters: dict, feedback: Feedback, context: object | None = None) -> dict:
    import processing

    context = context or qgis_core.QgsProcessingContext()
    return processing.run(ALGORITHM, parameters, feedback=feedback, context=context)


def test_metadata_minimum_version_is_this_qgis_or_older(qgis: object) -> None:
    parser = configparser.ConfigParser()
    parser.read(PLUGINS / "hprn_geo_qgis" / "metadata.txt", encoding="utf-8")
    major, minor = (int(p) for p in parser["general"]["qgisMinimumVersion"].split(".")[:2])
    assert qgis_core.Qgis.QGIS_VERSION_INT >= major * 10000 + minor * 100
    algorithm = qgis_core.QgsApplication.processingRegistry().algorithmById(ALGORITHM)
    assert [p.name() for p in algorithm.parameterDefinitions()] == [
        "INPUT", "RED", "GREEN", "BLUE", "MODEL", "WEIGHTS", "SCALE", "SENSOR", "ENCODING", "WHITE_BALANCE",
        "COLOUR_CONSISTENT", "TILE", "OVERLAP", "DEVICE", "COG", "OUTPUT"]


def test_processing_run_with_the_defaults(qgis: object, scene: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    """Only INPUT, WEIGHTS and OUTPUT given: the band defaults apply (QGIS 3.22 refused them once)."""
    out = tmp_path / "cube.tif"
    feedback = Feedback()
    result = run({"INPUT": str(scene), "WEIGHTS": str(tiny_checkpoint), "OUTPUT": str(out)}, feedback)
    assert result["OUTPUT"] == str(out)
    with rasterio.open(scene) as src, rasterio.open(out) as cube:
        assert (cube.count, cube.crs, cube.transform, cube.shape) == (8, src.crs, src.transform, src.shape)
        assert cube.descriptions[:2] == ("450 nm", "500 nm")
        assert cube.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        nodata = (src.read_masks() == 0).any(axis=0)
        data = cube.read()
    assert np.isnan(data[:, nodata]).all() and np.isfinite(data[:, ~nodata]).all()
    assert feedback.infos[0].startswith("model 'tiny8': 8 bands")
    assert any(info.startswith(f"wrote {out}") for info in feedback.infos)
    assert feedback.percents[-1] == pytest.approx(100.0) and len(feedback.percents) > 1
    assert any("UNTRAINED" in w for w in feedback.warnings)


def test_loaded_layer_is_named_after_the_model(qgis: object, scene: Path, tiny_checkpoint: Path,
                                               tmp_path: Path) -> None:
    out = str(tmp_path / "cube.tif")
    context = qgis_core.QgsProcessingContext()
    context.setProject(qgis_core.QgsProject.instance())
    destination = qgis_core.QgsProcessingOutputLayerDefinition(out, qgis_core.QgsProject.instance())
    run({"INPUT": str(scene), "WEIGHTS": str(tiny_checkpoint), "OUTPUT": destination}, Feedback(), context)
    assert context.willLoadLayerOnCompletion(out)
    assert context.layerToLoadOnCompletionDetails(out).name == "crop (tiny8)"


def test_cancel_stops_the_run_and_writes_nothing(qgis: object, scene: Path, tiny_checkpoint: Path,
                                                 tmp_path: Path) -> None:
    out = tmp_path / "cube.tif"
    feedback = Feedback(cancel_at=1.0)
    with pytest.raises(qgis_core.QgsProcessingException, match="cancelled"):
        run({"INPUT": str(scene), "WEIGHTS": str(tiny_checkpoint), "TILE": 48, "OVERLAP": 8, "OUTPUT": str(out)},
            feedback)
    assert feedback.percents[-1] < 100.0
    assert not out.exists()


def test_a_sensor_with_the_bands_unset_picks_them_by_name(qgis: object, tiny_checkpoint: Path, tmp_path: Path) -> None:
    """Sentinel-2 digital numbers in band order B02, B03, B04, B08: chosen as the dialog leaves the band
    parameters (unset), the sensor's names pick B04, B03, B02; a cube equal to the one of those bands given."""
    import dataclasses

    from hprn_geo.registry import load_checkpoint, save_checkpoint
    from hprn_geo_qgis.runner import INPUT_SENSORS

    tiny = load_checkpoint(tiny_checkpoint)
    weights = tmp_path / "tiny_s2.pt"
    save_checkpoint(weights, tiny.model, dataclasses.replace(tiny.card, input="camera:sentinel2 | test"))
    ramp = np.linspace(0.02, 0.3, 64 * 64, dtype=np.float32).reshape(64, 64)
    dn = (np.round(np.stack([ramp * 0.8, ramp * 0.9, ramp, ramp * 1.6]) * 10000) + 1000).astype(np.uint16)
    profile = {"driver": "GTiff", "count": 4, "height": 64, "width": 64, "dtype": "uint16", "crs": "EPSG:32632",
               "transform": rasterio.Affine(10, 0, 690000, 0, -10, 5330000)}
    with rasterio.open(tmp_path / "s2.tif", "w", **profile) as dst:
        dst.write(dn)
        dst.descriptions = ("B02", "B03", "B04", "B08")
    sentinel2 = list(INPUT_SENSORS.values()).index("sentinel2")
    common = {"INPUT": str(tmp_path / "s2.tif"), "WEIGHTS": str(weights), "SENSOR": sentinel2}
    run({**common, "OUTPUT": str(tmp_path / "named.tif")}, Feedback())
    run({**common, "RED": 3, "GREEN": 2, "BLUE": 1, "OUTPUT": str(tmp_path / "given.tif")}, Feedback())
    with rasterio.open(tmp_path / "named.tif") as named, rasterio.open(tmp_path / "given.tif") as given:
        assert np.array_equal(named.read(), given.read())


def one_band(scene: Path, tmp_path: Path) -> dict:
    with rasterio.open(scene) as src:
        profile, data = {**src.profile, "count": 1}, src.read(1)
    with rasterio.open(tmp_path / "gray.tif", "w", **profile) as dst:
        dst.write(data, 1)
    return {"INPUT": str(tmp_path / "gray.tif")}


def garbage_checkpoint(scene: Path, tmp_path: Path) -> dict:
    (tmp_path / "model.pt").write_bytes(b"not a checkpoint")
    return {"INPUT": str(scene), "WEIGHTS": str(tmp_path / "model.pt")}


@pytest.mark.parametrize(("make", "message"), [(one_band, "has bands 1-1"), (garbage_checkpoint, "model.pt")])
def test_bad_input_is_one_line_without_command_line_flags(qgis: object, scene: Path, tiny_checkpoint: Path,
                                                          tmp_path: Path, make: object, message: str) -> None:
    parameters = {"WEIGHTS": str(tiny_checkpoint), **make(scene, tmp_path), "OUTPUT": str(tmp_path / "cube.tif")}
    with pytest.raises(qgis_core.QgsProcessingException) as raised:
        run(parameters, Feedback())
    text = str(raised.value)
    assert message in text and "\n" not in text.strip() and "--" not in text
    assert not (tmp_path / "cube.tif").exists()


def test_qgis_process_runs_the_plugin_installed_from_its_zip(qgis: object, scene: Path, tiny_checkpoint: Path,
                                                              tmp_path: Path) -> None:
    """What a user does: install the zip into a profile, enable it, run ``qgis_process`` with
    hprn-geo's venv on PYTHONPATH (docs/qgis.md)."""
    profile = tmp_path / "home" / ".local" / "share" / "QGIS" / "QGIS3" / "profiles" / "default"
    with zipfile.ZipFile(build_plugin_zip(tmp_path)) as archive:
        archive.extractall(profile / "python" / "plugins")
    (profile / "QGIS").mkdir(parents=True)
    (profile / "QGIS" / "QGIS3.ini").write_text("[PythonPlugins]\nhprn_geo_qgis=true\n")
    out = tmp_path / "cube.tif"
    env = {**os.environ, "HOME": str(tmp_path / "home"), "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    done = subprocess.run(["qgis_process.bin", "run", ALGORITHM, "--", f"INPUT={scene}",
                           f"WEIGHTS={tiny_checkpoint}", f"OUTPUT={out}"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "model 'tiny8': 8 bands" in done.stdout and f"OUTPUT:\t{out}" in done.stdout
    with rasterio.open(scene) as src, rasterio.open(out) as cube:
        assert (cube.count, cube.crs, cube.transform) == (8, src.crs, src.transform)


def test_colour_science_imports_beside_debians_matplotlib() -> None:
    """Debian's mpl_toolkits/__init__.py is on this venv's path and once broke ``import colour``."""
    import mpl_toolkits

    from hprn_geo.colour_science import import_colour

    assert any(Path(p, "__init__.py").exists() for p in mpl_toolkits.__path__)  # Debian's is here
    assert import_colour().MSDS_CMFS["CIE 1964 10 Degree Standard Observer"].shape.start == 360
