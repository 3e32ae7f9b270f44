"""The layering of docs/architecture.md, checked on the import graph read from the code
(``docs/scripts/architecture.py``, which also draws it): every import counts, lazy ones too."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "docs" / "scripts" / "architecture.py"


@pytest.fixture(scope="module")
def architecture(file_module: Callable[[Path], ModuleType]) -> ModuleType:
    return file_module(SCRIPT)


@pytest.fixture(scope="module")
def graph(architecture: ModuleType) -> dict[str, set[str]]:
    return architecture.import_graph()


def test_no_import_cycle(graph: dict[str, set[str]]) -> None:
    seen: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        seen[module] = 1
        for target in sorted(graph[module]):
            assert seen.get(target) != 1, " -> ".join([*path, module, target])
            if target not in seen:
                visit(target, [*path, module])
        seen[module] = 2

    for module in sorted(graph):
        if module not in seen:
            visit(module, [])


def test_every_room_is_in_a_layer(architecture: ModuleType, graph: dict[str, set[str]]) -> None:
    placed = {name for rooms in architecture.LAYERS.values() for name in rooms}
    assert {architecture.room(m) for m in graph} - {""} == placed


def test_imports_go_down_the_layers_only(architecture: ModuleType, graph: dict[str, set[str]]) -> None:
    """A room imports rooms of lower layers; in one layer only the pipeline's rooms use each other
    (train's data side, the registry), and a front door never imports another (rio and the
    command line share ``cli.options``)."""
    layer = {name: row for row, rooms in enumerate(architecture.LAYERS.values()) for name in rooms}
    shared = {"hprn_geo.cli.options"}
    wrong = []
    for module, targets in graph.items():
        for target in targets:
            a, b = architecture.room(module), architecture.room(target)
            if not a or a == b or target in shared:
                continue
            same_layer_ok = layer[a] == layer[b] and layer[a] in (layer["predict"], layer["spectral"])
            if layer[a] > layer[b] or (layer[a] == layer[b] and not same_layer_ok):
                wrong.append(f"{module} -> {target}")
    assert wrong == []


@pytest.mark.parametrize(("room", "forbidden"), [
    ("model", ("rasterio", "xarray", "pystac", "dask", "zarr")),
    ("tiles", ("torch", "rasterio", "xarray", "dask")),
    ("io", ("torch",)),
])
def test_engines_keep_to_their_libraries(room: str, forbidden: tuple[str, ...]) -> None:
    import ast

    package = Path(__file__).resolve().parents[1] / "hprn_geo" / room
    found = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in forbidden]
    assert found == []


def test_a_new_format_and_a_new_preset_are_one_row_each(tmp_path: Path, shared_data: Path) -> None:
    """Register a toy output format (GeoTIFF under ``.gtiff``) and a toy preset, then see them where the
    doors offer them: ``stac --format`` and ``train --preset``, open_writer, the STAC media type,
    the QGIS runner's COG choice."""
    import subprocess
    import sys

    script = f"""
import sys
from hprn_geo.io.formats import FORMATS, OutputFormat
from hprn_geo.model.presets import PRESETS
FORMATS["gtiff"] = OutputFormat("gtiff", "GeoTIFF", (".gtiff",), "image/x-toy", "hprn_geo.io.geotiff:GeoTIFFWriter", cog=True)
PRESETS["toy"] = {{"channels": 8, "blocks": 1}}
from click.testing import CliRunner
from hprn_geo.cli import main
print("stac", "gtiff" in CliRunner().invoke(main, ["stac", "--help"]).output)
print("train", "toy" in CliRunner().invoke(main, ["train", "--help"]).output)
from hprn_geo.model import build_model
print("preset", build_model("toy", 31).config.channels)
sys.path.insert(0, {str(Path(__file__).resolve().parents[1] / "plugins" / "qgis")!r})
from hprn_geo_qgis.runner import PredictOptions, reconstruct_raster
import warnings; warnings.simplefilter("ignore")
report = reconstruct_raster({str(shared_data / "geo" / "rgb1.tif")!r}, {str(tmp_path / "cube.gtiff")!r},
                            PredictOptions(tile=64, overlap=8), model="vnir31", log=lambda _: None)
import rasterio
with rasterio.open(report.path) as cube:
    print("runner", cube.count, cube.tags(ns="IMAGE_STRUCTURE").get("LAYOUT"))
from hprn_geo.registry import resolve
from hprn_geo.stac import PixelGrid, derive_item
import pystac
source = pystac.Item("s", None, None, __import__("datetime").datetime(2024, 1, 1), {{}})
item = derive_item(source, "visual", report.path, resolve("vnir31").card, PixelGrid(None, rasterio.Affine.identity(), 1, 1))
print("stac-media", item.assets["reflectance"].media_type)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split("\n")[:5] == ["stac True", "train True", "preset 8", "runner 31 COG",
                                           "stac-media image/x-toy"]
