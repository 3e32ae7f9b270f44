"""The ``rio hprn`` plugin: ``hprn-geo predict`` as a subcommand of rasterio's ``rio``.

Registered through the ``rasterio.rio_plugins`` entry point
(``hprn = "hprn_geo.rio:hprn"``). Input, output and ``--overwrite`` come from
:mod:`rasterio.rio.options`, as in rio-cogeo; every other option is the very
option object of ``hprn-geo predict``, so the two commands cannot drift apart,
and the work is done by invoking that command.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import click
from rasterio.rio import options

from hprn_geo.cli import predict

__all__ = ["hprn"]

_FROM_RASTERIO = ("src", "dst", "overwrite")


@click.command("hprn", short_help="Reconstruct a hyperspectral cube from an RGB raster.")
@options.file_in_arg
@options.file_out_arg
@options.overwrite_opt
@click.pass_context
def hprn(ctx: click.Context, input: str, output: str, overwrite: bool, **predict_options: Any) -> None:
    """Reconstruct INPUT (any GDAL RGB raster) into a hyperspectral cube OUTPUT (.tif/.tiff or .zarr).

    The options are those of 'hprn-geo predict'.
    """
    with (ctx.obj or {}).get("env") or nullcontext():  # rio's GDAL/AWS environment, when run under rio
        ctx.invoke(predict, src=input, dst=output, overwrite=overwrite, **predict_options)


hprn.params.extend(param for param in predict.params if param.name not in _FROM_RASTERIO)
