"""What every cube writer shares: the spec, window buffering, journal, commit and abort.

Windows arrive in any order; each *block* (the file's tile or chunk, 512 x 512 by default) is kept in
memory until complete, then written once, made durable, and only then journaled, so a SIGKILL at any
moment leaves every journaled block intact. See ``docs/formats.md`` ("Atomic and resumable writing").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from rasterio.errors import RasterioError
from rasterio.transform import Affine

from hprn_geo.errors import HPRNGeoError, OutputError, one_line_reason
from hprn_geo.io.journal import Journal
from hprn_geo.io.lock import OutputLock
from hprn_geo.io.publish import (
    check_overwrite,
    fsync_dir,
    partial_path,
    remove_path,
    replace,
)

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
            return data if math.isnan(self.nodata) else np.where(invalid, np.float32(self.nodata), data)
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
        self.partial = partial_path(path)
        self.block_rows = min(512, -(-spec.height // 16) * 16)
        self.block_cols = min(512, -(-spec.width // 16) * 16)
        self._n_block_rows = -(-spec.height // self.block_rows)
        self._n_block_cols = -(-spec.width // self.block_cols)
        fingerprint = spec.fingerprint(self.format_name, self.block_rows) | {"block_cols": self.block_cols}
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

    def _write_blocks(self, blocks: list[tuple[int, int, np.ndarray]]) -> None:
        """Write ``(row_off, col_off, stored (B, rows, cols))`` blocks and make them durable."""
        raise NotImplementedError

    def _finish(self) -> Path:
        """Return the finished temporary to move onto the target."""
        return self.partial

    def _temporaries(self) -> list[Path]:
        """Temporaries besides the partial and journal (removed on commit/abort)."""
        return []

    def _remove_temporaries(self) -> None:
        for tmp in self._temporaries():
            remove_path(tmp)

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
        self._remove_temporaries()
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

    def written(self, row_off: int, col_off: int, rows: int, cols: int) -> bool:
        """True when every block under the window is on disk and journaled (skip it when resuming)."""
        return all(b in self._journal.blocks for b in self._blocks_under(row_off, col_off, rows, cols))

    def block_rows_to_write(self) -> list[tuple[int, int]]:
        """``(row_off, rows)`` of each row of blocks not wholly on disk and journaled, top to bottom."""
        rows = [(r0, min(self.block_rows, self.spec.height - r0)) for r0 in range(0, self.spec.height, self.block_rows)]
        return [(r0, n) for r0, n in rows if not self.written(r0, 0, n, self.spec.width)]

    def write_rows_elsewhere(self, row_off: int, data: np.ndarray) -> None:
        """Write one whole row of blocks into the partial of a run another process started, durably.

        For formats whose blocks many processes may write at once (``parallel`` in
        :data:`~hprn_geo.io.formats.FORMATS`): a dask worker, with a writer for the same target and spec,
        writes its rows; the process that started the run (holding the lock and the journal) records them
        with :meth:`journal_rows` once this returned.

        Args:
            row_off: the first row, on a block boundary (a multiple of ``block_rows``).
            data: float32 ``(B, rows, W)`` reflectance, NaN = nodata: ``block_rows`` rows (fewer at the bottom).
        """
        self._check_block_row(int(row_off), data.shape[1])
        self._check_strip(0, int(row_off), data)
        guarded(self.path, "write", lambda: self._write_blocks([(int(row_off), 0, self.spec.encode(data))]))

    def journal_rows(self, row_off: int, rows: int) -> None:
        """Journal a row of blocks :meth:`write_rows_elsewhere` put on disk (in this or another process)."""
        self._require_open()
        self._check_block_row(int(row_off), int(rows))
        self._journal.blocks.update(self._blocks_under(int(row_off), 0, int(rows), self.spec.width))
        guarded(self.path, "write journal for", self._journal.save)

    def _check_block_row(self, row_off: int, rows: int) -> None:
        if row_off % self.block_rows or rows != min(self.block_rows, self.spec.height - row_off) or rows < 1:
            raise ValueError(f"rows {row_off}..{row_off + rows} are not one row of the writer's "
                             f"{self.block_rows}-row blocks")

    def write_window(self, row_off: int, col_off: int, data: np.ndarray) -> None:
        """Write one window: ``data`` float32 ``(B, rows, cols)`` reflectance, NaN = nodata.

        Blocks already on disk (from a resumed run) are skipped. Windows must not overlap.
        """
        self._require_open()
        self._check_window(int(row_off), int(col_off), data)
        complete = self._buffer(int(row_off), int(col_off), self.spec.encode(data))
        if complete:
            self._flush(complete)

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
        self._written[index] = (row_off, rows)
        self.write_window(row_off, 0, data)

    def commit(self) -> None:
        """Finish: check every row was written, then atomically move the result onto the target.

        Raises:
            OutputError: rows never written (the partial is kept for resume),
                the target appeared meanwhile without ``overwrite``, or a write failed.
        """
        if self._state == "committed":
            return
        self._require_open()
        n_blocks = self._n_block_rows * self._n_block_cols
        missing = [b for b in range(n_blocks) if b not in self._journal.blocks]
        if missing:
            r0 = missing[0] // self._n_block_cols * self.block_rows
            raise OutputError(f"cannot finish {self.path}: rows from {r0} on were never written "
                              f"({len(missing)} of {n_blocks} blocks); the partial is kept for --resume")
        check_overwrite(self.path, self.overwrite)
        try:
            finished = guarded(self.path, "finish", self._finish)
            guarded(self.path, "move the result onto", lambda: self._install(finished))
        except BaseException:
            self._remove_temporaries()
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

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort(keep_partial=issubclass(exc_type, KeyboardInterrupt))

    # -- internals -------------------------------------------------------
    def _require_open(self) -> None:
        if self._state != "open":
            raise ValueError(f"the writer for {self.path} is {self._state}, not open")

    def _check_strip(self, index: int, row_off: int, data: np.ndarray) -> int:
        shape = getattr(data, "shape", None)
        if shape is None or len(shape) != 3 or (shape[0], shape[2]) != (self.spec.bands, self.spec.width):
            raise ValueError(f"strip data must be (B={self.spec.bands}, rows, W={self.spec.width}), got {shape}")
        if int(index) != index or index < 0:
            raise ValueError(f"strip index must be a non-negative integer, got {index!r}")
        self._check_window(row_off, 0, data)
        return int(shape[1])

    def _check_window(self, row_off: int, col_off: int, data: np.ndarray) -> None:
        spec = self.spec
        shape = getattr(data, "shape", None)
        if shape is None or len(shape) != 3 or shape[0] != spec.bands or min(shape[1:]) < 1:
            raise ValueError(f"window data must be (B={spec.bands}, rows, cols), got {shape}")
        if row_off < 0 or row_off + shape[1] > spec.height:
            raise ValueError(f"window rows {row_off}..{row_off + shape[1]} outside the cube's {spec.height} rows")
        if col_off < 0 or col_off + shape[2] > spec.width:
            raise ValueError(f"window columns {col_off}..{col_off + shape[2]} outside the cube's {spec.width} columns")

    def _blocks_under(self, row_off: int, col_off: int, rows: int, cols: int) -> list[int]:
        """Ids ``block_row * n_block_cols + block_col`` of the blocks a window touches, row-major."""
        return [r * self._n_block_cols + c
                for r in range(row_off // self.block_rows, (row_off + rows - 1) // self.block_rows + 1)
                for c in range(col_off // self.block_cols, (col_off + cols - 1) // self.block_cols + 1)]

    def _block_window(self, block: int) -> tuple[int, int, int, int]:
        """``(row_off, col_off, rows, cols)`` of a block in the cube."""
        r0 = block // self._n_block_cols * self.block_rows
        c0 = block % self._n_block_cols * self.block_cols
        return r0, c0, min(self.block_rows, self.spec.height - r0), min(self.block_cols, self.spec.width - c0)

    def _buffer(self, row_off: int, col_off: int, stored: np.ndarray) -> list[int]:
        """Copy a window into its blocks; return the blocks it completed."""
        complete = []
        rows, cols = stored.shape[1:]
        for block in self._blocks_under(row_off, col_off, rows, cols):
            if block in self._journal.blocks:
                continue
            r0, c0, height, width = self._block_window(block)
            if block not in self._pending:
                fill = np.full((self.spec.bands, height, width), self.spec.nodata, dtype=stored.dtype)
                self._pending[block] = (fill, np.zeros((height, width), dtype=bool))
            buf, filled = self._pending[block]
            top, bottom = max(row_off, r0), min(row_off + rows, r0 + height)
            left, right = max(col_off, c0), min(col_off + cols, c0 + width)
            buf[:, top - r0:bottom - r0, left - c0:right - c0] = \
                stored[:, top - row_off:bottom - row_off, left - col_off:right - col_off]
            filled[top - r0:bottom - r0, left - c0:right - c0] = True
            if filled.all():
                complete.append(block)
        return complete

    def _flush(self, blocks: list[int]) -> None:
        """Write complete blocks durably, then journal them and the strips they finish."""
        work = [(*self._block_window(b)[:2], self._pending[b][0]) for b in blocks]
        guarded(self.path, "write", lambda: self._write_blocks(work))
        for b in blocks:
            del self._pending[b]
            self._journal.blocks.add(b)
        for index, (r0, rows) in self._written.items():
            if self.written(r0, 0, rows, self.spec.width):
                self._journal.strips[index] = (r0, rows)
        guarded(self.path, "write journal for", self._journal.save)

    def _install(self, finished: Path) -> None:
        """Move ``finished`` onto the target (os.replace; directories via a set-aside old copy)."""
        replace(finished, self.path)
        fsync_dir(self.path.parent)

    def _cleanup(self, keep_partial: bool) -> None:
        self._remove_temporaries()
        if not keep_partial:
            remove_path(self.partial)
            self._journal.remove()
        self._lock.release()
