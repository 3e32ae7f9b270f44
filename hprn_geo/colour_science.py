"""colour-science, imported so that it also works beside Debian's matplotlib.

QGIS on Debian/Ubuntu runs the system Python, so hprn-geo goes into a venv
with ``--system-site-packages`` (docs/qgis.md). Debian's python3-matplotlib
(3.6) ships ``mpl_toolkits/__init__.py``; the newer matplotlib pip puts in the
venv ships ``mpl_toolkits`` as a namespace package, and a regular package wins
an import over a namespace package wherever it sits on ``sys.path``. colour
imports ``mpl_toolkits.mplot3d`` when it loads, gets Debian's, and fails on a
module the new matplotlib no longer has (``matplotlib.tri.triangulation``).
:func:`import_colour` puts the imported matplotlib's toolkits first on
``mpl_toolkits.__path__`` before it imports colour.
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
