"""What the QGIS algorithm runs, with no QGIS import: testable anywhere hprn-geo is installed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

try:
    from hprn_geo.io.photo import ENCODINGS, WHITE_BALANCES
    from hprn_geo.predict import PredictionReport, Predictor
    from hprn_geo.registry import available_models, resolve
except ImportError as exc:  # QGIS's Python without hprn-geo
    raise ImportError(
        "the hprn-geo QGIS plugin needs the hprn-geo package in QGIS's Python; "
        "install it with that Python's pip (see docs/qgis.md)"
    ) from exc

__all__ = ["COLOUR_CONSISTENCY", "DEVICES", "ENCODINGS", "WHITE_BALANCES", "model_names", "reconstruct_raster"]

DEVICES = ("auto", "cpu", "cuda")
COLOUR_CONSISTENCY = {"model default": None, "on": True, "off": False}
"""The algorithm's colour-consistency choices and what :class:`Predictor` gets for each."""


def model_names() -> list[str]:
    """Names of the bundled models, for the algorithm's model choice."""
    return list(available_models())


def reconstruct_raster(
    src: str | Path,
    dst: str | Path,
    *,
    model: str | None = None,
    weights: str | Path | None = None,
    rgb_bands: tuple[int, int, int] | None = None,
    scale: float | str = "auto",
    encoding: str = "auto",
    white_balance: str = "none",
    colour_consistent: bool | None = None,
    tile: int | None = None,
    overlap: int | None = None,
    device: str = "auto",
    cog: bool = True,
    log: Callable[[str], None] = print,
) -> PredictionReport:
    """Reconstruct raster ``src`` into the cube ``dst`` (replaced if it exists, as QGIS outputs are).

    Args:
        src: the input raster (a QGIS layer's source).
        dst: the output ``.tif`` (or ``.zarr``).
        model, weights: a bundled model name or a checkpoint file (default: the default bundled model).
        rgb_bands: 1-based red, green, blue band numbers.
        scale: ``"auto"`` or the factor (number or text) from raw values to reflectance.
        encoding: one of :data:`ENCODINGS` (``"srgb"`` decodes a gamma-encoded photo).
        white_balance: one of :data:`WHITE_BALANCES` (per-scene channel gains).
        colour_consistent: make the output render back to the input (None: the model card's default).
        tile, overlap: tile side and overlap in pixels (default: the model card's).
        device: one of :data:`DEVICES`.
        cog: write a Cloud Optimized GeoTIFF (``.tif`` outputs only).
        log: where progress messages go (QGIS: ``feedback.pushInfo``).

    Raises:
        HPRNGeoError: bad input, model or output, with a one-line message.
    """
    checkpoint = resolve(model, weights)
    predictor = Predictor(checkpoint, tile, overlap, device=device, colour_consistent=colour_consistent)
    log(f"model {checkpoint.card.name!r}: {checkpoint.card.bands} bands, tile {predictor.tile} px, "
        f"overlap {predictor.overlap} px, on {predictor.device}")
    is_tif = Path(dst).suffix.lower() in (".tif", ".tiff")
    report = predictor.predict_file(src, dst, rgb_bands=rgb_bands, scale=scale, encoding=encoding,
                                    white_balance=white_balance, cog=cog and is_tif, overwrite=True)
    for note in report.notes:
        log(note)
    log(f"wrote {report.path}: {report.tiles_run} tiles in {report.seconds:.1f} s")
    return report
