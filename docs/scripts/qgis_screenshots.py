"""Screenshots for docs/qgis.md: the algorithm's dialog, and a reconstructed cube loaded in QGIS.

Run in the QGIS venv the tests build (README, "The QGIS tests"), under a virtual display:

    xvfb-run -a -s "-screen 0 1400x900x24" .venv-qgis/bin/python docs/scripts/qgis_screenshots.py

It writes docs/img/qgis_dialog.png and docs/img/qgis_cube.png: the cube is the default
bundled model's reconstruction of a crop of ../shared/data/geo/RGB.byte.tif, shown as
650/550/450 nm in a map canvas beside its band list.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from qgis.core import (
    QgsApplication,
    QgsContrastEnhancement,
    QgsMultiBandColorRenderer,
    QgsProject,
    QgsRasterLayer,
    QgsRasterMinMaxOrigin,
)
from qgis.gui import QgsMapCanvas
from qgis.PyQt.QtWidgets import QHBoxLayout, QListWidget, QWidget
from rasterio.windows import Window

ROOT = Path(__file__).resolve().parents[2]
IMG = ROOT / "docs" / "img"


def main() -> None:
    app = QgsApplication([], True)
    app.initQgis()
    sys.path += ["/usr/share/qgis/python/plugins", str(ROOT / "plugins" / "qgis")]
    from processing.core.Processing import Processing
    from processing.gui.AlgorithmDialog import AlgorithmDialog

    Processing.initialize()
    import qgis.utils

    qgis.utils.plugin_paths.insert(0, str(ROOT / "plugins" / "qgis"))
    qgis.utils.updateAvailablePlugins()
    qgis.utils.loadPlugin("hprn_geo_qgis")
    qgis.utils.startProcessingPlugin("hprn_geo_qgis")
    IMG.mkdir(parents=True, exist_ok=True)
    cube = _reconstruct(Path(tempfile.mkdtemp()))
    algorithm = QgsApplication.processingRegistry().algorithmById("hprngeo:reconstruct")
    dialog = AlgorithmDialog(algorithm.create(), False, None)
    dialog.resize(900, 720)
    dialog.show()
    app.processEvents()
    dialog.grab().save(str(IMG / "qgis_dialog.png"))
    _show_cube(app, cube)
    app.exitQgis()


def _reconstruct(folder: Path) -> Path:
    """A 256 x 320 crop of the real RGB scene and its cube from the default bundled model."""
    import rasterio

    from hprn_geo.io.rgb import write_rgb
    from hprn_geo_qgis.runner import PredictOptions, reconstruct_raster

    window = Window(250, 250, 320, 256)
    with rasterio.open(ROOT.parent / "shared" / "data" / "geo" / "RGB.byte.tif") as src:
        scene = write_rgb(folder / "scene.tif", src.read(window=window), src.crs, src.window_transform(window), 0)
    report = reconstruct_raster(scene, folder / "scene-cube.tif", PredictOptions(device="cpu"))
    return report.path


def _show_cube(app: QgsApplication, cube: Path) -> None:
    layer = QgsRasterLayer(str(cube), f"{cube.stem.replace('-cube', '')} (vnir31)")
    names = [layer.bandName(b) for b in range(1, layer.bandCount() + 1)]
    red, green, blue = (next(b for b, n in enumerate(names, 1) if n.endswith(f"{nm} nm")) for nm in (650, 550, 450))
    renderer = QgsMultiBandColorRenderer(layer.dataProvider(), red, green, blue)
    layer.setRenderer(renderer)
    layer.setContrastEnhancement(QgsContrastEnhancement.StretchToMinimumMaximum, QgsRasterMinMaxOrigin.MinMax)
    QgsProject.instance().addMapLayer(layer)
    window = QWidget()
    bands = QListWidget()
    bands.addItems([layer.name(), *names])
    canvas = QgsMapCanvas()
    canvas.setLayers([layer])
    canvas.setDestinationCrs(layer.crs())
    canvas.setExtent(layer.extent())
    box = QHBoxLayout(window)
    box.addWidget(bands, 1)
    box.addWidget(canvas, 3)
    window.resize(1100, 620)
    window.show()
    canvas.refresh()
    canvas.waitWhileRendering()
    app.processEvents()
    window.grab().save(str(IMG / "qgis_cube.png"))


if __name__ == "__main__":
    main()
