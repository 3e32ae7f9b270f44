"""matplotlib on the headless Agg backend, imported only when a figure is drawn."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

__all__ = ["pyplot", "save_figure"]


def pyplot() -> ModuleType:
    """``matplotlib.pyplot`` with the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: object, path: str | Path, tight: bool = True) -> Path:
    """Write ``fig`` as a 110-dpi PNG at ``path`` and close it."""
    if tight:
        fig.tight_layout()  # type: ignore[attr-defined]
    fig.savefig(path, dpi=110)  # type: ignore[attr-defined]
    pyplot().close(fig)
    return Path(path)
