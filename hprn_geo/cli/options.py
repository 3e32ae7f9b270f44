"""What the front doors share: option objects, parsers of option values, one-line errors, and the
prediction run behind ``hprn-geo predict`` and ``rio hprn``.

Importing it imports click and numpy, never torch, xarray, dask or rasterio: the work is imported
when a command runs, so ``hprn-geo --help`` and ``rio --help`` start fast.
"""

from __future__ import annotations

import functools
import json
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from hprn_geo.errors import DataFileError, HPRNGeoError, OutputError
from hprn_geo.io.photo import ENCODINGS, WHITE_BALANCES
from hprn_geo.predict_options import FIELDS, PredictOptions
from hprn_geo.sensors import NIR, with_nir

__all__ = [
    "BLOCK", "CAMERA", "COLOUR_CONSISTENT", "DATA_DIR", "INPUT_RGB_BANDS", "OVERWRITE", "PREDICT_OPTIONS", "RGB_BANDS",
    "SENSOR", "WITH_NIR", "friendly_errors",
    "model_options", "parse_batch", "parse_grid", "parse_rgb_bands", "parse_scale", "parse_sensor", "photo_options", "publish",
    "run_options", "run_predict", "split_options", "with_options",
]


def _one_line_warning(message: Any, category: type, filename: str, lineno: int, file: Any = None,
                      line: Any = None) -> None:
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


