"""The experiment: classify RGB, HPRN-reconstructed HSI and the real HSI with one classifier and one split.

:func:`classify_scene` is what ``hprn-geo classify`` runs; its steps are in docs/classify.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from hprn_geo.cameras import Camera
from hprn_geo.classify.cnn import ClassifierConfig, PixelClassifier
from hprn_geo.fit.scenefit import SceneFitConfig, fit_scene_model
from hprn_geo.classify.scores import ClassScores, class_scores
from hprn_geo.classify.split import Split
from hprn_geo.errors import DataFileError
from hprn_geo.io.cube import Cube
from hprn_geo.metrics import mrae, sam
from hprn_geo.predict import PredictOptions, Predictor, pick_device
from hprn_geo.registry import Checkpoint
from hprn_geo.scenes import InputConvention, RGBRenderer, to_grid

__all__ = ["CLASSIFY_FIT", "INPUTS", "ClassificationResult", "classify_scene", "default_rgb_bands", "simulate_rgb"]

INPUTS: tuple[str, ...] = ("rgb", "reconstructed", "hsi")
"""The three inputs, in report order."""

CLASSIFY_FIT = SceneFitConfig(start="linear")
"""The scene fit of the experiment: ``hprn-geo fit``'s recipe but for its start, the relative linear map.
The recipe's lookup start fills a 128 x 128 table from the training pixels; with the experiment's few
labelled pixels (50 a class) it reconstructed the test pixels worse on all three shared labelled scenes and
both seeds (docs/classify.md, "The start of the scene fit")."""

DEFAULT_RGB_NM: tuple[float, float, float] = (650.0, 550.0, 450.0)
REFLECTANCE_LIMIT = 1.5
"""A checkpoint's input must be reflectance: a cube whose 99.9th percentile exceeds this needs ``scale``."""


@dataclass
class ClassificationResult:
    """Scores of the three inputs, the reconstruction's own error, and how they were made.

    Attributes:
        scores: :data:`INPUTS` -> scores on the test pixels.
        split: the split used (restricted to pixels with data).
        reconstruction: ``mrae``, ``sam`` (degrees) of the reconstruction on the
            test pixels, ``model`` (what made it) and ``bands``.
        classifier: the classifier's settings.
        fit: the scene fit's settings, None when a checkpoint reconstructed.
        notes: what was done to the data on the way (resampling, scaling, RGB).
        maps: :data:`INPUTS` -> (H, W) class maps of every pixel with data, when asked.
    """

    scores: dict[str, ClassScores]
    split: Split
    reconstruction: dict
    classifier: ClassifierConfig
    fit: SceneFitConfig | None
    notes: list[str] = field(default_factory=list)
    maps: dict[str, np.ndarray] | None = None

    def to_dict(self) -> dict:
        """JSON-ready report: one entry per input, then the reconstruction, split, seed and settings."""
        counts = self.split.counts()
        report: dict = {name: self.scores[name].to_dict() for name in INPUTS}
        report.update(
            reconstruction=self.reconstruction,
            split={
                "source": self.split.source,
                "train": int(self.split.train.sum()),
                "test": int(self.split.test.sum()),
                "train_per_class": counts["train"],
                "test_per_class": counts["test"],
            },
            seed=self.classifier.seed,
            classifier=self.classifier.to_dict(),
            fit=None if self.fit is None else self.fit.to_dict(),
            notes=self.notes,
        )
        return report


def default_rgb_bands(wavelengths: np.ndarray | None) -> tuple[int, int, int]:
    """1-based bands nearest 650, 550 and 450 nm.

    Raises:
        DataFileError: no wavelengths, or a band more than 50 nm from its target.
    """
    if wavelengths is None:
        raise DataFileError("the cube has no wavelengths: give --rgb-bands R,G,B (1-based) or --wavelengths")
    picks = [int(np.argmin(np.abs(wavelengths - nm))) for nm in DEFAULT_RGB_NM]
    far = [nm for nm, b in zip(DEFAULT_RGB_NM, picks) if abs(wavelengths[b] - nm) > 50]
    if far:
        raise DataFileError(f"the cube has no band within 50 nm of {far} nm: give --rgb-bands or --camera")
    return picks[0] + 1, picks[1] + 1, picks[2] + 1


def simulate_rgb(
    cube: np.ndarray,
    wavelengths: np.ndarray | None,
    rgb_bands: Sequence[int] | None = None,
    camera: str | None = None,
    cameras: Mapping[str, Camera] | None = None,
) -> tuple[np.ndarray, str]:
    """RGB from a cube by bands or by a camera response.

    Args:
        cube: (B, H, W).
        wavelengths: (B,) nm, or None (then only ``rgb_bands`` work).
        rgb_bands: 1-based (R, G, B) band numbers.
        camera: a camera name of ``cameras`` (needs wavelengths).
        cameras: the loaded responses (:func:`hprn_geo.cameras.load_cameras`).

    Returns:
        rgb (3, H, W) float32 and its input-convention text (as a model card's ``input``).

    Raises:
        DataFileError: bands out of range, both or neither way possible, an unknown camera.
    """
    if rgb_bands is not None and camera is not None:
        raise DataFileError("give --rgb-bands or --camera, not both")
    bands = cube.shape[0]
    if camera is not None:
        if wavelengths is None:
            raise DataFileError("--camera needs the cube's wavelengths (in the file or --wavelengths)")
        convention = InputConvention(camera=camera)
        grid = wavelengths
    else:
        rgb_bands = tuple(rgb_bands) if rgb_bands is not None else default_rgb_bands(wavelengths)
        outside = [b for b in rgb_bands if not 1 <= b <= bands]
        if outside:
            raise DataFileError(f"--rgb-bands {outside} out of range: the cube has bands 1-{bands} (1-based)")
        convention = InputConvention(rgb_bands=rgb_bands)  # type: ignore[arg-type]
        grid = wavelengths if wavelengths is not None else np.arange(1.0, bands + 1)
    renderer = RGBRenderer(convention, grid, cameras)
    return renderer.fixed(cube), convention.describe()


def classify_scene(
    cube: Cube,
    split: Split,
    *,
    rgb_bands: Sequence[int] | None = None,
    camera: str | None = None,
    cameras: Mapping[str, Camera] | None = None,
    checkpoint: Checkpoint | None = None,
    scale: float | None = None,
    fit: SceneFitConfig = CLASSIFY_FIT,
    classifier: ClassifierConfig = ClassifierConfig(),
    maps: bool = False,
    device: str = "auto",
    progress: bool = False,
) -> ClassificationResult:
    """Run the experiment on one labelled cube.

    Args:
        cube: the labelled scene, (B, H, W) with optional wavelengths.
        split: training and test pixels (:mod:`hprn_geo.classify.split`).
        rgb_bands, camera, cameras: how RGB is simulated (see :func:`simulate_rgb`);
            not with a checkpoint, whose card fixes its input.
        checkpoint: reconstruct with this trained model instead of fitting one on the scene.
        scale: multiply the cube by this first (with a checkpoint: to reach reflectance, e.g. 1e-4).
        fit: scene-fit settings (ignored with a checkpoint).
        classifier: classifier settings (its seed is the report's seed).
        maps: also classify every pixel with data, for plots.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        progress: progress bars on stderr.

    Raises:
        DataFileError: bad bands, no training pixel with data, a cube that is
            not reflectance or not on a grid the checkpoint can use.
    """
    notes: list[str] = []
    torch_device = pick_device(device)
    data = cube.data if scale is None else cube.data * np.float32(scale)
    valid = np.isfinite(data).all(axis=0)
    restricted = split.restricted(valid)
    dropped = int((split.train | split.test).sum() - (restricted.train | restricted.test).sum())
    if dropped:
        notes.append(f"{dropped} labelled pixels without data in every band were left out of the split")
    if checkpoint is None:
        hsi, rgb, checkpoint = _scene_fit(
            data, cube.wavelengths, restricted, rgb_bands, camera, cameras, fit, notes, progress, torch_device
        )
        model, fit_used = f"HPRN {fit.preset} fitted on this scene for {fit.steps} steps, test pixels never a target", fit
    else:
        if rgb_bands is not None or camera is not None:
            raise DataFileError(f"model {checkpoint.card.name!r} fixes its RGB input ({checkpoint.card.input_prefix}); "
                                "drop --rgb-bands/--camera")
        hsi, rgb = _on_model_grid(cube, data, checkpoint, cameras, notes)
        model, fit_used = f"checkpoint {checkpoint.card.name!r}", None
    recon = Predictor(checkpoint, PredictOptions(device=str(torch_device))).predict_array(rgb, valid)
    test = restricted.test
    reconstruction = {
        "mrae": mrae(recon[:, test], hsi[:, test]),
        "sam": sam(recon[:, test], hsi[:, test]),
        "pixels": int(test.sum()),
        "bands": int(hsi.shape[0]),
        "model": model,
        "device": str(torch_device),
    }
    rows, cols = np.nonzero(test)
    scores, class_maps = {}, {}
    for name, image in zip(INPUTS, (rgb, recon, hsi)):
        fitted = PixelClassifier(image, restricted.labels, restricted.train, classifier, torch_device, progress, name)
        scores[name] = class_scores(restricted.labels[rows, cols], fitted.predict(rows, cols), restricted.classes)
        if maps:
            class_maps[name] = fitted.predict_map(valid)
    return ClassificationResult(scores, restricted, reconstruction, classifier, fit_used, notes, class_maps or None)


