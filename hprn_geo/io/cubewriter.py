"""What every cube writer shares: the spec, strip buffering, journal, commit and abort.

A cube ``(B, H, W)`` arrives strip by strip (full-width bands of rows, any
height). The writer keeps the rows of each *row block* (the file's tile or
chunk height, 512 by default) in memory until the block is complete, then
writes the block once, makes it durable, and only then records it (and every
strip it completes) in the journal. A block on disk is never rewritten, so a
SIGKILL at any moment leaves every journaled strip intact; a resumed writer
skips rows already on disk. Memory: the row blocks touched by strips not yet
complete, ``(B, block_rows, W)`` each in the stored dtype — one or two when
strips arrive in order.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import numpy as np
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from rasterio.errors import RasterioError
from rasterio.transform import Affine

from hprn_geo.errors import HPRNGeoError, OutputError, one_line_reason
from hprn_geo.io.journal import Journal, fsync_dir
from hprn_geo.io.lock import OutputLock

__all__ = ["CubeSpec", "CubeWriter", "format_wavelength"]

RESERVED_TAGS = ("wavelength", "wavelength_units", "fwhm")
UINT16_NODATA = 65535
_T = TypeVar("_T")


def format_wavelength(nm: float) -> str:
    """Band description for a wavelength: ``550 -> "550 nm"``, ``401.13 -> "401.13 nm"``."""
    return f"{np.format_float_positional(float(nm), trim='-')} nm"


@dataclass
class CubeSpec:
    """Layout and metadata of a ``(B, H, W)`` reflectance cube to write.

    Attributes:
        height, width: size in pixels (same as the input scene).
        wavelengths: ``(B,)`` band centres in nm.
        crs: rasterio ``CRS``, anything ``CRS.from_user_input`` takes, or None.
        transform: affine pixel -> CRS transform (``affine.Affine``, or its six
            coefficients ``(a, b, c, d, e, f)``).
        dtype: ``"float32"`` (reflectance) or ``"uint16"`` (``round(reflectance * scale)``,
            clipped to [0, 65535] with the nodata value itself avoided).
        scale: for uint16, stored = round(reflectance * scale), e.g. 10000; metadata
            records ``1 / scale`` so readers get reflectance back.
        nodata: NaN for float32 and 65535 for uint16 by default.
        fwhm: ``(B,)`` band widths in nm, or None.
        tags: extra string metadata (model name, card, ...); the keys
            ``wavelength``, ``wavelength_units`` and ``fwhm`` are reserved.
        gcps: ground control points (pixel row/col -> ``crs`` x/y) of a cube
            georeferenced by them alone; ``transform`` must then be the identity.
    """

    height: int
    width: int
    wavelengths: np.ndarray
    crs: Any
    transform: Any
    dtype: str = "float32"
    scale: float = 1.0
    nodata: float | int | None = None
    fwhm: np.ndarray | None = None
    tags: dict[str, str] = field(default_factory=dict)
    gcps: tuple[GroundControlPoint, ...] = ()

    def __post_init__(self) -> None:
        if int(self.height) < 1 or int(self.width) < 1:
            raise ValueError(f"cube size must be positive, got {self.height}x{self.width}")
        self.height, self.width = int(self.height), int(self.width)
        self.wavelengths = _band_vector(self.wavelengths, "wavelengths")
        if self.fwhm is not None:
            self.fwhm = _band_vector(self.fwhm, "fwhm")
            if self.fwhm.shape != self.wavelengths.shape:
                raise ValueError(f"fwhm has {self.fwhm.size} values for {self.wavelengths.size} bands")
        empty = self.crs is None or (isinstance(self.crs, str) and not self.crs.strip())
        self.crs = None if empty else CRS.from_user_input(self.crs)
        if not isinstance(self.transform, Affine):
            values = tuple(self.transform)
            if len(values) not in (6, 9):
                raise ValueError(f"transform must be an affine.Affine or its 6 coefficients, got {values!r}")
            self.transform = Affine(*values[:6])
        self.gcps = tuple(self.gcps)
        if self.gcps and not self.transform.is_identity:
            raise ValueError("a cube georeferenced by GCPs has the identity transform")
        self.dtype = np.dtype(self.dtype).name
        if self.dtype not in ("float32", "uint16"):
            raise ValueError(f"dtype must be 'float32' or 'uint16', got {self.dtype!r}")
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"scale must be a positive number, got {self.scale!r}")
        self.nodata = _check_nodata(self.dtype, self.nodata)
        reserved = sorted(set(self.tags) & set(RESERVED_TAGS))
        if reserved:
            raise ValueError(f"tags {reserved} are reserved: they are written from wavelengths/fwhm")
        self.tags = {str(k): str(v) for k, v in self.tags.items()}

    @property
    def bands(self) -> int:
        """Number of bands B."""
        return int(self.wavelengths.size)

    def fingerprint(self, fmt: str, block_rows: int) -> dict[str, Any]:
        """What must match for a resume to continue a partial write (JSON-ready)."""
        nodata = self.nodata
        return {
            "format": fmt,
            "shape": [self.bands, self.height, self.width],
            "wavelengths": [float(w) for w in self.wavelengths],
            "dtype": self.dtype,
            "scale": float(self.scale),
            "nodata": "nan" if isinstance(nodata, float) and math.isnan(nodata) else nodata,
            "transform": [float(v) for v in tuple(self.transform)[:6]],
            "crs": self.crs.to_wkt() if self.crs is not None else None,
            "gcps": [[g.row, g.col, g.x, g.y, g.z] for g in self.gcps],
            "block_rows": block_rows,
        }

    def encode(self, data: np.ndarray) -> np.ndarray:
        """Reflectance ``(B, rows, W)`` with NaN = nodata -> stored values, same shape."""
        data = np.asarray(data, dtype=np.float32)
        invalid = np.isnan(data)
        if self.dtype == "float32":
            if math.isnan(self.nodata):
                return data
            return np.where(invalid, np.float32(self.nodata), data)
        scaled = np.rint(np.where(invalid, 0.0, data).astype(np.float64) * self.scale)
        stored = np.clip(scaled, 0, 65535).astype(np.uint16)
        nodata = int(self.nodata)
        stored[(stored == nodata) & ~invalid] = nodata - 1 if nodata > 0 else 1
        stored[invalid] = nodata
        return stored


def _band_vector(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must be a non-empty 1-D array of positive nm values")
    return arr


def _check_nodata(dtype: str, nodata: float | None) -> float | int:
    if dtype == "float32":
        return float("nan") if nodata is None else float(nodata)
    if nodata is None:
        return UINT16_NODATA
    if float(nodata) != int(nodata) or not 0 <= int(nodata) <= 65535:
        raise ValueError(f"uint16 nodata must be an integer in 0..65535, got {nodata!r}")
    return int(nodata)


def remove_path(path: Path) -> None:
    """Delete a file or directory tree if it exists."""
    if path.is_dir() and not path.is_symlink():
        for _ in range(4):  # a store's background writer may still be finishing a file
            shutil.rmtree(path, ignore_errors=True)
            if not path.exists():
                return
            time.sleep(0.05)
        shutil.rmtree(path)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def guarded(target: Path, action: str, fn: Callable[[], _T]) -> _T:
    """Run ``fn``; turn OS/GDAL failures (disk full, permissions) into one-line OutputError."""
    try:
        return fn()
    except HPRNGeoError:
        raise
    except (OSError, RasterioError) as e:
        raise OutputError(f"cannot {action} {target}: {one_line_reason(e) or 'write failed'}") from None


class CubeWriter:
    """Writes a ``(B, H, W)`` cube strip by strip under a temporary name; see module doc.

    Create with :func:`hprn_geo.io.open_writer`. Subclasses implement the
    format hooks ``_create``, ``_reopen``, ``_write_blocks`` and ``_finish``.

    Use as a context manager: success commits; an exception aborts (keeping
    the partial and journal for ``resume`` only on KeyboardInterrupt).
    """

    format_name = "?"

    def __init__(self, path: Path, spec: CubeSpec, *, overwrite: bool = False) -> None:
        self.path = path
        self.spec = spec
        self.overwrite = overwrite
        self.partial = path.with_name(path.name + ".partial")
        self.block_rows = min(512, _round_up(spec.height, 16))
        fingerprint = spec.fingerprint(self.format_name, self.block_rows)
        self._journal = Journal(path.with_name(path.name + ".journal.json"), fingerprint)
        self._pending: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._written: dict[int, tuple[int, int]] = {}
        self._lock = OutputLock(path)
        self._state = "new"

    # -- format hooks ----------------------------------------------------
    def _create(self) -> None:
        raise NotImplementedError

    def _reopen(self) -> None:
        raise NotImplementedError

    def _write_blocks(self, blocks: list[tuple[int, np.ndarray]]) -> None:
        """Write ``(row_off, stored (B, rows, W))`` blocks and make them durable."""
        raise NotImplementedError

    def _finish(self) -> Path:
        """Return the finished temporary to move onto the target."""
        return self.partial

    def _temporaries(self) -> list[Path]:
        """Temporaries besides the partial and journal (removed on commit/abort)."""
        return []

    # -- lifecycle -------------------------------------------------------
    def start(self, resume: bool) -> CubeWriter:
        """Lock the target, then create the partial (or reopen it when resuming); called by ``open_writer``.

        Raises:
            OutputLockedError: another live run is writing the target (:mod:`hprn_geo.io.lock`).
        """
        self._lock.acquire()
        try:
            self._prepare(resume)
        except BaseException:
            self._lock.release()
            raise
        self._state = "open"
        return self

    def _prepare(self, resume: bool) -> None:
        """Drop stale temporaries; reopen the partial and journal (resume) or create them afresh."""
        for tmp in self._temporaries():
            remove_path(tmp)
        if resume and self.partial.exists() and self._journal.path.exists():
            self._journal = Journal.load(self._journal.path, self._journal.fingerprint, str(self.path))
            guarded(self.path, "resume", self._reopen)
            self._written = dict(self._journal.strips)
        else:
            remove_path(self.partial)
            self._journal.remove()
            guarded(self.path, "create", self._create)
            guarded(self.path, "write journal for", self._journal.save)

    def done_strips(self) -> set[int]:
        """Indices of strips already on disk and journaled (skip them when resuming)."""
        return set(self._journal.strips)

    def write_strip(self, index: int, row_off: int, data: np.ndarray) -> None:
        """Write one strip: ``data`` float32 ``(B, rows, W)`` reflectance, NaN = nodata.

        Rows already on disk (from a resumed run) are skipped; rewriting a
        journaled strip with the same rows is a no-op. Strips must not overlap.
        """
        self._require_open()
        rows = self._check_strip(index, row_off, data)
        index, row_off = int(index), int(row_off)
        if index in self._journal.strips:
            if self._journal.strips[index] != (row_off, rows):
                raise ValueError(f"strip {index} was journaled as rows {self._journal.strips[index]}, "
                                 f"not ({row_off}, {rows})")
            return
        stored = self.spec.encode(data)
        complete = self._buffer(row_off, stored)
        self._written[index] = (row_off, rows)
        if complete:
            self._flush(complete)

    def commit(self) -> None:
        """Finish: check every row was written, then atomically move the result onto the target.

        Raises:
            OutputError: rows never written (the partial is kept for resume),
                the target appeared meanwhile without ``overwrite``, or a write failed.
        """
        if self._state == "committed":
            return
        self._require_open()
        missing = [b for b in range(self._n_blocks) if b not in self._journal.blocks]
        if missing:
            r0 = missing[0] * self.block_rows
            raise OutputError(
                f"cannot finish {self.path}: rows from {r0} on were never written "
                f"({len(missing)} of {self._n_blocks} row blocks); the partial is kept for --resume"
            )
        if self.path.exists() and not self.overwrite:
            raise OutputError(f"{self.path} exists; pass --overwrite to replace it")
        try:
            finished = guarded(self.path, "finish", self._finish)
            guarded(self.path, "move the result onto", lambda: self._install(finished))
        except BaseException:
            for tmp in self._temporaries():
                remove_path(tmp)
            raise
        self._state = "committed"
        self._cleanup(keep_partial=False)

    def abort(self, keep_partial: bool = False) -> None:
        """Stop writing; remove the partial and journal unless ``keep_partial`` (for resume)."""
        if self._state in ("committed", "aborted"):
            return
        self._state = "aborted"
        self._pending.clear()
        self._cleanup(keep_partial)

    def __enter__(self) -> CubeWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort(keep_partial=issubclass(exc_type, KeyboardInterrupt))

    # -- internals -------------------------------------------------------
    @property
    def _n_blocks(self) -> int:
        return -(-self.spec.height // self.block_rows)

    def _require_open(self) -> None:
        if self._state != "open":
            raise ValueError(f"the writer for {self.path} is {self._state}, not open")

    def _check_strip(self, index: int, row_off: int, data: np.ndarray) -> int:
        spec = self.spec
        shape = getattr(data, "shape", None)
        if shape is None or len(shape) != 3 or shape[0] != spec.bands or shape[2] != spec.width or shape[1] < 1:
            raise ValueError(f"strip data must be (B={spec.bands}, rows, W={spec.width}), got {shape}")
        if int(index) != index or index < 0:
            raise ValueError(f"strip index must be a non-negative integer, got {index!r}")
        rows = int(shape[1])
        if row_off < 0 or row_off + rows > spec.height:
            raise ValueError(f"strip rows {row_off}..{row_off + rows} outside the cube's {spec.height} rows")
        return rows

    def _block_height(self, block: int) -> int:
        return min(self.block_rows, self.spec.height - block * self.block_rows)

    def _buffer(self, row_off: int, stored: np.ndarray) -> list[int]:
        """Copy a strip into its row blocks; return the blocks it completed."""
        complete = []
        end = row_off + stored.shape[1]
        for block in range(row_off // self.block_rows, (end - 1) // self.block_rows + 1):
            if block in self._journal.blocks:
                continue
            b0 = block * self.block_rows
            lo, hi = max(row_off, b0), min(end, b0 + self._block_height(block))
            if block not in self._pending:
                shape = (self.spec.bands, self._block_height(block), self.spec.width)
                fill = np.full(shape, self.spec.nodata, dtype=stored.dtype)
                self._pending[block] = (fill, np.zeros(shape[1], dtype=bool))
            buf, filled = self._pending[block]
            buf[:, lo - b0:hi - b0] = stored[:, lo - row_off:hi - row_off]
            filled[lo - b0:hi - b0] = True
            if filled.all():
                complete.append(block)
        return complete

    def _flush(self, blocks: list[int]) -> None:
        """Write complete blocks durably, then journal them and the strips they finish."""
        work = [(b * self.block_rows, self._pending[b][0]) for b in blocks]
        guarded(self.path, "write", lambda: self._write_blocks(work))
        for b in blocks:
            del self._pending[b]
            self._journal.blocks.add(b)
        for index, (r0, rows) in self._written.items():
            first, last = r0 // self.block_rows, (r0 + rows - 1) // self.block_rows
            if all(b in self._journal.blocks for b in range(first, last + 1)):
                self._journal.strips[index] = (r0, rows)
        guarded(self.path, "write journal for", self._journal.save)

    def _install(self, finished: Path) -> None:
        """Move ``finished`` onto the target (os.replace; directories via a set-aside old copy)."""
        if finished.is_dir() and self.path.exists():
            old = self.path.with_name(self.path.name + ".replaced.partial")
            remove_path(old)
            os.replace(self.path, old)
            os.replace(finished, self.path)
            remove_path(old)
        else:
            os.replace(finished, self.path)
        fsync_dir(self.path.parent)

    def _cleanup(self, keep_partial: bool) -> None:
        for tmp in self._temporaries():
            remove_path(tmp)
        if not keep_partial:
            remove_path(self.partial)
            self._journal.remove()
        self._lock.release()


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple
