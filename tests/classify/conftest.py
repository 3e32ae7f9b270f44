"""The real labelled cube of these tests: Jasper Ridge (AVIRIS, 100 x 100, 198 bands), classes = argmax of its abundances."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hprn_geo.io.cubes import Cube
from hprn_geo.io.shared import load_shared


@pytest.fixture(scope="session")
def jasper(shared_data: Path) -> tuple[Cube, np.ndarray]:
    """The cube and its (100, 100) labels 1 tree, 2 water, 3 soil, 4 road."""
    cube = load_shared("jasper_ridge", shared_data)
    return cube, cube.extras["abundances"].argmax(axis=0) + 1
