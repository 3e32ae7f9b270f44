"""``hprn-geo fit``: HPRN fitted to one scene's own RGB -> spectrum map, checked on a blocked holdout.

:func:`fit_pair` runs the steps of docs/fit.md and writes a normal checkpoint whose card says what it
was fitted on, with the holdout table.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from hprn_geo.errors import DataFileError, MisregistrationWarning, OutputError, TooFewPixelsError
from hprn_geo.fit.coregister import Registration, check_registration
from hprn_geo.fit.holdout import HoldoutSpectra, blocked_holdout, score_holdout
from hprn_geo.fit.pair import ScenePair, read_pair
from hprn_geo.fit.scenefit import SceneFitConfig, block_mean, fit_scene_model
from hprn_geo.fit.state import TrainingState
from hprn_geo.io.labels import read_label_map
from hprn_geo.predict import PredictOptions, Predictor, pick_device
from hprn_geo.registry import Checkpoint, save_checkpoint

__all__ = ["FitReport", "fit_pair"]

ALIGN_ROUNDS = 2
"""``align``: at most this many rounds of measure, move, measure again."""

ALIGNED = 0.05
"""``align`` stops when the shift left is below this (cube pixels): the check's precision."""


@dataclass
class FitReport:
    """What :func:`fit_pair` did.

    Attributes:
        checkpoint: the fitted model and its card (as written).
        path: the checkpoint file.
        holdout: the held-out pixels' spectra, true and predicted by each method, or None without holdout.
        registration: the co-registration as found (before any alignment).
        aligned: the co-registration left after ``align`` moved the photo, or None.
        moved: (rows, cols), cube pixels, by which ``align`` moved the photo.
        factor: photo pixels per cube pixel along each axis.
        train_pixels, holdout_pixels: cube pixels used as targets, and scored.
        seconds: wall time.
        notes: one line each, what was assumed or found.
    """

    checkpoint: Checkpoint
    path: Path
    holdout: HoldoutSpectra | None
    registration: Registration
    aligned: Registration | None
    moved: tuple[float, float]
    factor: int
    train_pixels: int
    holdout_pixels: int
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def table(self) -> dict[str, dict[str, float]]:
        """Held-out MRAE, SAM, RMSE per method (``hprn``, ``ridge``, ``knn``, ``flat``); empty without holdout."""
        return {} if self.holdout is None else self.holdout.table()


