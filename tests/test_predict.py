"""The prediction pipeline on real rasters: geometry, nodata, formats, seams, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
import xarray as xr

from hprn_geo.errors import CancelledError, UntrainedModelWarning
from hprn_geo.io.photo import srgb_to_linear
from hprn_geo.predict import PredictOptions, Predictor
from hprn_geo.predict_options import PredictOptions
from hprn_geo.registry import load_checkpoint
from hprn_geo.sources import ArraySource

pytestmark = pytest.mark.filterwarnings("ignore::hprn_geo.errors.UntrainedModelWarning")


def _predictor(checkpoint: Path, channels_last: bool = True, **options) -> Predictor:
    return Predictor(load_checkpoint(checkpoint), PredictOptions(**options), channels_last=channels_last)


def _valid_mask(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return (src.read_masks([1, 2, 3]) > 0).all(axis=0)


@pytest.mark.parametrize("name", ["RGB.byte.tif", "RGB2.byte.tif", "rgb1.tif"])
def test_geotiff_keeps_geometry_nodata_and_wavelengths(
    shared_data: Path, tiny_checkpoint: Path, tmp_path: Path, name: str
) -> None:
    src = shared_data / "geo" / name
    dst = tmp_path / "cube.tif"
    _predictor(tiny_checkpoint, tile=256, overlap=32).predict_file(src, dst)
    with rasterio.open(src) as a, rasterio.open(dst) as b:
        assert b.crs == a.crs and b.transform == a.transform
        assert (b.height, b.width, b.count) == (a.height, a.width, 8)
        assert b.descriptions[0] == "450 nm" and b.tags()["wavelength_units"] == "nm"
        assert len(b.tags()["wavelength"].split(",")) == 8
        cube = b.read()
    assert np.array_equal(np.isnan(cube).any(axis=0), ~_valid_mask(src))
    assert np.isnan(cube).any(axis=0).sum() == np.isnan(cube).all(axis=0).sum()
    assert np.isfinite(cube[:, _valid_mask(src)]).all()


def test_zarr_reopens_with_crs_and_wavelength(shared_data: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    src = shared_data / "geo" / "rgb1.tif"
    dst = tmp_path / "cube.zarr"
    _predictor(tiny_checkpoint, tile=256, overlap=32).predict_file(src, dst)
    ds = xr.open_dataset(dst, engine="zarr", decode_coords="all")
    cube = ds["reflectance"]
    with rasterio.open(src) as a:
        assert cube.rio.crs == a.crs
        assert cube.rio.transform() == a.transform
    assert cube.dims == ("wavelength", "y", "x")
    assert np.allclose(cube["wavelength"], np.linspace(450, 800, 8))


def test_array_and_file_paths_agree(shared_data: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    src = shared_data / "geo" / "rgb1.tif"
    predictor = _predictor(tiny_checkpoint, tile=128, overlap=16)
    predictor.predict_file(src, tmp_path / "cube.tif")  # uint8: decoded as sRGB
    with rasterio.open(src) as a, rasterio.open(tmp_path / "cube.tif") as b:
        rgb = srgb_to_linear(a.read() / 255)
        valid = (a.read_masks() > 0).all(axis=0)
        assert np.allclose(predictor.predict_array(rgb, valid), b.read(), atol=1e-6, equal_nan=True)


def _seam_ratio(cube: np.ndarray, cuts: list[int]) -> float:
    """Mean absolute row-to-row jump at tile cut rows over the mean jump at all other rows."""
    jumps = np.abs(np.diff(cube, axis=1)).mean(axis=(0, 2))  # jump between row r and r + 1
    at_cuts = np.zeros(jumps.size, bool)
    at_cuts[[c - 1 for c in cuts]] = True
    return float(jumps[at_cuts].mean() / jumps[~at_cuts].mean())


def test_tiles_blend_without_seams(pavia_rgb: np.ndarray, tiny_checkpoint: Path) -> None:
    rgb = pavia_rgb[:, :320, :320]
    whole = _predictor(tiny_checkpoint, tile=320, overlap=0).predict_array(rgb)
    blended = _predictor(tiny_checkpoint, tile=128, overlap=32)
    tiled = blended.predict_array(rgb)
    hard = _predictor(tiny_checkpoint, tile=64, overlap=0).predict_array(rgb)
    hard_cuts = list(range(64, 320, 64))
    cuts = sorted({o for o in blended.grid(320, 320).row_offsets[1:]} | {o + 128 for o in blended.grid(320, 320).row_offsets[:-1]})
    # A hard mosaic (no overlap) shows its cuts; the blended one does not.
    assert _seam_ratio(hard, hard_cuts) > 1.3
    assert _seam_ratio(tiled, cuts) < 1.15
    # And blended tiles stay closer to the scene predicted whole than hard cuts do.
    assert np.abs(tiled - whole).mean() < np.abs(hard - whole).mean()


def test_constant_scene_gives_constant_output_with_any_tiling(tiny_checkpoint: Path) -> None:
    rgb = np.full((3, 150, 170), 0.3, np.float32)
    one = _predictor(tiny_checkpoint, tile=256, overlap=0).predict_array(rgb)
    tiled = _predictor(tiny_checkpoint, tile=64, overlap=16).predict_array(rgb)
    assert np.allclose(tiled, one, atol=1e-5)


def test_untrained_model_warns_loudly(tiny_checkpoint: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _predictor(tiny_checkpoint)
    assert any(issubclass(w.category, UntrainedModelWarning) for w in caught)


def _journaled(journal: Path) -> int:
    """Number of blocks a journal lists as written (0 while it is absent or being replaced)."""
    try:
        return len(json.loads(journal.read_text())["blocks"])
    except (OSError, ValueError, KeyError):
        return 0


def _kill_after_one_block(command: list[str], journal: Path) -> None:
    """Start ``command``, SIGKILL it once its journal lists a block, and wait for it."""
    process = subprocess.Popen(command)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _journaled(journal) < 1:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


@pytest.mark.slow
def test_resume_after_sigkill_gives_identical_values(shared_data: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    # 640 rows: the writer journals rows in blocks of 512, so the kill lands after the first block.
    with rasterio.open(shared_data / "geo" / "RGB.byte.tif") as scene:
        profile = scene.profile | {"height": 640, "width": 256}
        data = scene.read(window=((40, 680), (250, 506)))
    src = tmp_path / "crop.tif"
    with rasterio.open(src, "w", **profile) as crop:
        crop.write(data)
    command = [sys.executable, "-m", "hprn_geo.cli", "predict", str(src), "--weights", str(tiny_checkpoint),
               "--tile", "64", "--overlap", "8", "-q"]
    subprocess.run([*command, "-o", str(tmp_path / "whole.tif")], check=True)
    target = tmp_path / "killed.tif"
    journal = Path(f"{target}.journal.json")
    _kill_after_one_block([*command, "-o", str(target)], journal)
    assert not target.exists() and 1 <= _journaled(journal)
    subprocess.run([*command, "-o", str(target), "--resume"], check=True)
    with rasterio.open(tmp_path / "whole.tif") as a, rasterio.open(target) as b:
        assert np.array_equal(a.read(), b.read(), equal_nan=True)
    assert not journal.exists()


def test_uint16_output_stores_scaled_reflectance(shared_data: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    src = shared_data / "geo" / "rgb1.tif"
    predictor = _predictor(tiny_checkpoint, tile=256, overlap=32)
    predictor.predict_file(src, tmp_path / "f.tif")
    predictor.predict_file(src, tmp_path / "u.tif", dtype="uint16")
    with rasterio.open(tmp_path / "f.tif") as f, rasterio.open(tmp_path / "u.tif") as u:
        reflectance, stored = f.read(), u.read()
        assert u.dtypes[0] == "uint16" and u.scales[0] == pytest.approx(1e-4)
        nodata = u.nodata
    finite = np.isfinite(reflectance)
    assert np.array_equal(stored == nodata, ~finite)
    expected = np.clip(np.round(reflectance[finite] * 10_000), 0, 65534)
    assert np.abs(stored[finite].astype(np.float64) - expected).max() <= 1


def test_channels_last_layout_does_not_change_the_output(pavia_rgb: np.ndarray, tiny_checkpoint: Path) -> None:
    """The default layout, channels-last, gives the same cube as NCHW."""
    rgb = pavia_rgb[:, :150, :130]
    nchw = _predictor(tiny_checkpoint, tile=64, overlap=16, device="cpu", channels_last=False)
    assert not nchw.model.head.conv.weight.is_contiguous(memory_format=torch.channels_last)
    last = Predictor(load_checkpoint(tiny_checkpoint), PredictOptions(tile=64, overlap=16, device="cpu"))
    assert last.model.head.conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert np.allclose(last.predict_array(rgb), nchw.predict_array(rgb), atol=1e-5)


def test_the_prior_s_segments_are_sized_by_the_card_s_patch(tiny_checkpoint: Path) -> None:
    predictor = _predictor(tiny_checkpoint, device="cpu", tile=128)
    patch = predictor.card.patch_size
    assert predictor.model.prior_patch == patch
    assert predictor.model.segment_counts(2 * patch, 2 * patch) == tuple(4 * s for s in predictor.model.config.scales)


def test_auto_batch_is_four_on_the_cpu(tiny_checkpoint: Path) -> None:
    assert _predictor(tiny_checkpoint, device="cpu").batch == 4
    assert _predictor(tiny_checkpoint, device="cpu", batch=7).batch == 7


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (batch='auto' measures its free memory)")
def test_auto_batch_on_cuda_fits_memory_and_changes_nothing(pavia_rgb: np.ndarray, tiny_checkpoint: Path) -> None:
    rgb = pavia_rgb[:, :300, :300]
    auto = _predictor(tiny_checkpoint, tile=128, overlap=16, device="cuda", precision="fp32")
    assert 1 <= auto.batch <= 64 and auto.channels_last and auto.prior == "torch-connected"
    one = _predictor(tiny_checkpoint, tile=128, overlap=16, device="cuda", precision="fp32", batch=1)
    assert np.allclose(auto.predict_array(rgb), one.predict_array(rgb), atol=1e-4)


# ---------------------------------------------------------------- colour consistency


def _render(response: np.ndarray, cube: np.ndarray) -> np.ndarray:
    return np.einsum("cb,bhw->chw", response, cube.astype(np.float64))


def test_colour_consistent_output_renders_back_to_the_input(vnir31_scene) -> None:
    from hprn_geo.registry import load_bundled

    cube, rgb, response = vnir31_scene
    checkpoint = load_bundled("vnir31")
    assert checkpoint.card.input_response is not None  # its card keeps it off by default (docs/accuracy.md)
    # 2 x 2 tiles, blended
    predictor = Predictor(checkpoint, PredictOptions(tile=48, overlap=12, device="cpu", colour_consistent=True))
    consistent = predictor.predict_array(rgb)
    free = Predictor(checkpoint, PredictOptions(tile=48, overlap=12, device="cpu")).predict_array(rgb)
    assert predictor.colour_consistent
    np.testing.assert_allclose(_render(response, consistent), rgb, atol=1e-4, rtol=0)
    assert np.abs(_render(response, free) - rgb).max() > 1e-3  # the model alone does not


def test_rosis103_bands_53_31_7_equal_its_input(pavia_rgb: np.ndarray) -> None:
    from hprn_geo.registry import load_bundled

    rgb = pavia_rgb[:, 200:264, 100:164]
    cube = Predictor(load_bundled("rosis103"), PredictOptions(device="cpu")).predict_array(rgb)
    np.testing.assert_allclose(cube[[52, 30, 6]], rgb, atol=1e-5, rtol=0)


def test_colour_consistency_needs_an_input_response(tiny_checkpoint: Path) -> None:
    from hprn_geo.errors import CheckpointError

    assert not _predictor(tiny_checkpoint).colour_consistent  # the card has none: off by default
    with pytest.raises(CheckpointError, match="no input_response"):
        _predictor(tiny_checkpoint, colour_consistent=True)


class _SlowSource(ArraySource):
    """An in-memory source whose reads take a while and are counted, to see what runs after a cancel."""

    def __init__(self, rgb: np.ndarray) -> None:
        super().__init__(rgb)
        self.lock, self.reads, self.active = threading.Lock(), 0, 0

    def read_window(self, row_off: int, col_off: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        with self.lock:
            self.reads, self.active = self.reads + 1, self.active + 1
        time.sleep(0.05)
        try:
            return super().read_window(row_off, col_off, height, width)
        finally:
            with self.lock:
                self.active -= 1


@pytest.mark.filterwarnings("ignore::hprn_geo.errors.UntrainedModelWarning")
def test_a_cancel_stops_the_reads_before_the_source_is_closed(tiny_checkpoint: Path) -> None:
    """An exception from the per-tile callback (a host's Cancel) leaves no read running or queued behind it:
    the caller may close the raster at once (a read of a closed GDAL dataset crashed the process)."""
    source = _SlowSource(np.random.default_rng(0).random((3, 256, 256), dtype=np.float32))
    options = PredictOptions(tile=32, overlap=8, batch=1, device="cpu")
    predictor = Predictor(load_checkpoint(tiny_checkpoint), options, workers=4)

    def cancel() -> None:
        raise CancelledError("cancelled")

    with pytest.raises(CancelledError) as raised:
        for _ in predictor.iter_strips(source, tick=cancel):
            pass
    reads = source.reads
    time.sleep(0.3)
    assert raised.value is not None and source.active == 0 and source.reads == reads
