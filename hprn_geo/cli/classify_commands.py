"""``hprn-geo classify``: a thin click front door over :mod:`hprn_geo.classify`."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import click
import numpy as np

from hprn_geo.cli.options import CAMERA, RGB_BANDS, friendly_errors, parse_grid, publish
from hprn_geo.errors import DataFileError
from hprn_geo.model.presets import PRESETS

if TYPE_CHECKING:
    from hprn_geo.classify import Split
    from hprn_geo.io.cube import Cube

__all__ = ["classify", "format_classification"]


@click.command()
@click.option("--cube", "cube_path", required=True, type=click.Path(exists=True), help="The labelled cube: .mat, ENVI, GeoTIFF/any GDAL raster, Zarr/NetCDF.")
@click.option("--cube-key", help="The cube's variable in a .mat file [default: its only 3-D array].")
@click.option("--gt", "gt_path", required=True, type=click.Path(exists=True, dir_okay=False), help="Label map, 0 = unlabelled: .mat, .npy or a raster.")
@click.option("--gt-key", help="The label map's variable in a .mat file [default: its only 2-D array].")
@click.option("--wavelengths", help="Band centres: START,STOP,COUNT (nm) or a text file of numbers; overrides the file's.")
@RGB_BANDS
@CAMERA
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="HPRN_GEO_DATA",
              help="Shared data folder whose srf/ holds the --camera responses (env HPRN_GEO_DATA).")
@click.option("--scale", type=float, help="Multiply the cube by this first (with --model/--weights: to reach reflectance, e.g. 1e-4).")
@click.option("--train-mask", type=click.Path(exists=True, dir_okay=False), help="Fixed split: map of the training pixels (e.g. TRpavia_fixed.mat).")
@click.option("--test-mask", type=click.Path(exists=True, dir_okay=False), help="Fixed split: map of the test pixels (e.g. TSpavia_fixed.mat).")
@click.option("--train-per-class", type=int, help="Random split: this many training pixels per class, the rest are test pixels.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the random split, the classifier and the scene fit.")
@click.option("--model", "model_name", help="Reconstruct with this bundled model instead of fitting HPRN on the scene.")
@click.option("--weights", type=click.Path(dir_okay=False), help="Reconstruct with this checkpoint instead of fitting HPRN on the scene.")
@click.option("--preset", type=click.Choice(sorted(PRESETS)), help="Scene fit: HPRN size [default: the fit recipe's, small].")
@click.option("--fit-steps", type=click.IntRange(min=1), help="Scene fit: training steps [default: the fit recipe's, 900].")
@click.option("--epochs", default=100, show_default=True, type=click.IntRange(min=1), help="Classifier training epochs.")
@click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"]))
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the scores as JSON.")
@click.option("--plots", "plot_dir", type=click.Path(file_okay=False), help="Write class maps and confusion matrices.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@friendly_errors
def classify(cube_path: str, cube_key: str | None, gt_path: str, gt_key: str | None, wavelengths: str | None,
             rgb_bands: tuple[int, int, int] | None, camera: str | None, data_dir: str | None, scale: float | None,
             train_mask: str | None, test_mask: str | None, train_per_class: int | None, seed: int,
             model_name: str | None, weights: str | None, preset: str | None, fit_steps: int | None, epochs: int,
             device: str, json_path: str | None, plot_dir: str | None, quiet: bool) -> None:
    """Classify RGB, HPRN-reconstructed HSI and the real HSI of a labelled cube with one CNN and one split."""
    from hprn_geo.sensors import load_responses
    from hprn_geo.classify import CLASSIFY_FIT, ClassifierConfig, classify_scene
    from hprn_geo.classify.plots import plot_classification
    from hprn_geo.io.labels import read_label_map
    from hprn_geo.registry import resolve
    from hprn_geo.scenes import camera_folder

    if model_name and weights:
        raise DataFileError("give --model or --weights, not both")
    cube = _read_labelled_cube(cube_path, cube_key, wavelengths)
    usable = np.isfinite(cube.data).all(axis=0)
    split = _split(read_label_map(gt_path, gt_key), train_mask, test_mask, train_per_class, seed, usable)
    checkpoint = resolve(model_name, weights) if model_name or weights else None
    needs_camera = camera is not None or (checkpoint is not None and checkpoint.card.input.startswith("camera:"))
    cameras = load_responses(camera_folder(None, data_dir)) if needs_camera else None
    result = classify_scene(
        cube, split, rgb_bands=rgb_bands, camera=camera, cameras=cameras, checkpoint=checkpoint, scale=scale,
        fit=CLASSIFY_FIT.replace(seed=seed, preset=preset, steps=fit_steps), classifier=ClassifierConfig(epochs=epochs, seed=seed),
        maps=plot_dir is not None, device=device, progress=not quiet,
    )  # fmt: skip
    report = result.to_dict()
    publish(report, format_classification(report), json_path, plot_dir, functools.partial(plot_classification, result))


def _read_labelled_cube(path: str, key: str | None, wavelengths: str | None) -> Cube:
    from hprn_geo.fit.pair import read_wavelengths
    from hprn_geo.io.cube import Cube
    from hprn_geo.io.cubes import read_cube

    if key is not None and Path(path).suffix.lower() != ".mat":
        raise DataFileError("--cube-key is only used for .mat files")
    cube = read_cube(path, **({"key": key} if key else {}))
    if wavelengths is None:
        return cube
    grid = read_wavelengths(wavelengths) if Path(wavelengths).is_file() else np.linspace(*parse_grid(wavelengths))
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
