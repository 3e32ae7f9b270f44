"""Zarr cube writer (zarr format 2, readable by xarray, rioxarray and GDAL); the store's layout is
described in ``docs/formats.md`` ("Zarr").

Metadata and coordinates are written first (``to_zarr(compute=False)`` on a lazy template), then each
complete block is written into its chunks (each chunk written once, whole, one at a time) and fsync'd
before the journal lists it. Everything goes to ``cube.zarr.partial``, renamed at commit.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import numpy as np
import xarray as xr
import zarr

from hprn_geo.errors import OutputError
from hprn_geo.io.cubewriter import CubeSpec, CubeWriter
from hprn_geo.io.publish import fsync_dir, fsync_path

__all__ = ["VARIABLE", "ZarrWriter"]

VARIABLE = "reflectance"
CHUNK = 512
BAND_CHUNK = 16
_FORMAT_KW = "zarr_format" if "zarr_format" in inspect.signature(xr.Dataset.to_zarr).parameters else "zarr_version"


def _template(spec: CubeSpec, chunks: tuple[int, int, int]) -> xr.Dataset:
    """A lazy (dask, nothing in memory) dataset with every coordinate and attribute."""
    t = spec.transform
    coords: dict = {"wavelength": ("wavelength", spec.wavelengths, {"units": "nm", "long_name": "wavelength"})}
    if spec.fwhm is not None:
        coords["fwhm"] = ("wavelength", spec.fwhm, {"units": "nm", "long_name": "full width at half maximum"})
    if t.b == 0 and t.d == 0 and not spec.gcps:
        coords["x"] = ("x", t.c + t.a * (np.arange(spec.width) + 0.5))
        coords["y"] = ("y", t.f + t.e * (np.arange(spec.height) + 0.5))
    empty = np.broadcast_to(np.float32(np.nan), (spec.bands, spec.height, spec.width))
    attrs: dict = {"long_name": "reflectance", "units": "1"}
    if spec.crs is not None:
        attrs["_CRS"] = {"wkt": spec.crs.to_wkt()}
    var = xr.DataArray(empty, dims=("wavelength", "y", "x"), coords=coords, name=VARIABLE, attrs=attrs)
    ds = var.to_dataset()
    ds.attrs.update(spec.tags)
    ds[VARIABLE] = ds[VARIABLE].chunk(dict(zip(("wavelength", "y", "x"), chunks)))
    ds = ds.assign_coords({name: ds[name].compute() for name in ds.coords if ds[name].chunks})
    import rioxarray  # noqa: F401  (registers .rio; here, not at import: its pyproj wheel crashes QGIS at exit)

    if spec.crs is not None:
        ds = ds.rio.write_crs(spec.crs)
        if "x" in ds.coords:
            ds = ds.rio.write_coordinate_system()
    if spec.gcps:
        return ds.rio.write_gcps(list(spec.gcps), spec.crs)
    return ds.rio.write_transform(t)


def _encoding(spec: CubeSpec, ds: xr.Dataset, chunks: tuple[int, int, int]) -> dict:
    enc = {**ds[VARIABLE].encoding, "chunks": chunks}
    if spec.dtype == "float32":
        enc.update(dtype="float32", _FillValue=np.float32(spec.nodata))
    else:
        enc.update(dtype="uint16", _FillValue=np.uint16(spec.nodata),
                   scale_factor=np.float32(1.0 / spec.scale), add_offset=np.float32(0.0))
    return {VARIABLE: enc} | {name: {"_FillValue": None} for name in ds.coords if name != "spatial_ref"}


def create_store(path: str | os.PathLike[str], spec: CubeSpec, chunks: tuple[int, int, int]) -> None:
    """Write an empty Zarr format 2 cube: metadata, coordinates and CF grid mapping, no data.

    Args:
        path: the store (a directory; replaced if it exists).
        spec: shape, wavelengths, georeferencing and tags.
        chunks: (bands, rows, cols) chunk shape of the data variable.
    """
    ds = _template(spec, chunks)
    ds.to_zarr(str(path), mode="w", compute=False, consolidated=True,
               encoding=_encoding(spec, ds, chunks), **{_FORMAT_KW: 2})


class ZarrWriter(CubeWriter):
    """Writes a cube to a zarr-format-2 store (the layout: ``docs/formats.md``, "Zarr")."""

    format_name = "Zarr"

    def __init__(self, path: Path, spec: CubeSpec, *, overwrite: bool = False) -> None:
        super().__init__(path, spec, overwrite=overwrite)
        self.chunks = (min(spec.bands, BAND_CHUNK), self.block_rows, min(CHUNK, spec.width))
        self._array: zarr.Array | None = None
        self._array_dir = self.partial / VARIABLE

    def _create(self) -> None:
        create_store(self.partial, self.spec, self.chunks)
        for root, _, files in os.walk(self.partial):
            for name in files:
                fsync_path(os.path.join(root, name))
            fsync_dir(root)
        fsync_dir(self.partial.parent)

    def _open(self) -> zarr.Array:
        if self._array is None:
            self._array = zarr.open_array(str(self._array_dir), mode="r+")
        return self._array

    def _reopen(self) -> None:
        try:
            array = self._open()
        except (OSError, ValueError, KeyError) as e:
            raise OutputError(f"cannot resume {self.path}: {self.partial.name} is unreadable ({e}); "
                              "drop --resume to start over") from None
        if tuple(array.shape) != (self.spec.bands, self.spec.height, self.spec.width) or array.dtype != self.spec.dtype:
            raise OutputError(f"cannot resume {self.path}: {self.partial.name} holds "
                              f"{tuple(array.shape)} {array.dtype}, not the cube asked for; "
                              "drop --resume to start over")

    def _write_blocks(self, blocks: list[tuple[int, int, np.ndarray]]) -> None:
        # One chunk per call: zarr writes the chunks of one call concurrently and, when one
        # fails (disk full), returns while the others may still be writing; one at a time,
        # nothing is left in flight when an error reaches abort(). Each chunk file
        # (``<band>.<row>.<col>``) is fsync'd once written.
        array = self._open()
        band_step, row_step, col_step = self.chunks
        for row_off, col_off, stored in blocks:
            rows = slice(row_off, row_off + stored.shape[1])
            for b0 in range(0, self.spec.bands, band_step):
                for c0 in range(0, stored.shape[2], col_step):
                    bands, cols = slice(b0, b0 + band_step), slice(c0, c0 + col_step)
                    array[bands, rows, col_off + c0:col_off + c0 + col_step] = stored[bands, :, cols]
                    chunk = f"{b0 // band_step}.{row_off // row_step}.{(col_off + c0) // col_step}"
                    fsync_path(self._array_dir / chunk)
        fsync_dir(self._array_dir)