def fit_pair(
    rgb: str | Path,
    cube: str | Path,
    output: str | Path,
    *,
    wavelengths: Sequence[float] | str | Path | None = None,
    bands: Sequence[int] | str | None = None,
    rgb_bands: tuple[int, int, int] | None = None,
    holdout: float = 0.2,
    holdout_mask: str | Path | None = None,
    holdout_block: int = 8,
    config: SceneFitConfig = SceneFitConfig(),
    align: bool = False,
    min_pixels: int = 100,
    device: str = "auto",
    resume: bool = False,
    progress: bool = False,
) -> FitReport:
    """Fit HPRN to an RGB raster and a co-registered hyperspectral raster of part of it; write a checkpoint.

    Args:
        rgb: the photo (any GDAL RGB raster; ``predict`` with the checkpoint then reads any photo like it).
        cube: the hyperspectral raster (B bands, nm wavelengths in its metadata or ``wavelengths``).
        output: the checkpoint to write (``.pt``); the card is also written beside it as JSON.
        wavelengths: (B,) nm or a text file of them, overriding the metadata; None or ``"auto"``: the metadata's.
        bands: 1-based cube bands to fit, or their list as text (``"1-50,60"``); default all.
        rgb_bands: the photo's 1-based R, G, B bands when it has more than three (``predict`` then
            needs the same ``rgb_bands``); default: as ``predict`` picks them.
        holdout: share of the cube's valid pixels held out in whole blocks (0: none, no scores).
        holdout_mask: a raster or array file on the cube's grid, non-zero = held out (instead of ``holdout``).
        holdout_block: side of the held-out blocks, cube pixels.
        config: training settings (preset, steps, patch, ...; ``seed`` also draws the holdout).
        align: move the photo by the shift the co-registration check finds before fitting.
        min_pixels: fewest training pixels accepted.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        resume: continue an interrupted fit from ``<output>.state.pt``.
        progress: show a progress bar.

    Returns:
        The :class:`FitReport`.

    Raises:
        MissingCRSError, MissingWavelengthsError, NoOverlapError: see :func:`hprn_geo.fit.pair.read_pair`.
        TooFewPixelsError: fewer than ``min_pixels`` training pixels.
        DataFileError: a holdout mask of another shape than the cube.
        OutputError: the output's folder is missing or not writable (checked before anything else).

    Warns:
        MisregistrationWarning: the photo lies shifted by more than half a cube pixel (and ``align`` is off).
        NotReflectanceWarning: the cube looks like radiance.
    """
    started = time.perf_counter()
    _check_output(Path(output))
    pair, registration, aligned, moved = _read(functools.partial(read_pair, rgb, cube, wavelengths, bands, rgb_bands=rgb_bands), align,
                                               min_pixels)  # fmt: skip
    held = _holdout(pair, holdout, holdout_mask, holdout_block, config.seed) & pair.valid
    train = pair.valid & ~held
    if train.sum() < min_pixels:
        raise TooFewPixelsError(
            f"{int(train.sum())} cube pixels with data in both rasters are left for training; at least {min_pixels} are needed"
        )
    torch_device = pick_device(device)
    state = TrainingState(f"{output}.state.pt", _fingerprint(pair, train, config), max(1, config.steps // 20), resume)
    fitted = fit_scene_model(pair.rgb, pair.cube, train, pair.wavelengths, pair.input_text, config, progress,
                             torch_device, state)  # fmt: skip
    spectra = _score(fitted, pair, train, held, str(torch_device), progress) if held.any() else None
    scores = {"holdout": {} if spectra is None else spectra.table(), "registration": registration.to_dict(),
              "aligned": None if aligned is None else {**aligned.to_dict(), "moved_rows": moved[0], "moved_cols": moved[1]},
              "factor": pair.factor, "bands": list(pair.bands), "fit": config.to_dict(), **fitted.card.scores}  # fmt: skip
    held_text = f"held-out pixels of {Path(holdout_mask).name}" if holdout_mask else "held-out pixels in whole blocks"
    card = replace(
        fitted.card, name=Path(output).stem, fwhm=None if pair.fwhm is None else tuple(map(float, pair.fwhm)),
        training_data=(_describe(pair, int(train.sum()), "training pixels outside the holdout"),),
        test_data=(_describe(pair, int(held.sum()), held_text),) if held.any() else (), scores=scores,
    )
    save_checkpoint(output, fitted.model, card)
    Path(output).with_suffix(".json").write_text(json.dumps(card.to_dict(), indent=2, default=float) + "\n")
    state.remove()
    notes = [f"photo: {pair.input_text.split('|', 1)[1].strip()}", f"grid: {pair.factor} x {pair.factor} photo pixels per cube pixel"]
    return FitReport(Checkpoint(fitted.model, card), Path(output), spectra, registration, aligned, moved, pair.factor,
                     int(train.sum()), int(held.sum()), time.perf_counter() - started, notes)  # fmt: skip


def _check_output(path: Path) -> None:
    """Refuse an output whose folder is missing or not writable, before any training."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write {path}: {folder} is not a writable folder")


def _read(
    reader: Callable[..., ScenePair], align: bool, min_pixels: int
) -> tuple[ScenePair, Registration, Registration | None, tuple[float, float]]:
    """The pair (moved with ``align``), its registration as read, the one left after moving, and the move."""
    pair = reader()
    if pair.valid.sum() < min_pixels:
        raise TooFewPixelsError(
            f"only {int(pair.valid.sum())} cube pixels have data in both {pair.rgb_path} and {pair.cube_path}; "
            f"at least {min_pixels} are needed"
        )
    registration = _registration(pair)
    if align:
        moved_pair, left, moved = _align(reader, pair, registration)
        return moved_pair, registration, left, moved
    if registration.misregistered:
        warnings.warn(
            f"{pair.rgb_path} lies {registration.offset:.2f} cube pixels off {pair.cube_path} (rows "
            f"{registration.shift[0]:+.2f}, cols {registration.shift[1]:+.2f}); pass --align to move it",
            MisregistrationWarning, stacklevel=3,
        )  # fmt: skip
    return pair, registration, None, (0.0, 0.0)


def _registration(pair: ScenePair) -> Registration:
    return check_registration(pair.cube, block_mean(pair.rgb, pair.factor), pair.valid)


def _align(
    reader: Callable[..., ScenePair], pair: ScenePair, found: Registration
) -> tuple[ScenePair, Registration, tuple[float, float]]:
    """The pair re-read (``reader(shift=...)``) with the photo moved by the shifts found, in up to
    :data:`ALIGN_ROUNDS` rounds; with the registration left and the total shift applied."""
    shift, residual = np.zeros(2), found
    for _ in range(ALIGN_ROUNDS):
        if residual.offset < ALIGNED:
            break
        shift = shift + residual.shift
        pair = reader(shift=(float(shift[0]), float(shift[1])))
        residual = _registration(pair)
    return pair, residual, (float(shift[0]), float(shift[1]))


def _holdout(pair: ScenePair, fraction: float, mask: str | Path | None, block: int, seed: int) -> np.ndarray:
    """(H, W) bool held-out cube pixels of the overlap: from the mask file, else blocked at random."""
    if mask is None:
        return blocked_holdout(pair.valid, fraction, block, seed)
    labels = read_label_map(mask)
    window = pair.window
    full = (int(window.row_off + window.height), int(window.col_off + window.width))
    if labels.shape[0] < full[0] or labels.shape[1] < full[1]:
        raise DataFileError(f"holdout mask {mask} is {labels.shape}; the cube's grid needs at least {full}")
    rows, cols = window.toslices()
    return labels[rows, cols] != 0


def _score(fitted: Checkpoint, pair: ScenePair, train: np.ndarray, held: np.ndarray, device: str,
           progress: bool) -> HoldoutSpectra:  # fmt: skip
    """The held-out spectra, the model run over the overlap as ``predict`` runs it."""
    predictor = Predictor(fitted, PredictOptions(device=device, prior="skimage"), progress=progress)
    predicted = predictor.predict_array(np.nan_to_num(pair.rgb), np.isfinite(pair.rgb).all(axis=0))
    return score_holdout(block_mean(predicted, pair.factor), pair.cube, block_mean(pair.rgb, pair.factor), train, held)


def _fingerprint(pair: ScenePair, train: np.ndarray, config: SceneFitConfig) -> dict:
    """What a resumed fit must share with the interrupted one: the data, the targets and the settings."""
    digest = hashlib.sha256()
    for array in (pair.rgb, pair.cube, train):
        digest.update(np.ascontiguousarray(array).tobytes())
    return {"data": digest.hexdigest(), "config": config.to_dict()}


def _describe(pair: ScenePair, pixels: int, what: str) -> str:
    w = pair.window
    return (f"{Path(pair.cube_path).name} (rows {int(w.row_off)}-{int(w.row_off + w.height) - 1}, cols "
            f"{int(w.col_off)}-{int(w.col_off + w.width) - 1}, {len(pair.bands)} bands) with "
            f"{Path(pair.rgb_path).name} at {pair.factor}x finer pixels: {pixels} {what}")  # fmt: skip
