"""GeoTIFF and COG cube writer; the layout and metadata are described in ``docs/formats.md``.

The partial (``cube.tif.partial``, driver forced to GTiff) is created with all metadata before any
data; each complete block is written by reopening it in ``r+`` mode and closing it (GDAL rewrites the
tile index on close), then fsync'd before the journal lists it. With ``cog=True`` the finished partial
is copied with GDAL's COG driver at commit.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from rasterio.windows import Window

from hprn_geo.errors import OutputError
from hprn_geo.io.cubewriter import CubeSpec, CubeWriter, format_wavelength
from hprn_geo.io.publish import fsync_dir, fsync_path

__all__ = ["GeoTIFFWriter", "best_compression"]

BLOCK = 512


@functools.cache
def best_compression() -> str:
    """``"ZSTD"`` when this GDAL can write ZSTD-compressed GeoTIFFs, else ``"DEFLATE"``."""
    try:
        with warnings.catch_warnings(), MemoryFile() as mem:
            warnings.simplefilter("ignore")
            with mem.open(driver="GTiff", width=16, height=16, count=1, dtype="uint8", compress="zstd") as ds:
                ds.write(np.zeros((1, 16, 16), dtype=np.uint8))
            with mem.open() as ds:
                ok = ds.compression is not None and ds.compression.name.lower() == "zstd"
    except Exception:  # noqa: BLE001 - any failure means "not available"
        ok = False
    return "ZSTD" if ok else "DEFLATE"


def _wavelength_tags(spec: CubeSpec, bands: slice) -> dict[str, str]:
    """``wavelength``, ``wavelength_units`` (and ``fwhm``) tags of ``bands``, values comma-separated in nm."""
    tags = {"wavelength": ",".join(repr(float(w)) for w in spec.wavelengths[bands]), "wavelength_units": "nm"}
    if spec.fwhm is not None:
        tags["fwhm"] = ",".join(repr(float(w)) for w in spec.fwhm[bands])
    return tags


class GeoTIFFWriter(CubeWriter):
    """Writes a cube to GeoTIFF (``cog=False``) or Cloud-Optimized GeoTIFF (``cog=True``)."""

    format_name = "GTiff"

    def __init__(self, path: Path, spec: CubeSpec, *, overwrite: bool = False, cog: bool = False) -> None:
        super().__init__(path, spec, overwrite=overwrite)
        self.cog = cog
        self.compression = best_compression()
        self._cog_partial = path.with_name(path.name + ".cog.partial")

    def _profile(self) -> dict:
        spec = self.spec
        profile = dict(
            driver="GTiff", width=spec.width, height=spec.height, count=spec.bands, dtype=spec.dtype,
            transform=spec.transform, nodata=spec.nodata, tiled=True,
            blockxsize=self.block_cols, blockysize=self.block_rows,
            compress=self.compression, predictor=3 if spec.dtype == "float32" else 2,
            bigtiff="IF_SAFER", interleave="band", sparse_ok=True,
        )
        if spec.crs is not None:
            profile["crs"] = spec.crs
        return profile

    def _create(self) -> None:
        spec = self.spec
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(self.partial, "w", **self._profile()) as ds:
                for i in range(spec.bands):
                    ds.set_band_description(i + 1, format_wavelength(spec.wavelengths[i]))
                    ds.update_tags(i + 1, **_wavelength_tags(spec, slice(i, i + 1)))
                ds.update_tags(**{**spec.tags, **_wavelength_tags(spec, slice(None))})
                if spec.gcps:
                    ds.gcps = (list(spec.gcps), spec.crs)
                if spec.dtype == "uint16":
                    ds.scales = [1.0 / spec.scale] * spec.bands
                    ds.offsets = [0.0] * spec.bands
        fsync_path(self.partial)
        fsync_dir(self.partial.parent)

    def _reopen(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(self.partial) as ds:
                found = (ds.count, ds.height, ds.width, ds.dtypes[0])
        if found != (self.spec.bands, self.spec.height, self.spec.width, self.spec.dtype):
            raise OutputError(f"cannot resume {self.path}: {self.partial.name} holds {found}, "
                              "not the cube asked for; drop --resume to start over")

    def _write_blocks(self, blocks: list[tuple[int, int, np.ndarray]]) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(self.partial, "r+") as ds:
                for row_off, col_off, stored in blocks:
                    ds.write(stored, window=Window(col_off, row_off, stored.shape[2], stored.shape[1]))
        fsync_path(self.partial)

    def _finish(self) -> Path:
        if not self.cog:
            return self.partial
        overviews = "AUTO" if max(self.spec.height, self.spec.width) > BLOCK else "NONE"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            rasterio.shutil.copy(
                self.partial, self._cog_partial, driver="COG", COMPRESS=self.compression,
                PREDICTOR="YES", BIGTIFF="IF_SAFER", BLOCKSIZE=BLOCK, OVERVIEWS=overviews,
                RESAMPLING="AVERAGE", NUM_THREADS="ALL_CPUS",
            )
            with rasterio.open(self._cog_partial) as ds:  # the copy must keep the layout and band metadata
                layout = ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT")
                descriptions, tags = ds.descriptions, ds.tags()
        expected = tuple(format_wavelength(w) for w in self.spec.wavelengths)
        if layout != "COG" or descriptions != expected or tags.get("wavelength_units") != "nm":
            raise OutputError(f"cannot finish {self.path}: the COG copy lost its layout or band metadata")
        fsync_path(self._cog_partial)
        return self._cog_partial

    def _temporaries(self) -> list[Path]:
        return [self._cog_partial]
