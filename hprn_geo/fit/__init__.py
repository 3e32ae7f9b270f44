"""Fit HPRN to one scene from a co-registered RGB and hyperspectral pair: ``hprn-geo fit``.

See ``docs/fit.md``. :func:`fit_scene_model` is the one training loop of a
scene fit, shared with ``hprn-geo classify``.
"""

from __future__ import annotations

from hprn_geo.fit.scenefit import SceneFitConfig, block_mean, fit_scene_model
from hprn_geo.fit.state import TrainingState

__all__ = ["SceneFitConfig", "TrainingState", "block_mean", "fit_scene_model"]
