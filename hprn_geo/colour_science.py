"""colour-science, imported so that it also works beside Debian's matplotlib (docs/qgis.md).

Debian's python3-matplotlib ships ``mpl_toolkits/__init__.py``, a regular package that wins an import over the
namespace package of the newer matplotlib in a ``--system-site-packages`` venv; colour then imports Debian's
``mpl_toolkits.mplot3d``, which fails on the new matplotlib. :func:`import_colour` puts the imported matplotlib's
toolkits first on ``mpl_toolkits.__path__`` before it imports colour.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

__all__ = ["import_colour"]


def import_colour() -> ModuleType:
    """The ``colour`` package, with ``mpl_toolkits`` looked up first beside the imported matplotlib."""
    if "colour" not in sys.modules:
        import matplotlib
        import mpl_toolkits  # Debian's .pth may have imported its own already

        toolkits = str(Path(matplotlib.__file__).parent.parent / "mpl_toolkits")
        searched = list(mpl_toolkits.__path__)
        if Path(toolkits).is_dir() and toolkits not in searched:
            mpl_toolkits.__path__ = [toolkits, *searched]
    import colour

    return colour
