"""hprn-geo: RGB -> hyperspectral reconstruction with HPRN on georeferenced rasters.

>>> import hprn_geo
>>> model = hprn_geo.load_model("vnir31")        # doctest: +SKIP
>>> cube = model.reconstruct(rgb)                # (3, H, W) -> (31, H, W)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hprn_geo import accessor as _accessor  # noqa: F401  (registers .hprn on xarray objects)

__version__ = "0.1.0"

if TYPE_CHECKING:
    from hprn_geo.predict import SpectralModel


def load_model(name: str | Path = "vnir31", device: str = "auto") -> SpectralModel:
    """Load a bundled model or a checkpoint file; see :func:`hprn_geo.predict.load_model`."""
    from hprn_geo.predict import load_model as _load

    return _load(name, device)


__all__ = ["__version__", "load_model"]