def parse_rgb_bands(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    """``"4,3,2"`` -> (4, 3, 2); four numbers (R, G, B, NIR) for a NIR input (the reader checks which)."""
    if value is None:
        return None
    try:
        bands = tuple(int(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"expected 1-based band numbers like 4,3,2 (4,3,2,8 with NIR), got {value!r}") from None
    if len(bands) not in (3, 4):
        raise click.BadParameter(f"expected three band numbers (four with --with-nir), got {len(bands)}")
    return bands


_NIR_KEY = "hprn_geo.with_nir"


def _remember_nir(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    ctx.meta[_NIR_KEY] = value


def parse_sensor(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--sensor NAME``, as ``NAME+nir`` (:data:`hprn_geo.sensors.NIR`) with ``--with-nir``."""
    if not ctx.meta.get(_NIR_KEY):
        return value
    if value is None:
        raise click.BadParameter("--with-nir needs --sensor NAME, the sensor whose near-infrared band to read")
    return value if with_nir(value) else value + NIR


WITH_NIR = click.option(
    "--with-nir", is_flag=True, is_eager=True, expose_value=False, callback=_remember_nir,
    help="Also read the sensor's near-infrared band (Sentinel-2 B08, OLI band 5, the Pléiades/SPOT NIR band) as a "
         "fourth input channel, for a model trained with it (the bundled *_nir models); needs --sensor.",
)  # fmt: skip
"""``--with-nir``: a fourth (NIR) input channel (``predict``, ``rio hprn``, ``info``)."""


def parse_scale(ctx: click.Context, param: click.Parameter, value: str) -> float | str:
    """``"auto"`` or a positive float."""
    return _auto_or(value, float, lambda x: x > 0, "a positive number")


INPUT_RGB_BANDS = click.option("--rgb-bands", callback=parse_rgb_bands,
                               help="1-based R,G,B band numbers of a multiband input, e.g. 4,3,2 (R,G,B,NIR where the command "
                                    "has --with-nir and it is given).")
"""The R, G, B bands of an input raster with more than three (``predict``, ``info``, ``fit``)."""

SENSOR = click.option(
    "--sensor", metavar="NAME", callback=parse_sensor,
    help="The input's satellite sensor (sentinel2, landsat, pleiades, spot67 or an alias such as landsat8) or "
         "camera:NAME: picks R, G, B by band name, scales integers by the sensor's DN convention (unless "
         "declared or --scale), reads linear, and picks or checks the model that takes this input.",
)  # fmt: skip
"""``--sensor``: the input's sensor (``predict``, ``rio hprn``, ``info``, ``stac``)."""

model_options = [
    click.option("--bands", type=click.IntRange(min=1), help="Pick the bundled model with this many bands."),
    click.option("--model", "model_name", help="Bundled model name (see `hprn-geo models`)."),
    click.option("--weights", type=click.Path(dir_okay=False), help="A checkpoint file instead of a bundled model."),
    click.option("--tile", type=click.IntRange(min=1), help="Tile side in pixels [default: the model card's]."),
    click.option("--overlap", type=click.IntRange(min=0), help="Tile overlap in pixels [default: the model card's]."),
    INPUT_RGB_BANDS,
    click.option("--scale", default="auto", show_default=True, callback=parse_scale,
                 help="Input -> reflectance: 'auto' (uint8 /255, uint16 by bit depth or declared scale, floats as is) or a factor."),
    SENSOR,
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


OVERWRITE = click.option("--overwrite", is_flag=True, help="Replace an existing output.")
QUIET = click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
BATCH = click.option(
    "--batch", default="auto", show_default=True, callback=parse_batch,
    help="Tiles per forward pass, or 'auto': 4 on the CPU, as many as fit in 60 % of the free GPU memory on CUDA.",
)  # fmt: skip
BLOCK = click.option(
    "--block", type=click.IntRange(min=1), metavar="PIXELS",
    help="Width of the block columns the scene is run in: a whole number >= the tile, rounded up to a "
         "multiple of 512 [default: 1024, wider when a tile row would not fill a CUDA batch]. Peak memory "
         "grows with it (and tile, batch, bands), never with the scene's size.",
)  # fmt: skip
DEVICE = click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"]))
PRECISION = click.option("--precision", default="auto", show_default=True, type=click.Choice(["auto", "fp32", "bf16"]),
                         help="bf16 autocast; 'auto' is bf16 on CUDA and fp32 on CPU.")

run_options = [
    BATCH,
    BLOCK,
    DEVICE,
    PRECISION,
    click.option("--prior", default="auto", show_default=True,
                 type=click.Choice(["auto", "skimage", "torch", "torch-connected"]),
                 help="Semantic prior: scikit-image SLIC (reference) or the batched torch SLIC (on the GPU with "
                      "CUDA); 'auto' is torch-connected on CUDA, skimage on the CPU."),
    COLOUR_CONSISTENT,
    click.option("--dtype", default="float32", show_default=True, type=click.Choice(["float32", "uint16"]),
                 help="uint16 stores reflectance x 10000 with the scale in the metadata."),
    click.option("--cog", is_flag=True, help="Write a Cloud Optimized GeoTIFF."),
    click.option("--resume", is_flag=True, help="Continue an interrupted run from its journal."),
    click.option("--dask-scheduler", metavar="ADDRESS",
                 help="Run on an existing dask.distributed cluster (e.g. tcp://host:8786)."),
    QUIET,
]
"""How a prediction runs and what it writes (``predict`` and ``rio hprn``; ``--overwrite`` is
:data:`OVERWRITE`, which ``rio hprn`` takes from rasterio instead)."""

PREDICT_OPTIONS = [*model_options, WITH_NIR, *photo_options, *run_options]
"""Every option of a prediction but the input, the output and ``--overwrite``."""

DATA_DIR = click.option(
    "--data-dir", type=click.Path(file_okay=False), envvar="HPRN_GEO_DATA",
    help="Folder of the shared cubes named by --data/--train (env HPRN_GEO_DATA).",
)  # fmt: skip
CAMERA = click.option("--camera", help="Render RGB through this camera (a name of the srf/ folder's cameras).")
RGB_BANDS = click.option("--rgb-bands", callback=parse_rgb_bands,
                         help="Use these 1-based bands of the grid as RGB, e.g. 53,31,7.")


def split_options(values: dict[str, Any]) -> tuple[PredictOptions, dict[str, Any]]:
    """A command's option values -> (the :class:`PredictOptions` among them, the rest by name): the one
    place a front door's ``--tile``, ``--scale``, ... become the options passed down."""
    return PredictOptions.pick(values), {k: v for k, v in values.items() if k not in FIELDS}


def run_predict(src: str, dst: str, options: PredictOptions, bands: int | None, model_name: str | None,
                weights: str | None, dtype: str, cog: bool, overwrite: bool, resume: bool,
                dask_scheduler: str | None, quiet: bool) -> None:
    """Reconstruct SRC into the cube DST with ``options`` (the :data:`PREDICT_OPTIONS` that say how the
    model runs and the input is read, :func:`split_options`) locally or on a dask cluster, and report
    on stderr what was assumed and written.

    Raises:
        OptionError: ``block`` is narrower than the tile.
    """
    from hprn_geo.predict import Predictor
    from hprn_geo.registry import resolve

    if dask_scheduler:
        from hprn_geo.distributed import run_on_cluster

        report = run_on_cluster(src, dst, dask_scheduler, options, model=model_name, weights=weights, bands=bands,
                                dtype=dtype, cog=cog, overwrite=overwrite, resume=resume)
    else:
        checkpoint = resolve(model_name, weights, bands, options.sensor)
        predictor = Predictor(checkpoint, options, progress=not quiet)
        report = predictor.predict_file(src, dst, dtype=dtype, cog=cog, overwrite=overwrite, resume=resume)
    if not quiet:
        for note in report.notes:
            click.echo(f"hprn-geo: {note}", err=True)
        grid = report.grid
        click.echo(f"hprn-geo: wrote {report.path} ({grid.height} x {grid.width}, "
                   f"{report.tiles_run} tiles on {report.device} in {report.seconds:.1f} s)", err=True)


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
