"""Training HPRN on real reflectance cubes: configuration, patch data, the loop.

``hprn-geo train --config configs/vnir31.toml --out runs/vnir31`` runs
:func:`train` on a :class:`TrainConfig`; see docs/training.md.
"""

from __future__ import annotations

from hprn_geo.train.config import ConfigError, TrainConfig, load_config
from hprn_geo.train.data import InputConvention, PatchPool, RGBRenderer, Scene, load_scene, to_grid

__all__ = [
    "ConfigError",
    "InputConvention",
    "PatchPool",
    "RGBRenderer",
    "Scene",
    "TrainConfig",
    "load_config",
    "load_scene",
    "to_grid",
]
