"""Cubes stored as one single-band image per band (the CAVE layout; scikit-image, imported when read)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from hprn_geo.errors import DataFileError, RasterReadError
from hprn_geo.io.cube import Cube

__all__ = ["read_band_stack"]

_TRAILING_NUMBER = re.compile(r"(\d+)$")


def read_band_stack(folder_or_glob: str | Path, wavelengths: np.ndarray | None = None) -> Cube:
    """Read a cube stored as one single-band image per band (the CAVE layout).

    Files are ordered by the number at the end of their stem
    (``balloons_ms_2.png`` before ``balloons_ms_10.png``). Unsigned integer
    images are divided by their type's maximum (16-bit / 65535, 8-bit / 255).

    Args:
        folder_or_glob: a folder (all ``*.png`` in it) or a glob pattern
            such as ``"cave/balloons/*_ms_*.png"``.
        wavelengths: ``(B,)`` nm, optional.

    Raises:
        RasterReadError: no images match.
        DataFileError: a stem has no trailing number, images differ in
            shape, an image has several channels, or wavelengths do not match.
    """
    from skimage.io import imread

    files = _stack_files(Path(folder_or_glob))
    images = [imread(file) for file in files]
    shapes = {image.shape for image in images}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise DataFileError(f"band images must share one 2-D shape; found {sorted(shapes)}")
    stack = np.stack(images)
    data = stack.astype(np.float32)
    if stack.dtype.kind == "u":
        data /= np.float32(np.iinfo(stack.dtype).max)
    values = None if wavelengths is None else np.asarray(wavelengths, dtype=np.float64)
    name = files[0].parent.name if Path(folder_or_glob).is_dir() else files[0].stem
    return Cube(data=data, wavelengths=values, name=name, extras={"files": [f.name for f in files]})


def _stack_files(folder_or_glob: Path) -> list[Path]:
    pattern = folder_or_glob / "*.png" if folder_or_glob.is_dir() else folder_or_glob
    files = list(pattern.parent.glob(pattern.name))
    if not files:
        raise RasterReadError(f"no band images found at {folder_or_glob}")
    numbers = {file: _TRAILING_NUMBER.search(file.stem) for file in files}
    unnumbered = [file.name for file, match in numbers.items() if match is None]
    if unnumbered:
        raise DataFileError(f"band image names must end in a band number: {', '.join(sorted(unnumbered))}")
    return sorted(files, key=lambda file: int(numbers[file].group(1)))
