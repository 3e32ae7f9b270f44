"""The ``rio hprn`` plugin: ``hprn-geo predict`` as a subcommand of rasterio's ``rio`` (docs/rio.md).

Input, output and ``--overwrite`` come from :mod:`rasterio.rio.options`, as in rio-cogeo; every other option is
the very option object of ``hprn-geo predict`` (:data:`hprn_geo.cli.options.PREDICT_OPTIONS`), so the two
commands cannot drift apart, and both run :func:`hprn_geo.cli.options.run_predict`.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import click
from rasterio.rio import options

from hprn_geo.cli.options import PREDICT_OPTIONS, friendly_errors, run_predict, split_options, with_options

__all__ = ["hprn"]


@click.command("hprn", short_help="Reconstruct a hyperspectral cube from an RGB raster.")
@options.file_in_arg
@options.file_out_arg
@options.overwrite_opt
@with_options(PREDICT_OPTIONS)
@click.pass_context
@friendly_errors
def hprn(ctx: click.Context, input: str, output: str, overwrite: bool, **predict_options: Any) -> None:
    """Reconstruct INPUT (any GDAL RGB raster) into a hyperspectral cube OUTPUT (.tif/.tiff or .zarr).

    The options are those of 'hprn-geo predict'.
    """
    with (ctx.obj or {}).get("env") or nullcontext():  # rio's GDAL/AWS environment, when run under rio
        options, rest = split_options(predict_options)
        run_predict(input, output, options, overwrite=overwrite, **rest)
