"""``hprn-geo predict``, ``info``, ``sample`` and ``models``: thin click front doors over
:mod:`hprn_geo.predict`, :mod:`hprn_geo.estimate`, :mod:`hprn_geo.sample` and :mod:`hprn_geo.registry`."""

from __future__ import annotations

import json

import click

from hprn_geo.cli.options import (
    OVERWRITE,
    PREDICT_OPTIONS,
    WITH_NIR,
    friendly_errors,
    model_options,
    photo_options,
    run_predict,
    split_options,
    with_options,
)
from hprn_geo.predict_options import PredictOptions

__all__ = ["info", "models", "predict", "sample"]


@click.command()
@click.argument("src", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "dst", required=True, type=click.Path(),
              help="Output cube: .tif/.tiff (GeoTIFF/COG) or .zarr.")
@with_options(PREDICT_OPTIONS)
@OVERWRITE
@friendly_errors
def predict(src: str, dst: str, **options: object) -> None:
    """Reconstruct SRC (any GDAL RGB raster) into a hyperspectral cube."""
    predict_options, rest = split_options(options)
    run_predict(src, dst, predict_options, **rest)


@click.command()
@click.argument("src", type=click.Path(dir_okay=False))
@with_options(model_options)
@WITH_NIR
@with_options(photo_options)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@friendly_errors
def info(src: str, bands: int | None, model_name: str | None, weights: str | None, tile: int | None,
         overlap: int | None, rgb_bands: tuple[int, ...] | None, scale: float | str, encoding: str,
         white_balance: str, sensor: str | None, as_json: bool) -> None:
    """What hprn-geo sees in SRC (sensor, bands, scaling, encoding, white balance) and what a prediction would cost."""
    from hprn_geo.estimate import describe_run

    options = PredictOptions(tile=tile, overlap=overlap, rgb_bands=rgb_bands, scale=scale, encoding=encoding,
                             white_balance=white_balance, sensor=sensor)
    report = describe_run(src, model_name, weights, bands, options)
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    for key, value in report.items():
        click.echo(f"{key:>18}: {value}")


@click.command()
@click.argument("dst", type=click.Path(dir_okay=False))
@click.option("--size", default=512, show_default=True, type=click.IntRange(min=16))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--overwrite", is_flag=True, help="Replace an existing file.")
@friendly_errors
def sample(dst: str, size: int, seed: int, overwrite: bool) -> None:
    """Write a small georeferenced RGB scene made from real measured spectra."""
    from hprn_geo.io.publish import check_overwrite
    from hprn_geo.sample import write_sample_scene

    check_overwrite(dst, overwrite)
    path = write_sample_scene(dst, size=size, seed=seed)
    click.echo(f"hprn-geo: wrote {path} ({size} x {size} RGB)", err=True)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the model cards as JSON.")
@friendly_errors
def models(as_json: bool) -> None:
    """List the bundled models."""
    from hprn_geo.registry import available_models

    cards = available_models()
    if as_json:
        click.echo(json.dumps({name: card.to_dict() for name, card in cards.items()}, indent=2))
        return
    if not cards:
        click.echo("no bundled models")
    width = max(map(len, cards), default=0)
    for name, card in cards.items():
        w, cv = card.wavelengths, card.scores.get("cv", {})
        scored = cv.get(cv.get("chosen_by", ""), {}).get("mean", {}).get(cv.get("method"), {})
        through = " (held-out camera)" if cv.get("chosen_by") == "camera" else ""
        score = f"CV MRAE {scored['mrae']:.3f} SAM {scored['sam']:.1f}{through}  " if scored else ""
        weak = "  (a baseline does better in CV)" if card.shortfall() else ""
        click.echo(f"{name:<{width}} {card.bands:>4} bands {w[0]:.0f}-{w[-1]:.0f} nm  preset={card.preset}  "
                   f"tile={card.tile}  {score}input: {card.input_prefix}{weak}")
