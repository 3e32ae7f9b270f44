"""What the QGIS algorithm runs, with no QGIS import: testable anywhere hprn-geo is installed."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from pathlib import Path

try:
    from hprn_geo.errors import CancelledError, HPRNGeoError, HPRNGeoWarning
    from hprn_geo.io.formats import format_for
    from hprn_geo.io.photo import ENCODINGS, WHITE_BALANCES
    from hprn_geo.predict import PredictionReport, Predictor
    from hprn_geo.predict_options import DEFAULT_OPTIONS, PredictOptions
    from hprn_geo.registry import available_models, resolve
    from hprn_geo.sensors import SENSORS
except ImportError as exc:  # QGIS's Python without hprn-geo
    raise ImportError(
        "the hprn-geo QGIS plugin needs the hprn-geo package in QGIS's Python; "
        "install it with that Python's pip (see docs/qgis.md)"
    ) from exc

__all__ = ["COLOUR_CONSISTENCY", "DEVICES", "ENCODINGS", "INPUT_SENSORS", "LABELS", "PredictOptions", "WHITE_BALANCES",
           "host_message", "layer_name", "model_names", "reconstruct_raster"]

DEVICES = ("auto", "cpu", "cuda")
COLOUR_CONSISTENCY = {"model default": None, "on": True, "off": False}
"""The algorithm's colour-consistency choices and what :class:`Predictor` gets for each."""
INPUT_SENSORS = {"none (a photo or any RGB)": None, **{f"{s.title} ({name})": name for name, s in SENSORS.items()}}
"""The algorithm's input sensor choices and the ``sensor`` each passes (``--sensor`` of ``hprn-geo predict``)."""


LABELS = {
    "INPUT": "RGB raster", "RED": "Red band", "GREEN": "Green band", "BLUE": "Blue band",
    "MODEL": "Bundled model (empty: the default)", "WEIGHTS": "Checkpoint file instead of a bundled model",
    "SCALE": "Input scale to reflectance", "ENCODING": "Input encoding", "WHITE_BALANCE": "White balance",
    "COLOUR_CONSISTENT": "Colour-consistent output", "TILE": "Tile size (px)", "OVERLAP": "Tile overlap (px)",
    "DEVICE": "Device", "COG": "Cloud Optimized GeoTIFF", "OUTPUT": "Hyperspectral cube",
    "SENSOR": "Input sensor (satellite bands and DN convention)",
}
"""The algorithm's parameters and their labels in the dialog (and in :func:`host_message`)."""

_FLAGS = {"--scale": "SCALE", "--rgb-bands": "RED", "--device": "DEVICE", "--tile": "TILE", "--overlap": "OVERLAP",
          "--encoding": "ENCODING", "--white-balance": "WHITE_BALANCE", "--colour-consistent": "COLOUR_CONSISTENT",
          "--sensor": "SENSOR"}
_FLAG = re.compile(r"(?:pass |give )?(--[a-z-]+)(?: [A-Z][A-Z,]*\b)?")


def host_message(exc: BaseException) -> str:
    """One line for QGIS's log: hprn-geo's message with command-line flags named as the dialog's
    parameters (``--scale FACTOR`` -> ``set 'Input scale to reflectance'``); other exceptions as
    ``Type: first line``."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if not isinstance(exc, HPRNGeoError):
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

    def label(match: re.Match) -> str:
        name = _FLAGS.get(match.group(1))
        if name is None:
            return match.group(0)
        return "the Red/Green/Blue band parameters" if name == "RED" else f"set '{LABELS[name]}'"

    return _FLAG.sub(label, text)


def layer_name(source: str, model: str) -> str:
    """The loaded cube's layer name: the input layer's name and the model, ``"scene (vnir31)"``."""
    return f"{source} ({model})"


def model_names() -> list[str]:
    """Names of the bundled models, for the algorithm's model choice."""
    return list(available_models())


def reconstruct_raster(
    src: str | Path,
    dst: str | Path,
    options: PredictOptions = DEFAULT_OPTIONS,
    *,
    model: str | None = None,
    weights: str | Path | None = None,
    cog: bool = True,
    log: Callable[[str], None] = print,
    warn: Callable[[str], None] | None = None,
    progress: Callable[[float], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> PredictionReport:
    """Reconstruct raster ``src`` into the cube ``dst`` (replaced if it exists, as QGIS outputs are).

    Args:
        src: the input raster (a QGIS layer's source).
        dst: the output ``.tif`` (or ``.zarr``).
        model, weights: a bundled model name or a checkpoint file (default: the default bundled model, or
            the one that takes ``sensor``).
        options: how the model runs and the input is read (:class:`~hprn_geo.predict_options.PredictOptions`,
            which the algorithm builds from its form: ``rgb_bands``, ``scale`` (a number or its text),
            ``encoding`` (one of :data:`ENCODINGS`), ``white_balance`` (one of :data:`WHITE_BALANCES`),
            ``colour_consistent`` (:data:`COLOUR_CONSISTENCY`), ``sensor`` (a value of :data:`INPUT_SENSORS`),
            ``tile``, ``overlap`` and ``device`` (one of :data:`DEVICES`)).
        cog: write a Cloud Optimized GeoTIFF (``.tif`` outputs only).
        log: where progress messages go (QGIS: ``feedback.pushInfo``).
        warn: where hprn-geo's warnings go, one line each (QGIS: ``feedback.pushWarning``;
            default: they are issued as Python warnings, as other libraries' warnings always are).
        progress: called with the percentage done after every tile (QGIS: ``feedback.setProgress``).
        cancelled: asked after every tile; True stops the run (QGIS: ``feedback.isCanceled``).

    Raises:
        HPRNGeoError: bad input, model or output, with a one-line message.
        CancelledError: ``cancelled()`` said so; the output was not written.
    """
    on_tile = _tile_callback(progress, cancelled)
    with warnings.catch_warnings(record=warn is not None) as caught:
        warnings.simplefilter("always", HPRNGeoWarning)
        try:
            checkpoint = resolve(model, weights, sensor=options.sensor)
            predictor = Predictor(checkpoint, options)
            log(f"model {checkpoint.card.name!r}: {checkpoint.card.bands} bands, tile {predictor.tile} px, "
                f"overlap {predictor.overlap} px, on {predictor.device}")
            output = format_for(dst)
            report = predictor.predict_file(src, dst, cog=cog and output is not None and output.cog, overwrite=True,
                                            on_tile=on_tile)
        finally:
            for warning in caught or ():
                if issubclass(warning.category, HPRNGeoWarning):
                    warn(str(warning.message))
                else:  # other libraries' warnings are not the user's business in QGIS; Python shows them
                    warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    for note in report.notes:
        log(note)
    log(f"wrote {report.path}: {report.tiles_run} tiles in {report.seconds:.1f} s")
    return report


def _tile_callback(progress: Callable[[float], None] | None,
                   cancelled: Callable[[], bool] | None) -> Callable[[int, int], None]:
    """``Predictor.predict_file``'s ``on_tile``: report the percentage, stop when cancelled."""

    def on_tile(done: int, total: int) -> None:
        if cancelled is not None and cancelled():
            raise CancelledError("cancelled; no output was written")
        if progress is not None:
            progress(100.0 * done / max(total, 1))

    return on_tile
