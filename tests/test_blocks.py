"""Block-column streaming (hprn_geo.predict): blocked equals unblocked, no seams at block edges, kill + resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
from cube_files import read_values

from hprn_geo import predict
from hprn_geo.predict import PredictOptions, Predictor
from hprn_geo.registry import load_checkpoint

pytestmark = pytest.mark.filterwarnings("ignore::hprn_geo.errors.UntrainedModelWarning")

TILE, OVERLAP = 64, 8
CHILD = """
import sys, warnings
warnings.simplefilter("ignore")
from hprn_geo import predict
from hprn_geo.predict import PredictOptions, Predictor
from hprn_geo.registry import load_checkpoint
weights, src, dst, block, resume = sys.argv[1:6]
predictor = Predictor(load_checkpoint(weights), PredictOptions(tile=64, overlap=8, device="cpu", block=int(block)))
predictor.predict_file(src, dst, resume=resume == "resume")
"""


def test_block_columns_equal_one_block_column_without_seams(shared_data: Path, tiny_checkpoint: Path,
                                                             tmp_path: Path) -> None:
    src = shared_data / "geo" / "RGB.byte.tif"  # 718 x 791: block columns 0..511 and 512..790
    checkpoint = load_checkpoint(tiny_checkpoint)
    whole = Predictor(checkpoint, PredictOptions(tile=TILE, overlap=OVERLAP, device="cpu", block=1024))
    blocked = Predictor(checkpoint, PredictOptions(tile=TILE, overlap=OVERLAP, device="cpu", block=512))
    assert blocked.block_columns(blocked.grid(718, 791)) == [(0, 512), (512, 791)]
    one = whole.predict_file(src, tmp_path / "whole.tif")
    two = blocked.predict_file(src, tmp_path / "blocked.tif")
    assert two.tiles_run > one.tiles_run  # the tile columns across column 512 run twice
    with rasterio.open(src) as scene, rasterio.open(tmp_path / "blocked.tif") as cube:
        assert (cube.crs, cube.transform, cube.shape) == (scene.crs, scene.transform, scene.shape)
    a, b = read_values(tmp_path / "whole.tif"), read_values(tmp_path / "blocked.tif")
    assert np.array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-6, equal_nan=True)
    # No seam: the step from column 511 to 512 is the one the unblocked run has there.
    rows = ~np.isnan(a[:, :, 510:514]).any(axis=(0, 2))
    step_blocked = np.abs(b[:, rows, 512] - b[:, rows, 511]).mean()
    step_whole = np.abs(a[:, rows, 512] - a[:, rows, 511]).mean()
    assert abs(step_blocked - step_whole) <= 1e-6 * max(step_whole, 1.0)


def test_float32_sums_stay_within_1e6_of_float64(pavia_rgb: np.ndarray, tiny_checkpoint: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    rgb = pavia_rgb[:, :200, :300]
    predictor = Predictor(load_checkpoint(tiny_checkpoint), PredictOptions(tile=TILE, overlap=OVERLAP, device="cpu"))
    single = predictor.predict_array(rgb)
    monkeypatch.setattr(predict, "MOSAIC_DTYPE", np.float64)
    double = predictor.predict_array(rgb)
    assert not np.array_equal(single, double)  # the sums did change precision
    np.testing.assert_allclose(single, double, rtol=0, atol=1e-6)


def _run(args: list[str]) -> list[str]:
    return [sys.executable, "-c", CHILD, *args]


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".tif", ".zarr"])
def test_kill_and_resume_across_block_columns_gives_identical_values(
    shared_data: Path, tiny_checkpoint: Path, tmp_path: Path, suffix: str
) -> None:
    with rasterio.open(shared_data / "geo" / "RGB.byte.tif") as scene:  # 640 x 791: two block columns of 512
        profile = scene.profile | {"height": 640}
        data = scene.read(window=((40, 680), (0, 791)))
    src = tmp_path / "crop.tif"
    with rasterio.open(src, "w", **profile) as crop:
        crop.write(data)
    weights = str(tiny_checkpoint)
    whole, target = tmp_path / f"whole{suffix}", tmp_path / f"killed{suffix}"
    subprocess.run(_run([weights, str(src), str(whole), "512", "fresh"]), check=True)
    journal = Path(f"{target}.journal.json")
    process = subprocess.Popen(_run([weights, str(src), str(target), "512", "fresh"]))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not _blocks(journal):
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done = _blocks(journal)
    assert not target.exists() and 1 <= len(done) < 4  # killed part-way: 2 x 2 blocks of 512
    subprocess.run(_run([weights, str(src), str(target), "512", "resume"]), check=True)
    assert np.array_equal(read_values(whole), read_values(target), equal_nan=True)
    assert not journal.exists()


def _blocks(journal: Path) -> list[int]:
    """Blocks the journal lists as on disk ([] while it is absent or being replaced)."""
    try:
        return json.loads(journal.read_text())["blocks"]
    except (OSError, ValueError, KeyError):
        return []
