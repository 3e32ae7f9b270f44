"""A real dask.distributed LocalCluster: same cube as the CLI, one model load per worker, Zarr regions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rioxarray
import xarray as xr
from click.testing import CliRunner
from distributed import Client, LocalCluster
from reference_crop import OVERLAP, TILE  # tests/ is on sys.path (rootdir conftest)

import hprn_geo  # noqa: F401  (registers .hprn)
from hprn_geo.cli import main
from hprn_geo.distributed import PredictorSpec, model_loads, predict_on_cluster
from hprn_geo.errors import OptionError, OutputLockedError
from hprn_geo.io.lock import OutputLock
from hprn_geo.predict_options import PredictOptions

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::hprn_geo.errors.UntrainedModelWarning")]

REGION_ROWS = 100




@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def cube(client: Client, crop: Path, tiny_checkpoint: Path) -> xr.DataArray:
    """The crop's cube, computed on the cluster and kept there (3 blocks on 2 workers)."""
    rgb = rioxarray.open_rasterio(crop, chunks={"y": 56})
    return rgb.hprn.reconstruct(model=tiny_checkpoint, tile=TILE, overlap=OVERLAP).persist()


@pytest.fixture(scope="module")
def regions(client: Client, cube: xr.DataArray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store whose two 100-row regions were written by the two workers, one each."""
    store = tmp_path_factory.mktemp("regions") / "cube.zarr"
    cube.hprn.to_zarr(store, chunks=(8, REGION_ROWS, 200), compute=False)  # metadata and coordinates only
    workers = list(client.scheduler_info()["workers"])
    writes = []
    for worker, start in zip(workers, range(0, cube.sizes["y"], REGION_ROWS), strict=True):
        rows = slice(start, start + REGION_ROWS)
        region = cube.isel(y=rows).hprn.to_zarr(store, region={"y": rows}, compute=False)
        writes.append(client.compute(region, workers=[worker]))
    client.gather(writes)
    return store


def test_cluster_cube_equals_the_cli_with_one_model_load_per_worker(
    client: Client, cube: xr.DataArray, reference: np.ndarray
) -> None:
    assert len(cube.chunks[1]) > len(client.scheduler_info()["workers"])
    assert np.allclose(cube.values, reference, atol=1e-5, equal_nan=True)
    assert max(client.run(model_loads).values()) == 1


def test_two_workers_write_regions_of_one_zarr(regions: Path, crop: Path, reference: np.ndarray) -> None:
    stored = xr.open_dataset(regions, engine="zarr", decode_coords="all")["reflectance"]
    with rasterio.open(crop) as src:
        assert stored.rio.crs == src.crs and stored.rio.transform() == src.transform
    assert np.allclose(stored.values, reference, atol=1e-5, equal_nan=True)


def test_gdal_reads_the_region_store(regions: Path, crop: Path, reference: np.ndarray) -> None:
    with rasterio.Env() as env:
        if "Zarr" not in env.drivers():
            pytest.skip("this GDAL build has no Zarr driver")
    with rasterio.open(f'ZARR:"{regions}":/reflectance') as cube, rasterio.open(crop) as src:
        assert cube.crs == src.crs and cube.transform.almost_equals(src.transform)
        assert np.allclose(cube.read(), reference, atol=1e-5, equal_nan=True)


@pytest.mark.parametrize("suffix", [".zarr", ".tif"])
def test_predict_on_cluster_equals_the_cli(
    client: Client, crop: Path, reference: np.ndarray, tiny_checkpoint: Path, tmp_path: Path, suffix: str
) -> None:
    dst = tmp_path / f"cube{suffix}"
    address = client.scheduler.address
    report = predict_on_cluster(crop, dst, address, weights=tiny_checkpoint, tile=TILE, overlap=OVERLAP, chunk_rows=112)
    assert report.path == dst and not dst.with_name(dst.name + ".partial").exists()
    name = f'ZARR:"{dst}":/reflectance' if suffix == ".zarr" else dst
    with rasterio.open(name) as cube, rasterio.open(crop) as src:
        assert cube.crs == src.crs and cube.transform.almost_equals(src.transform)
        assert np.allclose(cube.read(), reference, atol=1e-5, equal_nan=True)
    assert max(client.run(model_loads).values()) == 1


def test_cli_runs_on_an_existing_scheduler(
    client: Client, crop: Path, reference: np.ndarray, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    dst = tmp_path / "cli.zarr"
    result = CliRunner().invoke(main, ["predict", str(crop), "-o", str(dst), "--weights", str(tiny_checkpoint),
                                       "--tile", str(TILE), "--overlap", str(OVERLAP), "-q",
                                       "--dask-scheduler", client.scheduler.address])
    assert result.exit_code == 0, result.output
    with rasterio.open(f'ZARR:"{dst}":/reflectance') as cube:
        assert np.allclose(cube.read(), reference, atol=1e-5, equal_nan=True)


def test_predictor_spec_carries_colour_consistency() -> None:
    def spec(model: str, **options: object) -> PredictorSpec:
        return PredictorSpec(model=model, options=PredictOptions(device="cpu", **options))  # type: ignore[arg-type]

    assert spec("rosis103").predictor().colour_consistent  # the card's default
    assert not spec("vnir31").predictor().colour_consistent  # this card's: off
    assert spec("vnir31", colour_consistent=True).predictor().colour_consistent
    assert not spec("rosis103", colour_consistent=False).predictor().colour_consistent


@pytest.mark.parametrize("suffix", [".zarr", ".tif"])
def test_predict_on_cluster_refuses_an_output_another_run_is_writing(
    client: Client, crop: Path, tiny_checkpoint: Path, tmp_path: Path, suffix: str
) -> None:
    dst = tmp_path / f"cube{suffix}"
    with OutputLock(dst), pytest.raises(OutputLockedError, match=f"another run \\(pid {os.getpid()} "):
        predict_on_cluster(crop, dst, client.scheduler.address, weights=tiny_checkpoint, tile=TILE, overlap=OVERLAP)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.filterwarnings("ignore::hprn_geo.errors.UntrainedModelWarning")
def test_predict_on_cluster_refuses_a_block_narrower_than_the_tile(crop: Path, tiny_checkpoint: Path,
                                                                   tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="^--block 32 is narrower than the 64-pixel tile; use --block 64 or more$"):
        predict_on_cluster(crop, tmp_path / "cube.zarr", "tcp://127.0.0.1:9", weights=tiny_checkpoint, tile=TILE,
                           overlap=OVERLAP, block=32)
    assert list(tmp_path.iterdir()) == []


def test_cluster_takes_a_sensor_as_predict_does(client: Client, shared_data: Path, tmp_path: Path) -> None:
    """Sentinel-2 digital numbers in band order B02, B03, B04 with --sensor: the cluster's cube is the local one;
    a model that does not take the sensor is refused before any block runs."""
    from sensor_inputs import sensor_checkpoint, sentinel2_dn, sentinel2_reflectance, write_raster

    from hprn_geo.errors import CheckpointError

    dn = sentinel2_dn(sentinel2_reflectance(shared_data))
    src = write_raster(tmp_path / "s2.tif", dn[::-1].copy(), descriptions=["B02", "B03", "B04"])
    weights = str(sensor_checkpoint(tmp_path / "w"))
    common = ["predict", str(src), "--weights", weights, "--sensor", "sentinel2", "-q", "--device", "cpu"]
    local = CliRunner().invoke(main, [*common, "-o", str(tmp_path / "local.tif")])
    assert local.exit_code == 0, local.output
    report = predict_on_cluster(src, tmp_path / "cluster.tif", client.scheduler.address, weights=weights,
                                sensor="sentinel2", device="cpu", chunk_rows=32)
    assert "input bands: by name: B04, B03, B02 are sentinel2's red, green and blue" in report.notes
    with rasterio.open(tmp_path / "cluster.tif") as a, rasterio.open(tmp_path / "local.tif") as b:
        assert np.allclose(a.read(), b.read(), atol=1e-5, equal_nan=True)
    with pytest.raises(CheckpointError, match="takes camera:sentinel2, not landsat input"):
        predict_on_cluster(src, tmp_path / "no.tif", client.scheduler.address, weights=weights, sensor="landsat",
                           rgb_bands=(3, 2, 1))
    assert not (tmp_path / "no.tif").exists()
