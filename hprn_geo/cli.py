"""The ``hprn-geo`` command line: a thin front door over :mod:`hprn_geo.predict`."""

from __future__ import annotations

import functools
import importlib
import json
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from hprn_geo import __version__
from hprn_geo.errors import HPRNGeoError
from hprn_geo.io.photo import ENCODINGS, WHITE_BALANCES


def _one_line_warning(message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    click.echo(f"hprn-geo: warning: {message}", err=True)


COLOUR_CONSISTENT = click.option(
    "--colour-consistent/--no-colour-consistent", default=None,
    help="Make each output spectrum render back to its input RGB through the model card's input response "
         "[default: the card's].",
)  # fmt: skip
"""``predict`` and ``evaluate``'s switch of colour-consistent output."""


def friendly_errors(command: Callable) -> Callable:
    """Turn hprn-geo errors into one line on stderr and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        warnings.showwarning = _one_line_warning
        try:
            return command(*args, **kwargs)
        except HPRNGeoError as exc:
            raise click.ClickException(str(exc)) from exc
        except KeyboardInterrupt:
            click.echo("hprn-geo: interrupted; run again with --resume to continue", err=True)
            sys.exit(130)

    return wrapper


def _auto_or(value: str, convert: Callable[[str], float], valid: Callable[[float], bool], expected: str) -> float | str:
    """``"auto"``, or ``convert(value)`` when ``valid``; else click's usage error naming ``expected``."""
    if value == "auto":
        return value
    try:
        number = convert(value)
    except ValueError:
        number = None
    if number is None or not valid(number):
        raise click.BadParameter(f"expected 'auto' or {expected}, got {value!r}")
    return number


def parse_batch(ctx: click.Context, param: click.Parameter, value: str) -> int | str:
    """``"auto"`` or a whole number >= 1."""
    return _auto_or(value, int, lambda n: n >= 1, "a whole number >= 1")  # type: ignore[return-value]


def parse_rgb_bands(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, int, int] | None:
    """``"4,3,2"`` -> (4, 3, 2)."""
    if value is None:
        return None
    try:
        bands = tuple(int(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"expected three 1-based band numbers like 4,3,2, got {value!r}") from None
    if len(bands) != 3:
        raise click.BadParameter(f"expected three band numbers, got {len(bands)}")
    return bands  # type: ignore[return-value]


def parse_scale(ctx: click.Context, param: click.Parameter, value: str) -> float | str:
    """``"auto"`` or a positive float."""
    return _auto_or(value, float, lambda x: x > 0, "a positive number")


model_options = [
    click.option("--bands", type=click.IntRange(min=1), help="Pick the bundled model with this many bands."),
    click.option("--model", "model_name", help="Bundled model name (see `hprn-geo models`)."),
    click.option("--weights", type=click.Path(dir_okay=False), help="A checkpoint file instead of a bundled model."),
    click.option("--tile", type=click.IntRange(min=1), help="Tile side in pixels [default: the model card's]."),
    click.option("--overlap", type=click.IntRange(min=0), help="Tile overlap in pixels [default: the model card's]."),
    click.option("--rgb-bands", callback=parse_rgb_bands, help="1-based R,G,B band numbers of a multiband input, e.g. 4,3,2."),
    click.option("--scale", default="auto", show_default=True, callback=parse_scale,
                 help="Input -> reflectance: 'auto' (uint8 /255, uint16 by bit depth or declared scale, floats as is) or a factor."),
]


photo_options = [
    click.option("--encoding", default="auto", show_default=True, type=click.Choice(ENCODINGS),
                 help="Transfer function after scaling: 'srgb' decodes a gamma-encoded photo; "
                      "'auto' is srgb for 8-bit rasters without a declared scale, else linear."),
    click.option("--white-balance", default="none", show_default=True,
                 type=click.Choice(WHITE_BALANCES),
                 help="Per-scene channel gains: gray-world (equal channel means), white-patch (99th percentiles "
                      "to the training brightness), exposure (one gain to the training brightness)."),
]
"""How a photo's values become linear RGB (``predict`` and ``info``)."""


def with_options(options: list[Callable]) -> Callable:
    """Apply a shared list of click options."""

    def decorate(command: Callable) -> Callable:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


class LazyGroup(click.Group):
    """A group whose front-door commands (``name -> "module:attribute"``) are imported on first use.

    The STAC, training and evaluation commands import this module for its
    shared options, so they cannot be imported here at load time; loading them
    lazily also keeps ``hprn-geo --help`` fast.
    """

    def __init__(self, *args: Any, lazy_commands: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy_commands])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.lazy_commands:
            return super().get_command(ctx, name)
        module, attribute = self.lazy_commands[name].split(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(
    cls=LazyGroup,
    lazy_commands={
        "stac": "hprn_geo.stac:stac",
        "train": "hprn_geo.commands:train",
        "evaluate": "hprn_geo.commands:evaluate",
        "classify": "hprn_geo.commands:classify",
        "fit": "hprn_geo.commands:fit",
    },
)
@click.version_option(__version__, prog_name="hprn-geo")
def main() -> None:
    """Reconstruct hyperspectral cubes from RGB rasters with HPRN."""


@main.command()
@click.argument("src", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "dst", required=True, type=click.Path(), help="Output cube: .tif/.tiff (GeoTIFF/COG) or .zarr.")
@with_options(model_options)
@with_options(photo_options)
@click.option("--batch", default="auto", show_default=True, callback=parse_batch,
              help="Tiles per forward pass, or 'auto': 4 on the CPU, as many as fit in 60 % of the free GPU memory on CUDA.")
@click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"]))
@click.option("--precision", default="auto", show_default=True, type=click.Choice(["auto", "fp32", "bf16"]),
              help="bf16 autocast; 'auto' is bf16 on CUDA and fp32 on CPU.")
@click.option("--prior", default="auto", show_default=True, type=click.Choice(["auto", "skimage", "torch", "torch-connected"]),
              help="Semantic prior: scikit-image SLIC (reference) or the batched torch SLIC (on the GPU with CUDA); "
                   "'auto' is torch-connected on CUDA, skimage on the CPU.")
@COLOUR_CONSISTENT
@click.option("--dtype", default="float32", show_default=True, type=click.Choice(["float32", "uint16"]),
              help="uint16 stores reflectance x 10000 with the scale in the metadata.")
@click.option("--cog", is_flag=True, help="Write a Cloud Optimized GeoTIFF.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its journal.")
@click.option("--dask-scheduler", metavar="ADDRESS", help="Run on an existing dask.distributed cluster (e.g. tcp://host:8786).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@friendly_errors
def predict(src: str, dst: str, bands: int | None, model_name: str | None, weights: str | None, tile: int | None,
            overlap: int | None, rgb_bands: tuple[int, int, int] | None, scale: float | str, encoding: str,
            white_balance: str, batch: int | str, device: str, precision: str, prior: str, colour_consistent: bool | None,
            dtype: str, cog: bool, overwrite: bool, resume: bool, dask_scheduler: str | None, quiet: bool) -> None:
    """Reconstruct SRC (any GDAL RGB raster) into a hyperspectral cube."""
    from hprn_geo.predict import Predictor
    from hprn_geo.registry import resolve

    if dask_scheduler:
        if resume:
            raise click.UsageError("--resume cannot be combined with --dask-scheduler")
        from hprn_geo.distributed import predict_on_cluster

        report = predict_on_cluster(src, dst, dask_scheduler, model=model_name, weights=weights, bands=bands,
                                    tile=tile, overlap=overlap, batch=batch, device=device, precision=precision,
                                    colour_consistent=colour_consistent, rgb_bands=rgb_bands, scale=scale,
                                    encoding=encoding, white_balance=white_balance, dtype=dtype, cog=cog,
                                    overwrite=overwrite)
    else:
        checkpoint = resolve(model_name, weights, bands)
        predictor = Predictor(checkpoint, tile, overlap, batch, device, precision, progress=not quiet, prior=prior,
                              colour_consistent=colour_consistent)
        report = predictor.predict_file(src, dst, rgb_bands=rgb_bands, scale=scale, encoding=encoding,
                                        white_balance=white_balance, dtype=dtype, cog=cog, overwrite=overwrite,
                                        resume=resume)
    if not quiet:
        for note in report.notes:
            click.echo(f"hprn-geo: {note}", err=True)
        grid = report.grid
        click.echo(f"hprn-geo: wrote {report.path} ({grid.height} x {grid.width}, "
                   f"{report.tiles_run} tiles on {report.device} in {report.seconds:.1f} s)", err=True)


@main.command()
@click.argument("src", type=click.Path(dir_okay=False))
@with_options(model_options)
@with_options(photo_options)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@friendly_errors
def info(src: str, bands: int | None, model_name: str | None, weights: str | None, tile: int | None,
         overlap: int | None, rgb_bands: tuple[int, int, int] | None, scale: float | str, encoding: str,
         white_balance: str, as_json: bool) -> None:
    """What hprn-geo sees in SRC (scaling, encoding, white balance) and what a prediction would cost."""
    from hprn_geo.estimate import describe_run

    report = describe_run(src, model_name, weights, bands, tile, overlap, rgb_bands, scale, encoding, white_balance)
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    for key, value in report.items():
        click.echo(f"{key:>18}: {value}")


@main.command()
@click.argument("dst", type=click.Path(dir_okay=False))
@click.option("--size", default=512, show_default=True, type=click.IntRange(min=16))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--overwrite", is_flag=True, help="Replace an existing file.")
@friendly_errors
def sample(dst: str, size: int, seed: int, overwrite: bool) -> None:
    """Write a small georeferenced RGB scene made from real measured spectra."""
    from hprn_geo.errors import OutputError
    from hprn_geo.sample import write_sample_scene

    if Path(dst).exists() and not overwrite:
        raise OutputError(f"{dst} exists; pass --overwrite to replace it")
    path = write_sample_scene(dst, size=size, seed=seed)
    click.echo(f"hprn-geo: wrote {path} ({size} x {size} RGB)", err=True)


@main.command()
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
        click.echo(f"{name:<{width}} {card.bands:>4} bands {w[0]:.0f}-{w[-1]:.0f} nm  preset={card.preset}  "
                   f"tile={card.tile}  {score}input: {card.input.split('|')[0].strip()}")


if __name__ == "__main__":
    main()
