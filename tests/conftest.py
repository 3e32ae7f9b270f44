"""Shared fixtures: the real data in ../shared/data (beside the repository)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


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


# The xarray/dask front doors are compared with the CLI on one small real crop.
TILE, OVERLAP = 64, 8
CROP = Window(col_off=100, row_off=0, width=200, height=200)  # the scene's corner: about 1/4 nodata


def write_crop(src: Path, dst: Path) -> Path:
    """A 200 x 200 GeoTIFF cut from ``src`` with its CRS, transform and nodata."""
    with rasterio.open(src) as scene:
        profile = {k: v for k, v in scene.profile.items() if k not in ("blockxsize", "blockysize")}
        profile.update(width=CROP.width, height=CROP.height, transform=scene.window_transform(CROP))
        with rasterio.open(dst, "w", **profile) as out:
            out.write(scene.read(window=CROP))
    return dst


def cli_cube(checkpoint: Path, src: Path, dst: Path) -> np.ndarray:
    """What ``hprn-geo predict --tile 64 --overlap 8`` writes for ``src``, read back: (8, H, W)."""
    import warnings

    from hprn_geo.predict import Predictor
    from hprn_geo.registry import load_checkpoint

    warnings.filterwarnings("ignore", message=".*UNTRAINED")
    Predictor(load_checkpoint(checkpoint), tile=TILE, overlap=OVERLAP).predict_file(src, dst)
    with rasterio.open(dst) as cube:
        return cube.read()


@pytest.fixture(scope="session")
def crop(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 200 x 200 corner of the real Landsat scene (about 1/4 nodata) as a GeoTIFF."""
    return write_crop(shared_data / "geo" / "RGB.byte.tif", tmp_path_factory.mktemp("crop") / "crop.tif")


@pytest.fixture(scope="session")
def reference(crop: Path, tiny_checkpoint: Path) -> np.ndarray:
    """The CLI's cube for ``crop`` with ``tiny_checkpoint``, read back."""
    return cli_cube(tiny_checkpoint, crop, crop.with_name("cli.tif"))
