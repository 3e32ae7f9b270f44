"""The layering of docs/architecture.md, checked on the import graph read from the code
(``docs/scripts/architecture.py``, which also draws it): every import counts, lazy ones too."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "docs" / "scripts" / "architecture.py"


@pytest.fixture(scope="module")
def architecture() -> ModuleType:
    spec = importlib.util.spec_from_file_location("architecture", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
