"""Does reconstructed HSI classify better than RGB? The paper's Pavia experiment for any labelled scene.

See ``docs/classify.md`` and ``hprn-geo classify --help``.
"""

from __future__ import annotations

from hprn_geo.classify.cnn import ClassifierConfig, PatchCNN, PixelClassifier
from hprn_geo.classify.experiment import CLASSIFY_FIT, INPUTS, ClassificationResult, classify_scene, simulate_rgb
from hprn_geo.fit.scenefit import SceneFitConfig, fit_scene_model
from hprn_geo.classify.scores import ClassScores, class_scores, confusion_matrix
from hprn_geo.classify.split import Split, fixed_split, random_split

__all__ = [
    "CLASSIFY_FIT", "INPUTS", "ClassScores", "ClassificationResult", "ClassifierConfig", "PatchCNN", "PixelClassifier",
    "SceneFitConfig", "Split", "class_scores", "classify_scene", "confusion_matrix", "fit_scene_model", "fixed_split",
    "random_split", "simulate_rgb"
]
