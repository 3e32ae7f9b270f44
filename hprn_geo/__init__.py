"""hprn-geo: RGB -> hyperspectral reconstruction with HPRN on georeferenced rasters.

>>> import hprn_geo
>>> model = hprn_geo.load_model("vnir31")        # doctest: +SKIP
>>> cube = model.reconstruct(rgb)                # (3, H, W) -> (31, H, W)

``import hprn_geo`` registers the ``.hprn`` accessor on xarray objects, as
``import rioxarray`` registers ``.rio``, without importing xarray itself: the
accessor is registered as soon as xarray is imported (now, if it already is),
so that the command line, the ``rio`` plugin and QGIS start without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hprn_geo._hooks import after_import
from hprn_geo._version import __version__

if TYPE_CHECKING:
    from hprn_geo.predict import SpectralModel

after_import("xarray", "hprn_geo.accessor")


def load_model(name: str | Path = "vnir31", device: str = "auto") -> SpectralModel:
    """Load a bundled model or a checkpoint file; see :func:`hprn_geo.predict.load_model`."""
    from hprn_geo.predict import load_model as _load

    return _load(name, device)


__all__ = ["__version__", "load_model"]
