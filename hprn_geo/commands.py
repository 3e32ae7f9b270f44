"""The ``train`` and ``evaluate`` commands: thin click front doors over :mod:`hprn_geo.train` and :mod:`hprn_geo.evaluate`.

Errors are raised as :class:`hprn_geo.errors.HPRNGeoError` subclasses and
shown by :func:`hprn_geo.cli.friendly_errors` as one line with exit status 1.
``hprn_geo.cli`` loads this module lazily, so importing it from here is safe.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from hprn_geo.cli import friendly_errors, parse_rgb_bands
from hprn_geo.errors import OutputError

__all__ = ["evaluate", "train"]


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
@click.option("--validation", multiple=True, help="Validation cube for early stopping; repeat.")
@click.option("--test", multiple=True, help="Test cube, recorded in the card for scoring; repeat.")
@_DATA_DIR
@_CAMERA
@_RGB_BANDS
@click.option("--wavelengths", help="Output grid as START,STOP,COUNT (nm), e.g. 400,700,31.")
@click.option("--preset", type=click.Choice(["compact", "paper"]))
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
    from hprn_geo.train import ConfigError, load_config
    from hprn_geo.train import train as run_training

    grid = None
    if wavelengths is not None:
        try:
            start, stop, count = (float(v) for v in wavelengths.split(","))
        except ValueError:
            raise ConfigError(f"--wavelengths expects START,STOP,COUNT, got {wavelengths!r}") from None
        grid = {"start": start, "stop": stop, "count": int(count)}
    config = load_config(
        config_path, name=name, train=train_scenes or None, validation=validation or None, test=test or None,
        data_dir=data_dir, camera=camera, rgb_bands=rgb_bands, wavelengths=grid, preset=preset,
        patch_size=patch_size, batch_size=batch_size, steps=steps, lr=lr, seed=seed, bf16=bf16,
        augment_cameras=[] if rgb_bands is not None else None,
    )  # fmt: skip
    result = run_training(config, run_dir, resume=resume, progress=not quiet)
    how = "stopped early" if result.stopped_early else "finished"
    click.echo(f"hprn-geo: {how} at step {result.steps_run} in {result.seconds:.0f} s; best validation MRAE "
               f"{result.best_val_mrae:.4f} at step {result.best_step}; wrote {result.checkpoint}", err=True)


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
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the scores as JSON.")
@click.option("--plots", "plot_dir", type=click.Path(file_okay=False), help="Write error maps, spectra and error-vs-wavelength plots.")
@friendly_errors
def evaluate(model_name: str | None, weights: str | None, data: tuple[str, ...], data_dir: str | None,
             camera: str | None, rgb_bands: tuple[int, int, int] | None, baselines_from: tuple[str, ...],
             no_baselines: bool, tile: int | None, overlap: int | None, json_path: str | None,
             plot_dir: str | None) -> None:
    """Score a model and the classical baselines on held-out cubes (MRAE, RMSE, SAM, PSNR, SSIM)."""
    from hprn_geo.evaluate import evaluate_checkpoint, plot_evaluation
    from hprn_geo.registry import resolve

    checkpoint = resolve(model_name, weights)
    baseline_data = [] if no_baselines else (list(baselines_from) or None)
    evaluation = evaluate_checkpoint(
        checkpoint, data, data_dir, camera=camera, rgb_bands=rgb_bands, baseline_data=baseline_data,
        tile=tile, overlap=overlap,
    )  # fmt: skip
    report = evaluation.to_dict()
    if json_path is not None:
        try:
            Path(json_path).write_text(json.dumps(report, indent=2) + "\n")
        except OSError as exc:
            raise OutputError(f"cannot write {json_path}: {exc}") from exc
    if plot_dir is not None:
        plot_evaluation(evaluation, plot_dir)
    click.echo(format_table(report))


def format_table(report: dict) -> str:
    """Per-scene and mean scores of every method as a plain-text table."""
    lines = [f"{'scene':<22}{'method':<8}{'MRAE':>8}{'RMSE':>8}{'SAM°':>7}{'PSNR':>7}{'SSIM':>7}"]
    rows = [(scene, scores) for scene, scores in report["scenes"].items()] + [("mean", report["mean"])]
    for scene, scores in rows:
        for method, m in scores.items():
            lines.append(f"{scene:<22}{method:<8}{m['mrae']:>8.4f}{m['rmse']:>8.4f}{m['sam']:>7.2f}"
                         f"{m['psnr']:>7.2f}{m['ssim']:>7.3f}")
    return "\n".join(lines)