def _scene_fit(
    data: np.ndarray,
    wavelengths: np.ndarray | None,
    split: Split,
    rgb_bands: Sequence[int] | None,
    camera: str | None,
    cameras: Mapping[str, Camera] | None,
    fit: SceneFitConfig,
    notes: list[str],
    progress: bool,
    device: torch.device,
) -> tuple[np.ndarray, np.ndarray, Checkpoint]:
    """hsi (B, H, W), rgb (3, H, W) and HPRN fitted on the scene outside the test split.

    The scale (the 99.9th percentile) is taken from the pixels that may be
    targets, so that test spectra do not set it either.
    """
    targets = np.isfinite(data).all(axis=0) & ~split.test
    top = float(np.percentile(data[:, targets], 99.9)) if targets.any() else 0.0
    if not top > 0:
        raise DataFileError("the cube's values outside the test split are not positive; nothing to reconstruct")
    hsi = (data / np.float32(top)).astype(np.float32)
    notes.append(
        f"cube divided by the 99.9th percentile of its non-test pixels ({top:.6g}) so that RGB lies in about [0, 1]"
    )
    rgb, convention = simulate_rgb(hsi, wavelengths, rgb_bands, camera, cameras)
    notes.append(f"RGB: {convention}")
    grid = wavelengths if wavelengths is not None else np.arange(1.0, hsi.shape[0] + 1)
    return hsi, rgb, fit_scene_model(rgb, hsi, ~split.test, grid, convention, fit, progress, device)


def _on_model_grid(
    cube: Cube, data: np.ndarray, checkpoint: Checkpoint, cameras: Mapping[str, Camera] | None, notes: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """hsi on the checkpoint's grid (B, H, W) and RGB (3, H, W) by its card's input convention."""
    card, grid = checkpoint.card, checkpoint.wavelengths
    if cube.wavelengths is None:
        if data.shape[0] != card.bands:
            raise DataFileError(
                f"the cube has {data.shape[0]} bands and no wavelengths; model {card.name!r} has {card.bands}: "
                "give --wavelengths to resample it"
            )
        notes.append(f"the cube has no wavelengths; its {card.bands} bands are taken as model {card.name!r}'s grid")
        hsi = data
    elif cube.wavelengths.shape == grid.shape and np.allclose(cube.wavelengths, grid, atol=0.5):
        hsi = data
    else:
        hsi = to_grid(Cube(data, cube.wavelengths, cube.fwhm, cube.name), grid, card.fwhm)
        notes.append(
            f"cube resampled from {data.shape[0]} bands ({cube.wavelengths.min():g}-{cube.wavelengths.max():g} nm) "
            f"to model {card.name!r}'s {card.bands} bands ({grid.min():g}-{grid.max():g} nm); "
            "'hsi' and 'reconstructed' are both on the model's grid"
        )
    top = float(np.nanpercentile(hsi, 99.9))
    if top > REFLECTANCE_LIMIT:
        raise DataFileError(
            f"the cube does not look like reflectance (99.9th percentile {top:.4g}); pass --scale, e.g. 1e-4"
        )
    renderer = RGBRenderer(InputConvention.from_card(card.input), grid, cameras)
    notes.append(f"RGB: {card.input}")
    return hsi.astype(np.float32), renderer.fixed(hsi)
