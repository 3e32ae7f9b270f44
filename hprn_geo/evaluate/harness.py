"""One harness for the model and the baselines: same scenes, same RGB, same metrics.

A *method* is any callable ``rgb (3, H, W) -> spectra (B, H, W)``: the model through
:class:`hprn_geo.predict.Predictor` (exactly what ``hprn-geo predict`` does), or a fitted baseline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hprn_geo.sensors import load_responses
from hprn_geo.evaluate.baselines import fit_baselines
from hprn_geo.metrics import mrae, psnr, rmse, sam, ssim
from hprn_geo.predict import PredictOptions, Predictor, pick_device
from hprn_geo.registry import Checkpoint
from hprn_geo.scenes import InputConvention, RGBRenderer, camera_folder, load_scene, training_pairs

__all__ = [
    "EvalScene",
    "Evaluation",
    "Method",
    "evaluate",
    "evaluate_checkpoint",
    "model_method",
    "prepare_scenes",
    "scene_metrics",
]

Method = Callable[[np.ndarray], np.ndarray]
"""rgb (3, H, W) float32 -> spectra (B, H, W)."""

METRICS = ("mrae", "rmse", "sam", "psnr", "ssim")
MODEL = "hprn"
"""The model's name in results (beside the baselines')."""


@dataclass(frozen=True)
class EvalScene:
    """A held-out scene: the RGB a method sees and the truth it is scored against.

    Attributes:
        name: scene name.
        rgb: (3, H, W) float32, rendered by the model's input convention; NaN where there is no data.
        truth: (B, H, W) float32 reflectance on the model's grid; NaN where there is no data.
    """

    name: str
    rgb: np.ndarray
    truth: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        """(H, W) bool: pixels with data (the only ones scored)."""
        return np.isfinite(self.truth).all(axis=0) & np.isfinite(self.rgb).all(axis=0)


def scene_metrics(pred: np.ndarray, scene: EvalScene) -> dict[str, float]:
    """The five metrics of pred (B, H, W) on the scene's valid pixels.

    MRAE, RMSE, SAM and PSNR use the valid pixels' spectra; SSIM needs the
    image, so pixels without data are set to 0 in both prediction and truth
    (they then count as matching). On a scene without gaps this equals
    :func:`hprn_geo.metrics.spectral_metrics`.
    """
    valid = scene.valid
    flat_pred, flat_truth = pred[:, valid], scene.truth[:, valid]
    return {
        "mrae": mrae(flat_pred, flat_truth),
        "rmse": rmse(flat_pred, flat_truth),
        "sam": sam(flat_pred, flat_truth),
        "psnr": psnr(flat_pred, flat_truth, 1.0),
        "ssim": ssim(np.where(valid, pred, 0.0), np.where(valid, scene.truth, 0.0), 1.0),
    }


@dataclass
class Evaluation:
    """Scores and predictions of several methods on several scenes.

    Attributes:
        wavelengths: (B,) nm.
        scenes: the scenes, in order.
        predictions: method -> scene name -> (B, H, W) prediction.
        scores: scene name -> method -> metric -> value.
        info: what else to report (model, input convention, baselines' training data).
    """

    wavelengths: np.ndarray
    scenes: list[EvalScene]
    predictions: dict[str, dict[str, np.ndarray]]
    scores: dict[str, dict[str, dict[str, float]]]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        """Method names, the model first."""
        return list(self.predictions)

    def mean(self) -> dict[str, dict[str, float]]:
        """method -> metric -> mean over scenes."""
        return {
            method: {m: float(np.mean([self.scores[s.name][method][m] for s in self.scenes])) for m in METRICS}
            for method in self.methods
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report: info, wavelengths, per-scene scores and their means."""
        return {
            **self.info,
            "metrics": {"mrae_eps": 1e-3, "sam_units": "degrees", "data_range": 1.0},
            "wavelengths": [float(w) for w in self.wavelengths],
            "scenes": self.scores,
            "mean": self.mean(),
        }


def evaluate(methods: Mapping[str, Method], scenes: Sequence[EvalScene], wavelengths: Sequence[float]) -> Evaluation:
    """Score every method on every scene.

    Args:
        methods: name -> method; the first is treated as the model in plots.
        scenes: held-out scenes.
        wavelengths: (B,) nm of the truth cubes.

    Returns:
        An :class:`Evaluation` holding every prediction and score.
    """
    predictions = {name: {s.name: np.asarray(method(s.rgb), np.float32) for s in scenes} for name, method in methods.items()}
    scores = {s.name: {name: scene_metrics(predictions[name][s.name], s) for name in methods} for s in scenes}
    return Evaluation(np.asarray(wavelengths, np.float64), list(scenes), predictions, scores)


def model_method(
    checkpoint: Checkpoint,
    tile: int | None = None,
    overlap: int | None = None,
    prior: str = "skimage",
    precision: str = "fp32",
    device: str = "auto",
    colour_consistent: bool | None = None,
) -> Method:
    """The model as a method: tiled prediction with ``predict``'s defaults (the card's tile and
    overlap), the semantic ``prior`` method, ``precision`` (``"fp32"`` or ``"bf16"`` autocast),
    ``device`` (``"auto"``: CUDA when present, else the CPU; ``"cpu"``, ``"cuda"``) and
    ``colour_consistent`` (None: the card's) of :class:`hprn_geo.predict.Predictor`."""
    options = PredictOptions(tile=tile, overlap=overlap, device=device, precision=precision, prior=prior,
                             colour_consistent=colour_consistent)
    predictor = Predictor(checkpoint, options)
    return predictor.predict_array


def prepare_scenes(
    names: Sequence[str],
    renderer: RGBRenderer,
    data_dir: str | Path | None,
    fwhm: float | Sequence[float] | None = None,
    edge_clamp_nm: float = 2.0,
) -> list[EvalScene]:
    """Load cubes on the renderer's grid and render their RGB (NaN where there is no data)."""
    scenes = [load_scene(name, renderer.wavelengths, data_dir, fwhm, edge_clamp_nm) for name in names]
    return [EvalScene(scene.name, renderer.fixed(scene.cube), scene.cube) for scene in scenes]


def evaluate_checkpoint(
    checkpoint: Checkpoint,
    data: Sequence[str],
    data_dir: str | Path | None = None,
    *,
    camera: str | None = None,
    rgb_bands: tuple[int, int, int] | None = None,
    baseline_data: Sequence[str] | None = None,
    srf_dir: str | Path | None = None,
    tile: int | None = None,
    overlap: int | None = None,
    edge_clamp_nm: float | None = None,
    prior: str = "skimage",
    precision: str = "fp32",
    device: str = "auto",
    baselines_see_card: bool = False,
    colour_consistent: bool | None = None,
) -> Evaluation:
    """Score a checkpoint and the baselines on held-out cubes.

    RGB is rendered by the card's input convention unless ``camera`` or
    ``rgb_bands`` is given. The baselines are fitted on ``baseline_data``
    (default: the card's training data) rendered the same way, or by the
    card's convention when ``baselines_see_card`` (then neither model nor
    baselines know the camera the scored RGB came through).

    Args:
        checkpoint: the model and its card.
        data: held-out cubes (shared names or files).
        data_dir: the shared data folder.
        camera: render RGB through this camera instead.
        rgb_bands: use these 1-based bands of the grid as RGB instead.
        baseline_data: cubes the baselines are fitted on; ``[]`` for none.
        srf_dir: camera folder (default ``data_dir/srf``).
        tile, overlap: prediction tiling (default: the card's).
        edge_clamp_nm: see :func:`hprn_geo.scenes.to_grid` (default: the card's protocol, else 2).
        prior, precision, device, colour_consistent: the model's semantic prior method, precision,
            device and colour-consistent output (:func:`model_method`).
    """
    card = checkpoint.card
    own = InputConvention.from_card(card.input) if baselines_see_card or not (camera or rgb_bands) else None
    convention = InputConvention(camera, rgb_bands) if camera or rgb_bands else own
    needs_cameras = convention.camera or (own is not None and own.camera)  # type: ignore[union-attr]
    cameras = load_responses(camera_folder(srf_dir, data_dir)) if needs_cameras else None
    renderer = RGBRenderer(convention, card.wavelengths, cameras)
    protocol = card.scores.get("protocol", {})
    clamp = protocol.get("edge_clamp_nm", 2.0) if edge_clamp_nm is None else edge_clamp_nm
    scenes = prepare_scenes(data, renderer, data_dir, card.fwhm, clamp)
    methods: dict[str, Method] = {MODEL: model_method(checkpoint, tile, overlap, prior, precision, device, colour_consistent)}
    fitted_on = list(card.training_data if baseline_data is None else baseline_data)
    if fitted_on:
        training = [load_scene(name, renderer.wavelengths, data_dir, card.fwhm, clamp) for name in fitted_on]
        fit_renderer = RGBRenderer(own, card.wavelengths, cameras) if baselines_see_card else renderer  # type: ignore[arg-type]
        rgb, spectra = training_pairs(training, fit_renderer)
        methods.update({name: b.predict for name, b in fit_baselines(rgb, spectra).items()})
    evaluation = evaluate(methods, scenes, card.wavelengths)
    evaluation.info = {
        "model": card.name,
        "input": convention.describe(),
        "tile": tile or card.tile,
        "overlap": card.overlap if overlap is None else overlap,
        "baselines_fitted_on": fitted_on,
        "baselines_rgb": "card" if baselines_see_card else "same as scored",
        "edge_clamp_nm": clamp,
        "prior": prior,
        "precision": precision,
        "device": str(pick_device(device)),
        "colour_consistent": checkpoint.card.colour_consistent if colour_consistent is None else colour_consistent,
    }
    return evaluation
