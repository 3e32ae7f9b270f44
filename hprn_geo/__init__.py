"""hprn-geo: RGB -> hyperspectral reconstruction with HPRN on georeferenced rasters."""

from __future__ import annotations

__version__ = "0.1.0"
