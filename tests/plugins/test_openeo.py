"""The openEO UDF on real xarray cubes: RGB (bands, y, x) -> (bands=wavelengths, y, x)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import rasterio
import rioxarray
import xarray as xr
from rasterio.windows import Window

from hprn_geo.io.rgb import write_rgb
from hprn_geo.predict import SpectralModel
from hprn_geo.registry import load_checkpoint

pytestmark = pytest.mark.filterwarnings("ignore::hprn_geo.errors.UntrainedModelWarning")

UDF_PATH = Path(__file__).resolve().parents[2] / "plugins" / "openeo" / "hprn_udf.py"
LABELS = ["450 nm", "500 nm", "550 nm", "600 nm", "650 nm", "700 nm", "750 nm", "800 nm"]


@pytest.fixture(scope="module")
def udf(file_module: Callable[[Path], ModuleType]) -> ModuleType:
    return file_module(UDF_PATH)


@pytest.fixture(scope="module")
def cube(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> xr.DataArray:
    """A 128 x 160 crop of the real RGB scene as openEO hands it over: float, dims (bands, y, x), nodata NaN."""
    window = Window(300, 300, 160, 128)
    path = tmp_path_factory.mktemp("openeo") / "crop.tif"
    with rasterio.open(shared_data / "geo" / "RGB.byte.tif") as src:
        write_rgb(path, src.read(window=window), src.crs, src.window_transform(window), nodata=0)
    array = rioxarray.open_rasterio(path, masked=True).rename(band="bands").load()
    return array.assign_coords(bands=["red", "green", "blue"])


@pytest.fixture(scope="module")
def context(tiny_checkpoint: Path) -> dict:
    return {"weights": str(tiny_checkpoint), "scale": 1 / 255}


def test_apply_datacube_reconstructs_wavelength_bands(udf: ModuleType, cube: xr.DataArray, context: dict,
                                                      tiny_checkpoint: Path) -> None:
    out = udf.apply_datacube(cube, context)
    assert out.dims == ("bands", "y", "x") and out.shape == (8, 128, 160)
    assert list(out["bands"].values) == LABELS
    np.testing.assert_array_equal(out["x"], cube["x"])
    np.testing.assert_array_equal(out["y"], cube["y"])
    nodata = cube.isnull().any("bands").values
    assert nodata.any() and not nodata.all()
    assert np.isnan(out.values[:, nodata]).all() and np.isfinite(out.values[:, ~nodata]).all()
    expected = SpectralModel(load_checkpoint(tiny_checkpoint), "cpu").reconstruct(cube.values / np.float32(255))
    np.testing.assert_allclose(out.values, expected, rtol=1e-5, atol=1e-6)


def test_time_dimension_and_rgb_band_labels(udf: ModuleType, cube: xr.DataArray, context: dict) -> None:
    """A (t, bands, y, x) cube with a fourth band: pick R, G, B by label; every date is reconstructed."""
    small = cube.isel(y=slice(0, 64), x=slice(0, 64))
    nir = small.sel(bands=["red"]).assign_coords(bands=["nir"])
    four = xr.concat([nir, small], dim="bands")
    flipped = four.copy(data=four.values[:, ::-1])  # a second date: the same ground, other pixel values
    dates = np.array(["2021-06-01", "2021-07-01"], dtype="datetime64[ns]")
    series = xr.concat([four, flipped], dim="t").assign_coords(t=dates)
    out = udf.apply_datacube(series, {**context, "rgb_bands": ["red", "green", "blue"]})
    assert out.dims == ("t", "bands", "y", "x") and out.shape == (2, 8, 64, 64)
    np.testing.assert_array_equal(out["t"], series["t"])
    assert not np.allclose(out.isel(t=0), out.isel(t=1), equal_nan=True)


def test_four_bands_without_rgb_labels_is_an_error(udf: ModuleType, cube: xr.DataArray, context: dict) -> None:
    four = xr.concat([cube, cube.sel(bands=["red"]).assign_coords(bands=["nir"])], dim="bands")
    with pytest.raises(ValueError, match="4 bands.*rgb_bands"):
        udf.apply_datacube(four, context)


def test_apply_metadata_declares_the_wavelength_bands(udf: ModuleType, context: dict) -> None:
    metadata_module = pytest.importorskip("openeo.metadata", reason="the openeo client is not installed")
    bands = metadata_module.BandDimension("bands", [metadata_module.Band(n) for n in ("red", "green", "blue")])
    metadata = metadata_module.CubeMetadata(dimensions=[bands, metadata_module.SpatialDimension("x", [0, 1]),
                                                         metadata_module.SpatialDimension("y", [0, 1])])
    out = udf.apply_metadata(metadata, context)
    assert out.band_names == LABELS
    assert [band.wavelength_um for band in out.band_dimension.bands] == pytest.approx(np.linspace(0.45, 0.8, 8))
    assert out.dimension_names() == ["bands", "x", "y"]


def test_execute_local_udf(cube: xr.DataArray, context: dict, udf: ModuleType) -> None:
    """The UDF as openEO runs it: source text, found by its signature, with a (t, bands, y, x) cube."""
    openeo = pytest.importorskip("openeo", reason="the openeo client is not installed (pip install openeo)")
    from openeo.udf.run_code import execute_local_udf

    series = cube.expand_dims(t=np.array(["2021-06-01"], dtype="datetime64[ns]"))
    result = execute_local_udf(openeo.UDF(UDF_PATH.read_text(), context=context), series)
    out = result.get_datacube_list()[0].get_array()
    assert out.dims == ("t", "bands", "y", "x") and list(out["bands"].values) == LABELS
    nodata = cube.isnull().any("bands").values
    assert nodata.any() and np.isnan(out.isel(t=0).values[:, nodata]).all()
    np.testing.assert_allclose(out.isel(t=0).values, udf.apply_datacube(cube, context).values, rtol=1e-5, atol=1e-6)


def test_sensor_finds_the_bands_by_label_scales_integers_and_checks_the_model(udf: ModuleType, shared_data: Path,
                                                                               tmp_path: Path) -> None:
    """A Sentinel-2 L2A cube (uint16 digital numbers, bands B02, B03, B04, B08) with context sensor: the same
    spectra as its reflectance given as red, green, blue floats; a model that does not take it is refused."""
    from sensor_inputs import sensor_checkpoint, sentinel2_dn, sentinel2_reflectance

    from hprn_geo.errors import CheckpointError, OptionError

    reflectance = sentinel2_reflectance(shared_data)
    dn = sentinel2_dn(reflectance)
    dims = ("bands", "y", "x")
    s2 = xr.DataArray(np.stack([dn[2], dn[1], dn[0], dn[0]]), dims=dims, coords={"bands": ["B02", "B03", "B04", "B08"]})
    floats = xr.DataArray(((dn.astype(np.float64) - 1000) / 10000).astype(np.float32), dims=dims,
                          coords={"bands": ["red", "green", "blue"]})
    weights = str(sensor_checkpoint(tmp_path))
    out = udf.apply_datacube(s2, {"weights": weights, "sensor": "sentinel2"})
    expected = udf.apply_datacube(floats, {"weights": weights})
    np.testing.assert_allclose(out.values, expected.values, rtol=1e-5, atol=1e-6)
    with pytest.raises(CheckpointError, match="takes camera:sentinel2, not landsat input"):
        udf.apply_datacube(s2, {"weights": weights, "sensor": "landsat", "rgb_bands": ["B04", "B03", "B02"]})
    with pytest.raises(OptionError, match="^the openEO UDF reads R, G and B only"):
        udf.apply_datacube(s2, {"sensor": "sentinel2+nir"})
