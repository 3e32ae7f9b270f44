"""Shared fixtures: the real data in ../shared/data (beside the repository)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def file_module() -> Callable[[Path], ModuleType]:
    """Import a Python file that is not in a package (a plugin file, a docs script) as a module."""

    def load(path: Path) -> ModuleType:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real data folder; tests using it skip (locally) when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (CI fails instead of skipping)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def pavia_rgb(shared_data: Path) -> np.ndarray:
    """The real Pavia University 8-bit render as (3, 610, 340) float32 in [0, 1]."""
    from skimage.io import imread

    image = imread(shared_data / "pavia" / "paviaU_render_b46_b28_b12.png")[..., :3]
    return np.ascontiguousarray(np.moveaxis(image, -1, 0), dtype=np.float32) / 255.0


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small untrained 8-band checkpoint file (seeded), fast enough for pipeline tests."""
    import torch

    from hprn_geo.model import build_model
    from hprn_geo.registry import ModelCard, save_checkpoint

    torch.manual_seed(0)
    model = build_model("compact", 8, channels=16, blocks=1)
    card = ModelCard(
        name="tiny8",
        wavelengths=tuple(float(w) for w in np.linspace(450, 800, 8)),
        preset="compact",
        input="test: untrained",
        patch_size=64,
        tile=128,
        overlap=16,
        trained=False,
    )
    path = tmp_path_factory.mktemp("weights") / "tiny8.pt"
    save_checkpoint(path, model, card)
    return path


@pytest.fixture(scope="session")
def crop(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 200 x 200 corner of the real Landsat scene (about 1/4 nodata) as a GeoTIFF."""
    from reference_crop import write_crop

    return write_crop(shared_data / "geo" / "RGB.byte.tif", tmp_path_factory.mktemp("crop") / "crop.tif")


@pytest.fixture(scope="session")
def reference(crop: Path, tiny_checkpoint: Path) -> np.ndarray:
    """The CLI's cube for ``crop`` with ``tiny_checkpoint``, read back."""
    from reference_crop import cli_cube

    return cli_cube(tiny_checkpoint, crop, crop.with_name("cli.tif"))


@pytest.fixture(scope="session")
def vnir31_scene(shared_data: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A real scene as ``vnir31`` sees it: (cube (31, 72, 88) reflectance, rgb (3, 72, 88), response (3, 31)).

    A crop of Samson on vnir31's grid, rendered through the card's input response (its camera).
    """
    from hprn_geo.registry import available_models
    from hprn_geo.scenes import load_scene

    card = available_models()["vnir31"]
    cube = load_scene("samson", card.wavelengths, shared_data, edge_clamp_nm=19.0).cube[:, 10:82, 4:92]
    response = card.response
    rgb = np.einsum("cb,bhw->chw", response, cube).astype(np.float32)
    return cube, rgb, response


def _stac_item(href: str, item_id: str = "crop") -> dict:
    return {
        "type": "Feature", "stac_version": "1.0.0", "id": item_id, "stac_extensions": [],
        "geometry": {"type": "Point", "coordinates": [-77.5, 24.5]}, "bbox": [-77.5, 24.5, -77.5, 24.5],
        "properties": {"datetime": "2021-06-01T15:30:00Z"}, "links": [],
        "assets": {"visual": {"href": href, "type": "image/tiff; application=geotiff"}},
    }  # fmt: skip


@pytest.fixture(scope="session")
def stac_item():
    """``stac_item(href, item_id="crop") -> dict``: a minimal STAC Item whose RGB asset ``visual`` is at ``href``."""
    return _stac_item


@pytest.fixture(scope="session")
def jasper(shared_data: Path) -> tuple:
    """Jasper Ridge (AVIRIS, 100 x 100, 198 bands) as (Cube, (100, 100) labels 1 tree, 2 water, 3 soil, 4 road),
    the classes being the argmax of its abundances."""
    from hprn_geo.io.shared import load_shared

    cube = load_shared("jasper_ridge", shared_data)
    return cube, cube.extras["abundances"].argmax(axis=0) + 1
