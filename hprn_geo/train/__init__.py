"""Training HPRN on real reflectance cubes: configuration, patch data, the loop.

``hprn-geo train --config configs/vnir31.toml --out out/runs/vnir31`` runs
:func:`train` on a :class:`TrainConfig`; see docs/training.md.
"""

from __future__ import annotations

from hprn_geo.train.config import ConfigError, TrainConfig, load_config
from hprn_geo.train.data import (
    InputConvention,
    PatchPool,
    RGBRenderer,
    Scene,
    load_scene,
    to_grid,
    training_pairs,
)
from hprn_geo.train.loop import Trainer, TrainResult, linear_init, train

__all__ = [
    "ConfigError",
    "InputConvention",
    "PatchPool",
    "RGBRenderer",
    "Scene",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "linear_init",
    "load_config",
    "load_scene",
    "to_grid",
    "train",
    "training_pairs",
]
