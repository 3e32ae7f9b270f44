"""Training HPRN on real reflectance cubes: configuration, patch data, the loop (scenes and RGB
rendering are :mod:`hprn_geo.scenes`, the linear start :func:`hprn_geo.model.linear_init`).

``hprn-geo train --config configs/vnir31.toml --out out/runs/vnir31`` runs
:func:`train` on a :class:`TrainConfig`; see docs/training.md.
"""

from __future__ import annotations

from hprn_geo.train.config import ConfigError, TrainConfig, load_config
from hprn_geo.train.data import PatchPool, renderer_for
from hprn_geo.train.loop import Trainer, TrainResult, train

__all__ = ["ConfigError", "PatchPool", "TrainConfig", "TrainResult", "Trainer", "load_config", "renderer_for", "train"]
