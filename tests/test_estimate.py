"""The peak memory model (hprn_geo.estimate) against the buffers the pipeline really holds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from hprn_geo.estimate import memory_parts, peak_memory_bytes
from hprn_geo.io import CubeSpec, GeoTIFFWriter
from hprn_geo.predict import PredictOptions, Predictor
from hprn_geo.registry import load_checkpoint
from hprn_geo.tiles import MosaicAccumulator

pytestmark = pytest.mark.filterwarnings("ignore::hprn_geo.errors.UntrainedModelWarning")


@pytest.fixture(scope="module")
def predictor(tiny_checkpoint: Path) -> Predictor:
    return Predictor(load_checkpoint(tiny_checkpoint), PredictOptions(tile=128, overlap=16, device="cpu", batch=4))


def test_the_mosaic_part_is_a_block_column_s_accumulator(predictor: Predictor) -> None:
    grid = predictor.grid(5_000, 30_000)
    start, stop = predictor.block_columns(grid)[3]
    mosaic = MosaicAccumulator(grid, predictor.card.bands + 1, np.float32, columns=(start, stop))
    assert memory_parts(predictor, per_pixel=0)["mosaic"] == mosaic.nbytes


def test_the_writer_part_is_what_a_writer_holds_for_one_block_column(predictor: Predictor, tmp_path: Path) -> None:
    height, width, bands = 1_300, 2_300, predictor.card.bands
    spec = CubeSpec(height, width, predictor.checkpoint.wavelengths, "EPSG:32618",
                    rasterio.Affine(30.0, 0, 0, 0, -30.0, 0))
    grid = predictor.grid(height, width)
    held: list[int] = []

    class Recording(GeoTIFFWriter):
        """A GeoTIFF writer that notes the blocks it holds at each write (its peak: complete ones are written)."""

        def _write_blocks(self, blocks: list[tuple[int, int, np.ndarray]]) -> None:
            held.append(sum(buf.nbytes for buf, _ in self._pending.values()))
            super()._write_blocks(blocks)

    with Recording(tmp_path / "cube.tif", spec).start(resume=False) as writer:
        for start, stop in predictor.block_columns(grid):
            for i in range(grid.n_rows):
                top, bottom = grid.strip(i)
                writer.write_window(top, start, np.zeros((bands, bottom - top, stop - start), np.float32))
    with rasterio.open(tmp_path / "cube.tif") as cube:
        assert cube.shape == (height, width) and not cube.read(1).any()
    assert max(held) == memory_parts(predictor, per_pixel=0)["writer"]


def test_the_estimate_adds_the_process_and_the_measured_activations(predictor: Predictor) -> None:
    parts = memory_parts(predictor)
    assert parts["activations"] > memory_parts(predictor, per_pixel=0)["activations"]  # measured, not zero
    assert peak_memory_bytes(predictor, per_pixel=0) > sum(memory_parts(predictor, per_pixel=0).values())
