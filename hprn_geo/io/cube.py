"""The hyperspectral cube in memory that every reader of :mod:`hprn_geo.io.cubes` returns, and the
wavelength unit rule the readers share (arrays all below 30 are micrometres)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hprn_geo.errors import DataFileError

__all__ = ["Cube", "to_nanometres"]

_MICROMETRE_LIMIT = 30.0


@dataclass
class Cube:
    """A hyperspectral cube in memory.

    Attributes:
        data: ``(B, H, W)`` float32; reflectance unless ``kind`` says otherwise.
        wavelengths: ``(B,)`` float64 band centres in nm, or None when unknown.
        fwhm: ``(B,)`` float64 band widths in nm, or None.
        name: a short name (file stem or registry name).
        extras: what else the file holds that belongs to the pixels, e.g.
            ``"mask"`` ``(H, W)``, ``"abundances"`` ``(K, H, W)``, ``"crs"``
            and ``"transform"`` when the file is georeferenced.
        kind: ``"reflectance"`` or ``"radiance"``.
    """

    data: np.ndarray
    wavelengths: np.ndarray | None
    fwhm: np.ndarray | None = None
    name: str = ""
    extras: dict[str, Any] = field(default_factory=dict)
    kind: str = "reflectance"

    def __post_init__(self) -> None:
        if self.data.ndim != 3:
            raise DataFileError(f"cube {self.name!r} must be (B, H, W); got shape {self.data.shape}")
        for label in ("wavelengths", "fwhm"):
            values = getattr(self, label)
            if values is not None and np.shape(values) != (self.data.shape[0],):
                raise DataFileError(f"cube {self.name!r}: {label} {np.shape(values)} do not match "
                                    f"{self.data.shape[0]} bands")


def to_nanometres(values: np.ndarray, units: str | None = None) -> np.ndarray:
    """``values`` as float64 nm: micrometres when ``units`` say so (``micro...``, ``um``, ``µm``), or,
    without units, when every value is below 30; otherwise as they are."""
    values = np.asarray(values, dtype=np.float64)
    unit = (units or "").strip().lower()
    if unit.startswith(("micro", "um", "µm")) or (not unit and np.nanmax(values) < _MICROMETRE_LIMIT):
        return values * 1000.0
    return values
