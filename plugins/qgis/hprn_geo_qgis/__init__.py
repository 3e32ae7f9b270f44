"""hprn-geo for QGIS: a Processing provider with an "RGB -> hyperspectral" algorithm.

Install by copying this folder into the QGIS profile's ``python/plugins``
folder and installing hprn-geo into QGIS's Python (see docs/qgis.md). QGIS is
imported only when QGIS loads the plugin, so :mod:`hprn_geo_qgis.runner`
(the part that does the work) can be imported and tested without it.
"""

from __future__ import annotations

from typing import Any


def classFactory(iface: Any) -> Any:  # the name QGIS looks for
    """QGIS plugin entry point."""
    from .provider import HprnGeoPlugin

    return HprnGeoPlugin(iface)
