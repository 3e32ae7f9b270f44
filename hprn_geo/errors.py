"""Exceptions and warnings of hprn-geo.

Every error raised on purpose derives from :class:`HPRNGeoError` and also from
the builtin exception it means (``ValueError``, ``OSError``, ...), so callers
can catch either. Warnings mark what is odd but allowed.
"""

from __future__ import annotations


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


class DataFileError(HPRNGeoError, ValueError):
    """A data file (cube, label map, split) lacks a key or has an unexpected layout."""


class StacError(DataFileError):
    """A STAC document or asset cannot be used (not found, not JSON, not an Item, asset not a raster)."""


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


class HPRNGeoWarning(UserWarning):
    """Root of all hprn-geo warnings."""


class MissingCRSWarning(HPRNGeoWarning):
    """The input raster has no CRS; the output is written without one."""


class AllNodataWarning(HPRNGeoWarning):
    """Every input pixel is nodata; the output is all nodata."""


class UntrainedModelWarning(HPRNGeoWarning):
    """The model has random weights: its spectra are meaningless."""


class NotReflectanceWarning(HPRNGeoWarning):
    """A cube's values look like radiance or unscaled integers, not reflectance in [0, 1]."""


class MisregistrationWarning(HPRNGeoWarning):
    """Two rasters that should be co-registered are shifted by more than half a pixel."""
