"""Satellite inputs made from a real cube for the sensor tests (tests/test_sensors_input.py, tests/test_stac.py):
Sentinel-2 red, green and blue reflectance of Moffett Field, written as products write them, and a tiny
untrained checkpoint whose card takes Sentinel-2 input."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine

CRS = "EPSG:32610"
TRANSFORM = Affine(10.0, 0.0, 580000.0, 0.0, -10.0, 4140000.0)
GRID = np.linspace(400, 1000, 61)


def sentinel2_reflectance(shared_data: Path, camera: str = "sentinel2") -> np.ndarray:
    """(3, 50, 50) float32 B04, B03, B02 surface reflectance of Moffett Field (AVIRIS) through Sentinel-2's mean SRF
    (``camera="sentinel2+nir"``: (4, 50, 50), and B08)."""
    from hprn_geo.scenes import load_scene
    from hprn_geo.sensors import load_responses
    from hprn_geo.spectral import render_rgb

    cube = load_scene("moffett", GRID, shared_data, 10.0, 19.0).cube
    return render_rgb(cube, load_responses(shared_data / "srf")[camera].on_grid(GRID)).astype(np.float32)


def write_raster(path: Path, data: np.ndarray, descriptions: Sequence[str] | None = None,
                 scales: Sequence[float] | None = None, offsets: Sequence[float] | None = None,
                 nodata: float | None = None, cog: bool = False) -> Path:
    """Write (B, H, W) ``data`` in its own dtype as a GeoTIFF (a COG with ``cog``) on the test grid."""
    profile = {"driver": "COG" if cog else "GTiff", "count": data.shape[0], "height": data.shape[1],
               "width": data.shape[2], "dtype": data.dtype.name, "crs": CRS, "transform": TRANSFORM, "nodata": nodata}
    if cog:  # the COG driver writes a copy: build it in memory first
        from rasterio.io import MemoryFile

        with MemoryFile() as memory:
            with memory.open(**{**profile, "driver": "GTiff"}) as dataset:
                _fill(dataset, data, descriptions, scales, offsets)
            with memory.open() as dataset:
                rasterio.shutil.copy(dataset, path, driver="COG")
        return path
    with rasterio.open(path, "w", **profile) as dataset:
        _fill(dataset, data, descriptions, scales, offsets)
    return path


def _fill(dataset: rasterio.io.DatasetWriter, data: np.ndarray, descriptions: Sequence[str] | None,
          scales: Sequence[float] | None, offsets: Sequence[float] | None) -> None:
    dataset.write(data)
    if descriptions is not None:
        dataset.descriptions = tuple(descriptions)
    if scales is not None:
        dataset.scales = tuple(scales)
    if offsets is not None:
        dataset.offsets = tuple(offsets)


def sentinel2_dn(reflectance: np.ndarray) -> np.ndarray:
    """Level-2A digital numbers since processing baseline 04.00: round(reflectance x 10000) + 1000, uint16."""
    return (np.round(reflectance * 10000) + 1000).astype(np.uint16)


def sensor_checkpoint(folder: Path, sensor: str = "sentinel2", name: str = "tiny_s2") -> Path:
    """A small untrained 8-band checkpoint (seeded) whose card takes ``camera:<sensor>`` input (four input
    channels for a ``+nir`` sensor)."""
    import torch

    from hprn_geo.model import build_model
    from hprn_geo.registry import ModelCard, save_checkpoint

    torch.manual_seed(0)
    model = build_model("compact", 8, channels=16, blocks=1, in_channels=4 if sensor.endswith("+nir") else 3)
    card = ModelCard(name=name, wavelengths=tuple(float(w) for w in np.linspace(450, 800, 8)), preset="compact",
                     input=f"camera:{sensor} | test: untrained", patch_size=64, tile=64, overlap=16, trained=False)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.pt"
    save_checkpoint(path, model, card)
    return path


def weights_folder(folder: Path, checkpoints: dict[str, Path]) -> Path:
    """A bundled-models folder (``index.json`` with sha256s) holding ``{name: checkpoint file}``."""
    from hprn_geo.registry import load_checkpoint, sha256

    folder.mkdir(parents=True, exist_ok=True)
    index = {}
    for name, path in checkpoints.items():
        target = folder / f"{name}.pt"
        target.write_bytes(path.read_bytes())
        card = folder / f"{name}.json"
        card.write_text(json.dumps(load_checkpoint(target).card.to_dict(), indent=2))
        index[name] = {"file": target.name, "card": card.name, "sha256": sha256(target),
                       "card_sha256": hashlib.sha256(card.read_bytes()).hexdigest()}
    (folder / "index.json").write_text(json.dumps(index, indent=2))
    return folder
