"""Exceptions and warnings of hprn-geo.

Every error raised on purpose derives from :class:`HPRNGeoError` and also from
the builtin exception it means (``ValueError``, ``OSError``, ...), so callers
can catch either. Warnings mark what is odd but allowed. :func:`one_line_reason`
makes the one-line message of a (chained) library error.
"""

from __future__ import annotations

__all__ = [
    "AllNodataWarning", "BandCountError", "CancelledError", "CheckpointError", "ClusterError", "ConfigError",
    "DataFileError", "DeviceError", "HPRNGeoError", "HPRNGeoWarning", "MetricInputError", "MisregistrationWarning",
    "MissingCRSError", "MissingCRSWarning", "MissingWavelengthsError", "NoOverlapError", "NotReflectanceWarning",
    "OptionError", "OutputError", "OutputLockedError", "RasterReadError", "StacError", "StaleLockWarning",
    "TileSizeError", "TooFewPixelsError", "UnsupportedDtypeError", "UntrainedModelWarning", "WeakModelWarning",
    "one_line_reason",
]


def one_line_reason(error: BaseException | None) -> str:
    """One line: the error's message plus GDAL's underlying one when rasterio chains it ("" when none says anything)."""
    texts: list[str] = []
    while error is not None and len(texts) < 3:
        text = " ".join(str(error).split())
        if text and "see previous exception" not in text.lower():
            texts.append(text)
        error = error.__cause__ or error.__context__
    return "; ".join(dict.fromkeys(texts))


class HPRNGeoError(Exception):
    """Root of all hprn-geo errors."""


class BandCountError(HPRNGeoError, ValueError):
    """The input has a band count the operation cannot use (e.g. not 3 and no ``rgb_bands``)."""


class UnsupportedDtypeError(HPRNGeoError, TypeError):
    """The raster's data type cannot be scaled to reflectance."""


class TileSizeError(HPRNGeoError, ValueError):
    """Tile size and overlap are inconsistent (tile must exceed twice the overlap)."""


class CheckpointError(HPRNGeoError, ValueError):
    """A checkpoint is missing, tampered with, or does not match what was asked."""


class RasterReadError(HPRNGeoError, OSError):
    """A raster cannot be opened or read (missing, corrupt, not a raster)."""


class OutputError(HPRNGeoError, OSError):
    """The output cannot be written (exists without overwrite, not writable, disk full)."""


class OutputLockedError(OutputError):
    """Another run is writing the same output (its lock file, ``<output>.lock``, names it)."""


class DataFileError(HPRNGeoError, ValueError):
    """A data file (cube, label map, split) lacks a key or has an unexpected layout."""


class StacError(DataFileError):
    """A STAC document or asset cannot be used (not found, not JSON, not an Item, asset not a raster)."""


class OptionError(HPRNGeoError, ValueError):
    """An option or argument has a value hprn-geo does not accept (a precision, a scale, an encoding, ...)."""


class ConfigError(HPRNGeoError, ValueError):
    """A training configuration is incomplete or inconsistent."""


class MetricInputError(HPRNGeoError, ValueError):
    """Arrays given to a metric cannot be compared (shape, layout, range, nothing valid)."""


class NoOverlapError(HPRNGeoError, ValueError):
    """Two rasters that must cover the same ground (an RGB and a hyperspectral cube) do not overlap."""


class MissingCRSError(HPRNGeoError, ValueError):
    """A raster has no CRS where one is needed (to bring two rasters onto one grid)."""


class MissingWavelengthsError(DataFileError):
    """A cube has no wavelengths in its metadata and none were given."""


class TooFewPixelsError(HPRNGeoError, ValueError):
    """Fewer pixels with data than an operation needs (e.g. training targets of a scene fit)."""


class DeviceError(HPRNGeoError, RuntimeError):
    """The requested compute device is not available."""


class ClusterError(HPRNGeoError, RuntimeError):
    """A dask cluster could not run a job: no scheduler at the address, or its workers kept dying on one block."""


class CancelledError(HPRNGeoError):
    """A host (QGIS's Cancel button, a caller's callback) stopped the run; nothing was published."""


class HPRNGeoWarning(UserWarning):
    """Root of all hprn-geo warnings."""


class MissingCRSWarning(HPRNGeoWarning):
    """The input raster has no CRS; the output is written without one."""


class StaleLockWarning(HPRNGeoWarning):
    """An output's lock was left by a run that is gone (killed); this run takes it over."""


class AllNodataWarning(HPRNGeoWarning):
    """Every input pixel is nodata; the output is all nodata."""


class UntrainedModelWarning(HPRNGeoWarning):
    """The model has random weights: its spectra are meaningless."""


class WeakModelWarning(HPRNGeoWarning):
    """The model does not beat a classical baseline in its card's cross-validation."""


class NotReflectanceWarning(HPRNGeoWarning):
    """A cube's values look like radiance or unscaled integers, not reflectance in [0, 1]."""


class MisregistrationWarning(HPRNGeoWarning):
    """Two rasters that should be co-registered are shifted by more than half a pixel."""
