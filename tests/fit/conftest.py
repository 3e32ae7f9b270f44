"""Real pairs for the fit tests: EnMAP's Potsdam block seen by a real camera at 30 m and by the cube at 60 m."""

from __future__ import annotations

from pathlib import Path

import pytest

from hprn_geo.cameras import Camera, load_cameras
from hprn_geo.fit import simulate
from hprn_geo.fit.simulate import SimulatedPair, simulate_pair
from hprn_geo.io.cube import Cube

SHIFT = (0.6, -0.1)
"""The photo's georeferencing error in the pair, cube pixels (rows, cols)."""


@pytest.fixture(scope="session")
def enmap_block(shared_data: Path) -> Cube:
    """EnMAP L2A reflectance, the 64 x 128 block of eight adjacent 32 x 32 tiles: (91, 64, 128), 30 m, FWHM known."""
    return simulate.enmap_block(shared_data)


@pytest.fixture(scope="session")
def camera(shared_data: Path) -> Camera:
    """A real camera response: the Nikon D700 of the camspec database."""
    return load_cameras(shared_data / "srf")["Nikon D700"]


@pytest.fixture(scope="session")
def enmap_pair(enmap_block: Cube, camera: Camera, tmp_path_factory: pytest.TempPathFactory) -> SimulatedPair:
    """An 8-bit sRGB photo at 30 m in UTM 32N, its georeference off by :data:`SHIFT`, and the cube at 60 m in UTM 33N."""
    origin = enmap_block.extras["transform"] * (0, 0)
    folder = tmp_path_factory.mktemp("enmap_pair")
    return simulate_pair(enmap_block.data, enmap_block.wavelengths, camera, folder, fwhm=enmap_block.fwhm,
                         shift=SHIFT, origin=origin, pixel=60.0)  # fmt: skip
