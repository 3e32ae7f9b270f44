"""The package's import graph, read from the code (every ``import``, at module level or inside a
function), and the picture of it in docs/architecture.md.

    python docs/scripts/architecture.py        # writes docs/img/architecture.png

``tests/test_layers.py`` checks the same graph against the layering of docs/architecture.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "hprn_geo"

LAYERS = {
    "front doors": ["accessor", "cli", "rio"],
    "pipeline": ["predict", "predict_options", "distributed", "estimate", "stac", "train", "evaluate", "classify", "fit", "registry",
                 "sources", "sample", "plugin_zip"],
    "data side": ["scenes"],
    "engines": ["model", "tiles", "io"],
    "foundation": ["spectral", "metrics", "cameras", "sensors", "errors", "colour_science", "figures", "_version", "_hooks"],
}
"""Rooms of the picture, top to bottom; a room is a top-level module or subpackage of hprn_geo."""


def module_names(package: Path = PACKAGE) -> dict[str, Path]:
    """``{"hprn_geo.io.read": path, ...}`` for every module of the package (``__init__`` as the package)."""
    names = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, anywhere in its code."""
    modules = module_names(package)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(node.module or "", name, node.level, is_package)
                targets.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                               for alias in node.names)
        graph[name] = {_known(t, modules) for t in targets if t.startswith(package.name)} - {name, None}
    return graph


def room(module: str) -> str:
    """The top-level module or subpackage a module belongs to: ``hprn_geo.io.read -> "io"``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _absolute(module: str, importer: str, level: int, is_package: bool) -> str:
    if level == 0:
        return module
    base = importer.split(".")[: len(importer.split(".")) - (level - 1) - (0 if is_package else 1)]
    return ".".join([*base, module] if module else base)


def _known(target: str, modules: dict[str, Path]) -> str | None:
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def draw(path: Path) -> None:
    """Rooms in their layers, an arrow for every room importing another."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    graph = import_graph()
    arrows = {(room(a), room(b)) for a, targets in graph.items() for b in targets if room(a) != room(b)}
    where = {}
    for row, (layer, rooms) in enumerate(LAYERS.items()):
        for col, name in enumerate(rooms):
            where[name] = ((col + 0.5) / len(rooms), 1 - row / (len(LAYERS) - 1) * 0.9 - 0.05)
    fig, ax = plt.subplots(figsize=(13, 7))
    for a, b in sorted(arrows):
        if a in where and b in where:
            ax.annotate("", where[b], where[a], arrowprops={"arrowstyle": "->", "color": "0.6", "lw": 0.7,
                                                             "shrinkA": 14, "shrinkB": 14})
    for name, (x, y) in where.items():
        ax.text(x, y, name, ha="center", va="center", fontsize=9,
                bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.3"})
    for row, layer in enumerate(LAYERS):
        ax.text(-0.02, 1 - row / (len(LAYERS) - 1) * 0.9 - 0.05, layer, ha="right", va="center", fontsize=10,
                style="italic")
    ax.set_xlim(-0.15, 1.0)
    ax.set_ylim(0, 1)
    ax.axis("off")
    ax.set_title("hprn_geo: who imports whom (arrows point to the imported room)")
    fig.savefig(path, dpi=110, bbox_inches="tight")


if __name__ == "__main__":
    draw(ROOT / "docs" / "img" / "architecture.png")
