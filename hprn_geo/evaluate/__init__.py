"""Evaluation of HPRN checkpoints against classical baselines on held-out scenes.

``hprn-geo evaluate --model vnir31 --data moffett`` runs
:func:`evaluate_checkpoint`: the model through the prediction pipeline and
the baselines (:mod:`~hprn_geo.evaluate.baselines`, fitted on the model's
training cubes) on the same RGB, scored with the same metrics; see docs/accuracy.md.
"""

from __future__ import annotations

from hprn_geo.evaluate.baselines import BASELINES, FlatBaseline, KNNBaseline, RidgeBaseline, fit_baselines
from hprn_geo.evaluate.harness import (
    EvalScene,
    Evaluation,
    evaluate,
    evaluate_checkpoint,
    model_method,
    prepare_scenes,
    scene_metrics,
)
from hprn_geo.evaluate.plots import plot_evaluation

__all__ = [
    "BASELINES", "EvalScene", "Evaluation", "FlatBaseline", "KNNBaseline", "RidgeBaseline", "evaluate",
    "evaluate_checkpoint", "fit_baselines", "model_method", "plot_evaluation", "prepare_scenes", "scene_metrics"
]
