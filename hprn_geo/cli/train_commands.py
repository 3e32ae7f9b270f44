"""``hprn-geo train`` and ``evaluate``: thin click front doors over :mod:`hprn_geo.train` and
:mod:`hprn_geo.evaluate`."""

from __future__ import annotations

import functools

import click

from hprn_geo.cli.options import CAMERA, COLOUR_CONSISTENT, DATA_DIR, RGB_BANDS, friendly_errors, parse_grid, publish
from hprn_geo.model.presets import PRESETS

__all__ = ["evaluate", "format_table", "train"]


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True), help="A TOML training config.")
@click.option("--out", "run_dir", required=True, type=click.Path(file_okay=False), help="Run folder (state, log, plot, model.pt).")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("--name", help="Model name for the card.")
@click.option("--train", "train_scenes", multiple=True, help="Training cube (shared name, glob of shared tiles, or file); repeat.")
@click.option("--validation", multiple=True, help="Validation cube for early stopping; repeat (none: a fixed schedule, the last step is kept).")
@click.option("--test", multiple=True, help="Test cube, recorded in the card for scoring; repeat.")
@DATA_DIR
@CAMERA
@RGB_BANDS
@click.option("--wavelengths", help="Output grid as START,STOP,COUNT (nm), e.g. 400,700,31.")
@click.option("--preset", type=click.Choice(sorted(PRESETS)))
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

    grid = None if wavelengths is None else dict(zip(("start", "stop", "count"), parse_grid(wavelengths)))
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
@DATA_DIR
@CAMERA
@RGB_BANDS
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


def format_table(report: dict) -> str:
    """Per-scene and mean scores of every method as a plain-text table."""
    lines = [f"{'scene':<22}{'method':<8}{'MRAE':>8}{'RMSE':>8}{'SAM°':>7}{'PSNR':>7}{'SSIM':>7}"]
    rows = [(scene, scores) for scene, scores in report["scenes"].items()] + [("mean", report["mean"])]
    for scene, scores in rows:
        for method, m in scores.items():
            lines.append(f"{scene:<22}{method:<8}{m['mrae']:>8.4f}{m['rmse']:>8.4f}{m['sam']:>7.2f}"
                         f"{m['psnr']:>7.2f}{m['ssim']:>7.3f}")
    return "\n".join(lines)
