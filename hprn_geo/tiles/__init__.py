"""Model-agnostic tiling engine (numpy only).

- :class:`TileGrid` / :class:`Window`: overlapping tiles of a scene (``grid``).
- :func:`blend_weights`: tapered weights that blend overlaps without seams (``blend``).
- :class:`MosaicAccumulator` / :class:`Strip`: streaming weighted mosaic that
  holds one row of tiles (of one block column, if asked), never the whole scene (``mosaic``).
"""

from __future__ import annotations

from hprn_geo.tiles.blend import blend_weights
from hprn_geo.tiles.grid import TileGrid, Window
from hprn_geo.tiles.mosaic import MosaicAccumulator, Strip

__all__ = ["Window", "TileGrid", "Strip", "MosaicAccumulator", "blend_weights"]
