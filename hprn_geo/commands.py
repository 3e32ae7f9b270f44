"""The ``train``, ``evaluate``, ``classify`` and ``fit`` commands: thin click front doors over
:mod:`hprn_geo.train`, :mod:`hprn_geo.evaluate`, :mod:`hprn_geo.classify` and :mod:`hprn_geo.fit`.

Errors are raised as :class:`hprn_geo.errors.HPRNGeoError` subclasses and
shown by :func:`hprn_geo.cli.friendly_errors` as one line with exit status 1.
``hprn_geo.cli`` loads this module lazily, so importing it from here is safe.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click
import numpy as np

from hprn_geo.cli import COLOUR_CONSISTENT, friendly_errors, parse_rgb_bands
from hprn_geo.errors import DataFileError, OutputError

if TYPE_CHECKING:
    from hprn_geo.classify import Split
    from hprn_geo.io.cubes import Cube

__all__ = ["classify", "evaluate", "fit", "train"]


_DATA_DIR = click.option(
    "--data-dir", type=click.Path(file_okay=False), envvar="HPRN_GEO_DATA",
    help="Folder of the shared cubes named by --data/--train (env HPRN_GEO_DATA).",
)  # fmt: skip
_CAMERA = click.option("--camera", help="Render RGB through this camera (a name of the srf/ folder's cameras).")
_RGB_BANDS = click.option("--rgb-bands", callback=parse_rgb_bands, help="Use these 1-based bands of the grid as RGB, e.g. 53,31,7.")


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True), help="A TOML training config.")
@click.option("--out", "run_dir", required=True, type=click.Path(file_okay=False), help="Run folder (state, log, plot, model.pt).")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("--name", help="Model name for the card.")
@click.option("--train", "train_scenes", multiple=True, help="Training cube (shared name, glob of shared tiles, or file); repeat.")
@click.option("--validation", multiple=True, help="Validation cube for early stopping; repeat (none: a fixed schedule, the last step is kept).")
@click.option("--test", multiple=True, help="Test cube, recorded in the card for scoring; repeat.")
@_DATA_DIR
@_CAMERA
@_RGB_BANDS
@click.option("--wavelengths", help="Output grid as START,STOP,COUNT (nm), e.g. 400,700,31.")
@click.option("--preset", type=click.Choice(["small", "compact", "paper"]))
@click.option("--patch-size", type=click.IntRange(min=8))
@click.option("--batch-size", type=click.IntRange(min=1))
@click.option("--steps", type=click.IntRange(min=1))
@click.option("--lr", type=click.FloatRange(min=0, min_open=True))
@click.option("--seed", type=int)
@click.option("--bf16", is_flag=True, default=None, help="bfloat16 autocast on the CPU.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@friendly_errors
def train(config_path: str | None, run_dir: str, resume: bool, name: str | None, train_scenes: tuple[str, ...],
          validation: tuple[str, ...], test: tuple[str, ...], data_dir: str | None, camera: str | None,
          rgb_bands: tuple[int, int, int] | None, wavelengths: str | None, preset: str | None,
          patch_size: int | None, batch_size: int | None, steps: int | None, lr: float | None, seed: int | None,
          bf16: bool | None, quiet: bool) -> None:
    """Train HPRN on reflectance cubes; flags override the --config file."""
    from hprn_geo.train import load_config
    from hprn_geo.train import train as run_training

    grid = None
    if wavelengths is not None:
        start, stop, count = parse_grid(wavelengths)
        grid = {"start": start, "stop": stop, "count": count}
    config = load_config(
        config_path, name=name, train=train_scenes or None, validation=validation or None, test=test or None,
        data_dir=data_dir, camera=camera, rgb_bands=rgb_bands, wavelengths=grid, preset=preset,
        patch_size=patch_size, batch_size=batch_size, steps=steps, lr=lr, seed=seed, bf16=bf16,
        augment_cameras=[] if rgb_bands is not None else None,
    )  # fmt: skip
    result = run_training(config, run_dir, resume=resume, progress=not quiet)
    how = "stopped early" if result.stopped_early else "finished"
    best = (f"best validation MRAE {result.best_val_mrae:.4f} at step {result.best_step}" if config.validation
            else "no validation scenes: kept the last step")
    click.echo(f"hprn-geo: {how} at step {result.steps_run} in {result.seconds:.0f} s; {best}; wrote {result.checkpoint}",
               err=True)


@click.command()
@click.option("--model", "model_name", help="Bundled model name (see `hprn-geo models`).")
@click.option("--weights", type=click.Path(dir_okay=False), help="A checkpoint file instead of a bundled model.")
@click.option("--data", multiple=True, required=True, help="Held-out cube (shared name or file); repeat.")
@_DATA_DIR
@_CAMERA
@_RGB_BANDS
@click.option("--baselines-from", multiple=True, help="Fit the baselines on these cubes [default: the card's training data].")
@click.option("--no-baselines", is_flag=True, help="Score the model alone.")
@click.option("--tile", type=click.IntRange(min=1), help="Tile side [default: the card's].")
@click.option("--overlap", type=click.IntRange(min=0), help="Tile overlap [default: the card's].")
@click.option("--prior", default="skimage", show_default=True, type=click.Choice(["skimage", "torch", "torch-connected"]),
              help="The model's semantic prior (as predict's --prior).")
@click.option("--precision", default="fp32", show_default=True, type=click.Choice(["fp32", "bf16"]),
              help="The model's precision (bf16 autocast).")
@click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"]),
              help="Where the model runs (auto: CUDA when present).")
@COLOUR_CONSISTENT
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the scores as JSON.")
@click.option("--plots", "plot_dir", type=click.Path(file_okay=False), help="Write error maps, spectra and error-vs-wavelength plots.")
@friendly_errors
def evaluate(model_name: str | None, weights: str | None, data: tuple[str, ...], data_dir: str | None,
             camera: str | None, rgb_bands: tuple[int, int, int] | None, baselines_from: tuple[str, ...],
             no_baselines: bool, tile: int | None, overlap: int | None, prior: str, precision: str, device: str,
             colour_consistent: bool | None, json_path: str | None, plot_dir: str | None) -> None:
    """Score a model and the classical baselines on held-out cubes (MRAE, RMSE, SAM, PSNR, SSIM)."""
    from hprn_geo.evaluate import evaluate_checkpoint, plot_evaluation
    from hprn_geo.registry import resolve

    checkpoint = resolve(model_name, weights)
    baseline_data = [] if no_baselines else (list(baselines_from) or None)
    evaluation = evaluate_checkpoint(
        checkpoint, data, data_dir, camera=camera, rgb_bands=rgb_bands, baseline_data=baseline_data,
        tile=tile, overlap=overlap, prior=prior, precision=precision, device=device, colour_consistent=colour_consistent,
    )  # fmt: skip
    report = evaluation.to_dict()
    publish(report, format_table(report), json_path, plot_dir, functools.partial(plot_evaluation, evaluation))


@click.command()
@click.option("--cube", "cube_path", required=True, type=click.Path(exists=True), help="The labelled cube: .mat, ENVI, GeoTIFF/any GDAL raster, Zarr/NetCDF.")
@click.option("--cube-key", help="The cube's variable in a .mat file [default: its only 3-D array].")
@click.option("--gt", "gt_path", required=True, type=click.Path(exists=True, dir_okay=False), help="Label map, 0 = unlabelled: .mat, .npy or a raster.")
@click.option("--gt-key", help="The label map's variable in a .mat file [default: its only 2-D array].")
@click.option("--wavelengths", help="Band centres: START,STOP,COUNT (nm) or a text file of numbers; overrides the file's.")
@_RGB_BANDS
@_CAMERA
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="HPRN_GEO_DATA",
              help="Shared data folder whose srf/ holds the --camera responses (env HPRN_GEO_DATA).")
@click.option("--scale", type=float, help="Multiply the cube by this first (with --model/--weights: to reach reflectance, e.g. 1e-4).")
@click.option("--train-mask", type=click.Path(exists=True, dir_okay=False), help="Fixed split: map of the training pixels (e.g. TRpavia_fixed.mat).")
@click.option("--test-mask", type=click.Path(exists=True, dir_okay=False), help="Fixed split: map of the test pixels (e.g. TSpavia_fixed.mat).")
@click.option("--train-per-class", type=int, help="Random split: this many training pixels per class, the rest are test pixels.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the random split, the classifier and the scene fit.")
@click.option("--model", "model_name", help="Reconstruct with this bundled model instead of fitting HPRN on the scene.")
@click.option("--weights", type=click.Path(dir_okay=False), help="Reconstruct with this checkpoint instead of fitting HPRN on the scene.")
@click.option("--preset", default="compact", show_default=True, type=click.Choice(["compact", "paper"]), help="Scene fit: HPRN size.")
@click.option("--fit-steps", default=500, show_default=True, type=click.IntRange(min=1), help="Scene fit: training steps.")
@click.option("--epochs", default=100, show_default=True, type=click.IntRange(min=1), help="Classifier training epochs.")
@click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"]))
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the scores as JSON.")
@click.option("--plots", "plot_dir", type=click.Path(file_okay=False), help="Write class maps and confusion matrices.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@friendly_errors
def classify(cube_path: str, cube_key: str | None, gt_path: str, gt_key: str | None, wavelengths: str | None,
             rgb_bands: tuple[int, int, int] | None, camera: str | None, data_dir: str | None, scale: float | None,
             train_mask: str | None, test_mask: str | None, train_per_class: int | None, seed: int,
             model_name: str | None, weights: str | None, preset: str, fit_steps: int, epochs: int, device: str,
             json_path: str | None, plot_dir: str | None, quiet: bool) -> None:
    """Classify RGB, HPRN-reconstructed HSI and the real HSI of a labelled cube with one CNN and one split."""
    from hprn_geo.cameras import load_cameras
    from hprn_geo.classify import ClassifierConfig, SceneFitConfig, classify_scene
    from hprn_geo.classify.plots import plot_classification
    from hprn_geo.io.labels import read_label_map
    from hprn_geo.registry import resolve
    from hprn_geo.train.data import camera_folder

    if model_name and weights:
        raise DataFileError("give --model or --weights, not both")
    cube = _read_labelled_cube(cube_path, cube_key, wavelengths)
    usable = np.isfinite(cube.data).all(axis=0)
    split = _split(read_label_map(gt_path, gt_key), train_mask, test_mask, train_per_class, seed, usable)
    checkpoint = resolve(model_name, weights) if model_name or weights else None
    needs_camera = camera is not None or (checkpoint is not None and checkpoint.card.input.startswith("camera:"))
    cameras = load_cameras(camera_folder(None, data_dir)) if needs_camera else None
    result = classify_scene(
        cube, split, rgb_bands=rgb_bands, camera=camera, cameras=cameras, checkpoint=checkpoint, scale=scale,
        fit=SceneFitConfig(preset=preset, steps=fit_steps, seed=seed), classifier=ClassifierConfig(epochs=epochs, seed=seed),
        maps=plot_dir is not None, device=device, progress=not quiet,
    )  # fmt: skip
    report = result.to_dict()
    publish(report, format_classification(report), json_path, plot_dir, functools.partial(plot_classification, result))


@click.command()
@click.option("--rgb", "rgb_path", required=True, type=click.Path(exists=True, dir_okay=False), help="The photo: any GDAL RGB raster with a CRS.")
@click.option("--cube", "cube_path", required=True, type=click.Path(exists=True), help="The hyperspectral raster of part of it (GeoTIFF, ENVI, ...) with a CRS.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The checkpoint to write (.pt); its card goes beside it as .json.")
@click.option("--wavelengths", default="auto", show_default=True, help="A text file of the cube's band centres (nm), or 'auto': from its metadata.")
@click.option("--bands", "band_list", help="1-based cube bands to fit, e.g. 1-50,60 [default: all].")
@click.option("--holdout", default=0.2, show_default=True, type=click.FloatRange(0, 0.9), help="Share of the cube's pixels held out in whole blocks and scored.")
@click.option("--holdout-mask", type=click.Path(exists=True, dir_okay=False), help="Held-out pixels instead: a raster or array on the cube's grid, non-zero = held out.")
@click.option("--holdout-block", default=8, show_default=True, type=click.IntRange(min=1), help="Side of a held-out block, cube pixels.")
@click.option("--align", is_flag=True, help="Move the photo by the shift the co-registration check finds.")
@click.option("--preset", type=click.Choice(["small", "compact", "paper"]), help="HPRN size [default: the fit recipe's, small].")
@click.option("--steps", type=click.IntRange(min=1), help="Training steps [default: the fit recipe's, 900].")
@click.option("--patch", type=click.IntRange(min=8), help="Training patch side, photo pixels [default: the fit recipe's, 48].")
@click.option("--batch-size", type=click.IntRange(min=1), help="Patches per step [default: the fit recipe's, 4].")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the holdout draw and the training.")
@click.option("--min-pixels", default=100, show_default=True, type=click.IntRange(min=1), help="Fewest training pixels accepted.")
@click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"]))
@click.option("--resume", is_flag=True, help="Continue an interrupted fit from its state file (OUTPUT.state.pt).")
@click.option("--overwrite", is_flag=True, help="Replace an existing checkpoint.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), help="Draw held-out spectra (truth, ours, baselines) into this PNG.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@friendly_errors
def fit(rgb_path: str, cube_path: str, output: str, wavelengths: str, band_list: str | None, holdout: float,
        holdout_mask: str | None, holdout_block: int, align: bool, preset: str | None, steps: int | None,
        patch: int | None, batch_size: int | None, seed: int, min_pixels: int, device: str, resume: bool, overwrite: bool, plot_path: str | None,
        quiet: bool) -> None:
    """Fit HPRN to a photo and a co-registered hyperspectral raster of part of it; score it on a blocked holdout."""
    import rasterio

    from hprn_geo.fit.holdout import format_holdout, plot_holdout_spectra
    from hprn_geo.fit.pair import parse_bands
    from hprn_geo.fit.pipeline import FIT_RECIPE, fit_pair

    if Path(output).exists() and not overwrite:
        raise OutputError(f"{output} exists; pass --overwrite to replace it")
    asked = {"preset": preset, "steps": steps, "patch": patch, "batch_size": batch_size}
    bands = None
    if band_list is not None:
        with rasterio.open(cube_path) as dataset:
            bands = parse_bands(band_list, dataset.count)
    report = fit_pair(
        rgb_path, cube_path, output, wavelengths=wavelengths, bands=bands, holdout=0.0 if holdout_mask else holdout,
        holdout_mask=holdout_mask, holdout_block=holdout_block, align=align, min_pixels=min_pixels, device=device,
        config=replace(FIT_RECIPE, seed=seed, **{k: v for k, v in asked.items() if v is not None}),
        resume=resume, progress=not quiet,
    )  # fmt: skip
    found = report.registration
    lines = [*report.notes, f"co-registration: correlation {found.correlation:.3f}, photo shifted by "
             f"{found.shift[0]:+.2f} rows {found.shift[1]:+.2f} cols (cube pixels)"]  # fmt: skip
    if report.aligned is not None:
        lines.append(f"aligned: moved by {report.moved[0]:+.2f} rows {report.moved[1]:+.2f} cols; "
                     f"correlation now {report.aligned.correlation:.3f}")  # fmt: skip
    for line in lines:
        click.echo(f"hprn-geo: {line}", err=True)
    if report.holdout is not None:
        click.echo(f"held out: {report.holdout_pixels} cube pixels in whole blocks; trained on {report.train_pixels}")
        click.echo(format_holdout(report.table))
    click.echo(f"hprn-geo: wrote {report.path} in {report.seconds:.0f} s", err=True)
    if plot_path is not None and report.holdout is not None:
        try:
            plot_holdout_spectra(report.holdout, report.checkpoint.wavelengths, plot_path, Path(cube_path).name)
        except OSError as exc:
            raise OutputError(f"cannot write {plot_path}: {exc}") from exc


def _read_labelled_cube(path: str, key: str | None, wavelengths: str | None) -> Cube:
    from hprn_geo.fit.pair import read_wavelengths
    from hprn_geo.io.cubes import Cube, read_cube

    if key is not None and Path(path).suffix.lower() != ".mat":
        raise DataFileError("--cube-key is only used for .mat files")
    cube = read_cube(path, **({"key": key} if key else {}))
    if wavelengths is None:
        return cube
    if Path(wavelengths).is_file():
        grid = read_wavelengths(wavelengths)
    else:
        grid = np.linspace(*parse_grid(wavelengths))
    if grid.size != cube.data.shape[0]:
        raise DataFileError(f"--wavelengths gives {grid.size} values but the cube has {cube.data.shape[0]} bands")
    return Cube(cube.data, grid, None, cube.name, cube.extras, cube.kind)


def _split(labels: np.ndarray, train_mask: str | None, test_mask: str | None, per_class: int | None, seed: int,
           usable: np.ndarray) -> Split:  # fmt: skip
    """The split the options ask for, over the (H, W) ``usable`` pixels (data in every band)."""
    from hprn_geo.classify import fixed_split, random_split
    from hprn_geo.io.labels import read_label_map

    if (train_mask is None) != (test_mask is None):
        raise DataFileError("a fixed split needs both --train-mask and --test-mask")
    if (train_mask is None) == (per_class is None):
        raise DataFileError("give either --train-mask and --test-mask, or --train-per-class N")
    if per_class is not None:
        return random_split(labels, per_class, seed, usable.shape, usable)
    source = f"fixed: {Path(train_mask).name} / {Path(test_mask).name}"  # type: ignore[arg-type]
    maps = read_label_map(train_mask), read_label_map(test_mask)  # type: ignore[arg-type]
    return fixed_split(labels, *maps, usable.shape, source, usable)


def format_classification(report: dict) -> str:
    """The three inputs' OA/AA/kappa, the reconstruction's error and the split, as plain text."""
    lines = [f"{'input':<15}{'OA':>8}{'AA':>8}{'kappa':>8}"]
    for name in ("rgb", "reconstructed", "hsi"):
        r = report[name]
        lines.append(f"{name:<15}{r['oa']:>8.4f}{r['aa']:>8.4f}{r['kappa']:>8.4f}")
    rec, split = report["reconstruction"], report["split"]
    lines += [
        f"reconstruction on the {rec['pixels']} test pixels: MRAE {rec['mrae']:.4f}, SAM {rec['sam']:.2f} deg ({rec['model']})",
        f"split: {split['source']}: {split['train']} training / {split['test']} test pixels, seed {report['seed']}",
        *(f"note: {note}" for note in report["notes"]),
    ]
    return "\n".join(lines)


def parse_grid(text: str) -> tuple[float, float, int]:
    """``"400,700,31"`` -> (400.0, 700.0, 31), the evenly spaced grid ``numpy.linspace`` makes.

    Raises:
        DataFileError: not three comma-separated numbers with a count of at least 1.
    """
    try:
        start, stop, count = (float(v) for v in text.split(","))
    except ValueError:
        raise DataFileError(f"--wavelengths expects START,STOP,COUNT (nm), got {text!r}") from None
    if not np.isfinite([start, stop, count]).all():
        raise DataFileError(f"--wavelengths expects finite numbers, got {text!r}")
    if count < 1 or count != int(count):
        raise DataFileError(f"--wavelengths: COUNT must be a whole number >= 1, got {count:g}")
    return start, stop, int(count)


def publish(
    report: dict, table: str, json_path: str | None, plot_dir: str | None, plot: Callable[[str], object]
) -> None:
    """Write ``report`` as indented JSON when asked, print ``table``, then draw ``plot(plot_dir)`` when asked
    (last, so that a long run's scores are out before a figure can fail).

    Raises:
        OutputError: the JSON file or the figures cannot be written.
    """
    if json_path is not None:
        try:
            Path(json_path).write_text(json.dumps(report, indent=2) + "\n")
        except OSError as exc:
            raise OutputError(f"cannot write {json_path}: {exc}") from exc
    click.echo(table)
    if plot_dir is not None:
        try:
            plot(plot_dir)
        except OSError as exc:
            raise OutputError(f"cannot write the plots into {plot_dir}: {exc}") from exc


def format_table(report: dict) -> str:
    """Per-scene and mean scores of every method as a plain-text table."""
    lines = [f"{'scene':<22}{'method':<8}{'MRAE':>8}{'RMSE':>8}{'SAM°':>7}{'PSNR':>7}{'SSIM':>7}"]
    rows = [(scene, scores) for scene, scores in report["scenes"].items()] + [("mean", report["mean"])]
    for scene, scores in rows:
        for method, m in scores.items():
            lines.append(f"{scene:<22}{method:<8}{m['mrae']:>8.4f}{m['rmse']:>8.4f}{m['sam']:>7.2f}"
                         f"{m['psnr']:>7.2f}{m['ssim']:>7.3f}")
    return "\n".join(lines)
