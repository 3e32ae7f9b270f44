"""The real cubes of the shared data folder (``../shared/data``): a catalogue in a data file,
``shared_cubes.toml`` beside this module (file, variable, layout, wavelengths rule, scale, extras,
source per cube), and :func:`load_shared`, which loads one as reflectance (or radiance, for
``kind = "radiance"``) through the format readers of :mod:`hprn_geo.io` (``mat``, ``envi``, ``band_stack``)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from rasterio.crs import CRS

from hprn_geo.errors import DataFileError
from hprn_geo.io.band_stack import read_band_stack
from hprn_geo.io.cube import Cube
from hprn_geo.io.envi import envi_map_info, north_up
from hprn_geo.io.mat import read_mat_arrays, require_array

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["SHARED_CUBES", "SharedCube", "load_shared"]


@dataclass(frozen=True)
class SharedCube:
    """How to load one real cube of the shared data folder (the fields of ``shared_cubes.toml``)."""

    file: str
    key: str
    layout: str
    wavelengths: Mapping[str, Any]
    """One rule, ``{"key": name}``, ``{"linspace": [start, stop, count]}``, ``{"aviris_linspace": key}``,
    ``{"usgs_channels": key}`` or ``{"usgs_dropping": [[first, last], ...]}`` (see the data file)."""
    scale: float = 1.0
    fwhm_key: str | None = None
    kind: str = "reflectance"
    tile: int | None = None
    extras: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    source: str = ""

    def band_centres(self, arrays: Mapping[str, np.ndarray], data_dir: Path) -> np.ndarray:
        """``(B,)`` nm by the cube's wavelength rule."""
        (rule, value), = self.wavelengths.items()
        if rule == "key":
            return np.asarray(arrays[value], dtype=np.float64).ravel()
        if rule == "linspace":
            start, stop, count = value
            return np.linspace(float(start), float(stop), int(count))
        if rule == "aviris_linspace":
            return np.linspace(380.0, 2500.0, 224)[_channels(arrays[value])]
        if rule == "usgs_channels":
            return _usgs_aviris_grid(data_dir)[_channels(arrays[value])]
        if rule == "usgs_dropping":
            dropped = np.concatenate([np.arange(first, last + 1) for first, last in value])
            return _usgs_aviris_grid(data_dir)[np.setdiff1d(np.arange(1, 225), dropped) - 1]
        raise DataFileError(f"unknown wavelength rule {rule!r} in shared_cubes.toml")


def _channels(values: np.ndarray) -> np.ndarray:
    """1-based channel numbers -> 0-based indices."""
    return np.asarray(values).ravel().astype(int) - 1


def _usgs_aviris_grid(data_dir: Path) -> np.ndarray:
    """The 224 AVIRIS channel centres (nm) of the USGS 1995 library (not monotonic near 670 nm)."""
    library = read_mat_arrays(data_dir / "spectra" / "usgs1995_aviris224.mat")
    return library["datalib"][:, 0] * 1000.0


def _catalogue() -> dict[str, SharedCube]:
    """``shared_cubes.toml`` as :class:`SharedCube` by name; a table with ``tiles`` gives one cube per tile."""
    tables = tomllib.loads(resources.files("hprn_geo.io").joinpath("shared_cubes.toml").read_text())
    cubes = {}
    for name, table in tables.items():
        fields = {**table, "extras": {k: tuple(v) for k, v in table.get("extras", {}).items()}}
        tiles = fields.pop("tiles", None)
        if tiles is None:
            cubes[name] = SharedCube(**fields)
        for index, (column, row) in enumerate(tiles or ()):
            cubes[f"{name}_{column}_{row}"] = SharedCube(**fields, tile=index)
    return cubes


SHARED_CUBES: dict[str, SharedCube] = _catalogue()
"""The real cubes of the shared data folder by name (see docs/spectral.md)."""


def load_shared(name: str, data_dir: str | Path) -> Cube:
    """Load a cube of :data:`SHARED_CUBES` from the shared data folder.

    Args:
        name: a key of :data:`SHARED_CUBES`.
        data_dir: the shared data folder (holding ``cubes/``, ``spectra/``, ...).

    Returns:
        The cube, scaled to reflectance (radiance for ``kind="radiance"``, in
        the file's units, ``extras["units"]``), with the registry's wavelengths.

    Raises:
        DataFileError: unknown name, or the file's layout is not the expected one.
        RasterReadError: the file is missing.
    """
    if name not in SHARED_CUBES:
        raise DataFileError(f"unknown shared cube {name!r}; known: {', '.join(SHARED_CUBES)}")
    spec, data_dir = SHARED_CUBES[name], Path(data_dir)
    path = data_dir / spec.file
    if spec.layout == "band_stack":
        cube = read_band_stack(path, wavelengths=spec.band_centres({}, data_dir))
        return Cube(cube.data, cube.wavelengths, name=name, extras=cube.extras)
    arrays = read_mat_arrays(path)
    data = _arrange(require_array(arrays, spec.key, path), spec, arrays, path)
    extras = {label: _arrange(require_array(arrays, stored, path), spec, arrays, path, how)
              for label, (stored, how) in spec.extras.items()}
    extras.update(_shared_metadata(spec, arrays))
    fwhm = None if spec.fwhm_key is None else np.asarray(arrays[spec.fwhm_key], dtype=np.float64).ravel()
    return Cube(data, spec.band_centres(arrays, data_dir), fwhm=fwhm, name=name, extras=extras, kind=spec.kind)


def _arrange(
    values: np.ndarray, spec: SharedCube, arrays: Mapping[str, np.ndarray], path: Path, how: str | None = None
) -> np.ndarray:
    """Stored array -> ``(B, H, W)`` float32 (cube, scaled) or the extra's own layout."""
    how = how or spec.layout
    if how == "image":
        return values
    if how == "rows_cols_k":
        return np.moveaxis(values, -1, 0)
    if how in ("bands_by_pixels", "pixels"):
        rows, cols = int(require_array(arrays, "nRow", path).item()), int(require_array(arrays, "nCol", path).item())
        if values.ndim != 2 or values.shape[1] != rows * cols:
            raise DataFileError(f"{path.name}: {values.shape} is not (K, {rows}*{cols})")
        arranged = values.reshape(values.shape[0], cols, rows).transpose(0, 2, 1)
    elif how == "tiles":
        arranged = np.moveaxis(values[spec.tile], -1, 0)
    else:
        arranged = np.moveaxis(values, -1, 0)
    if how == "pixels":
        return arranged
    data = arranged.astype(np.float32)
    if "nodata" in arrays:
        data[arranged == arrays["nodata"].item()] = np.nan
    return data * np.float32(spec.scale)


def _shared_metadata(spec: SharedCube, arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """CRS and transform where the file has them (EnMAP tiles; AVIRIS-NG map info), radiance units."""
    geo: dict[str, Any] = {}
    if "map_info" in arrays:
        geo.update(envi_map_info(str(arrays["map_info"].ravel()[0]).split(",")))
    if "units" in arrays:
        geo["units"] = str(arrays["units"].ravel()[0])
    if spec.layout == "tiles":
        column, row = (int(v) for v in arrays["tile_xy_offset"][spec.tile])
        x, y = arrays["tile_ul_utm33n"][spec.tile]
        geo.update(crs=CRS.from_epsg(32633), transform=north_up(x, y, 30.0, 30.0))
        geo["tile_name"], geo["tile_xy_offset"] = f"enmap_potsdam_tile_{column}_{row}", (column, row)
    return geo
