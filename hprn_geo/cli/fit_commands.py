"""``hprn-geo fit``: a thin click front door over :func:`hprn_geo.fit.pipeline.fit_pair`."""

from __future__ import annotations

from pathlib import Path

import click

from hprn_geo.cli.options import DEVICE, INPUT_RGB_BANDS, OVERWRITE, QUIET, friendly_errors
from hprn_geo.errors import OutputError
from hprn_geo.model.presets import PRESETS

__all__ = ["fit"]


@click.command()
@click.option("--rgb", "rgb_path", required=True, type=click.Path(exists=True, dir_okay=False), help="The photo: any GDAL RGB raster with a CRS.")
@click.option("--cube", "cube_path", required=True, type=click.Path(exists=True), help="The hyperspectral raster of part of it (GeoTIFF, ENVI, ...) with a CRS.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The checkpoint to write (.pt); its card goes beside it as .json.")
@click.option("--wavelengths", default="auto", show_default=True, help="A text file of the cube's band centres (nm), or 'auto': from its metadata.")
@INPUT_RGB_BANDS
@click.option("--bands", "band_list", help="1-based cube bands to fit, e.g. 1-50,60 [default: all].")
@click.option("--holdout", default=0.2, show_default=True, type=click.FloatRange(0, 0.9), help="Share of the cube's pixels held out in whole blocks and scored.")
@click.option("--holdout-mask", type=click.Path(exists=True, dir_okay=False), help="Held-out pixels instead: a raster or array on the cube's grid, non-zero = held out.")
@click.option("--holdout-block", default=8, show_default=True, type=click.IntRange(min=1), help="Side of a held-out block, cube pixels.")
@click.option("--align", is_flag=True, help="Move the photo by the shift the co-registration check finds.")
@click.option("--preset", type=click.Choice(sorted(PRESETS)), help="HPRN size [default: the fit recipe's, small].")
@click.option("--steps", type=click.IntRange(min=1), help="Training steps [default: the fit recipe's, 900].")
@click.option("--patch", type=click.IntRange(min=8), help="Training patch side, photo pixels [default: the fit recipe's, 48].")
@click.option("--batch-size", type=click.IntRange(min=1), help="Patches per step [default: the fit recipe's, 4].")
@click.option("--start", type=click.Choice(["linear", "affine", "lookup"]),
              help="Start at a kNN-like chromaticity lookup of the training pixels, at their relative least-squares "
                   "linear map, or at the same with a per-band constant (affine) [default: the fit recipe's, lookup].")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the holdout draw and the training.")
@click.option("--min-pixels", default=100, show_default=True, type=click.IntRange(min=1), help="Fewest training pixels accepted.")
@DEVICE
@click.option("--resume", is_flag=True, help="Continue an interrupted fit from its state file (OUTPUT.state.pt).")
@OVERWRITE
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), help="Draw held-out spectra (truth, ours, baselines) into this PNG.")
@QUIET
@friendly_errors
def fit(rgb_path: str, cube_path: str, output: str, wavelengths: str, rgb_bands: tuple[int, int, int] | None,
        band_list: str | None, holdout: float,
        holdout_mask: str | None, holdout_block: int, align: bool, preset: str | None, steps: int | None,
        patch: int | None, batch_size: int | None, start: str | None, seed: int, min_pixels: int, device: str, resume: bool, overwrite: bool, plot_path: str | None,
        quiet: bool) -> None:
    """Fit HPRN to a photo and a co-registered hyperspectral raster of part of it; score it on a blocked holdout."""
    from hprn_geo.fit.holdout import format_holdout, plot_holdout_spectra
    from hprn_geo.fit.pipeline import fit_pair
    from hprn_geo.fit.scenefit import SceneFitConfig
    from hprn_geo.io.publish import check_overwrite

    check_overwrite(output, overwrite)
    report = fit_pair(
        rgb_path, cube_path, output, wavelengths=wavelengths, bands=band_list, rgb_bands=rgb_bands, holdout=0.0 if holdout_mask else holdout,
        holdout_mask=holdout_mask, holdout_block=holdout_block, align=align, min_pixels=min_pixels, device=device,
        config=SceneFitConfig().replace(seed=seed, preset=preset, steps=steps, patch=patch, batch_size=batch_size,
                                        start=start),
        resume=resume, progress=not quiet,
    )  # fmt: skip
    found = report.registration
    shifted = f"{found.shift[0]:+.2f} rows {found.shift[1]:+.2f} cols (cube pixels)"
    lines = [*report.notes, f"co-registration: correlation {found.correlation:.3f}, photo shifted by {shifted}"]
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
