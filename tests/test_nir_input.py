"""A satellite's near-infrared band as a fourth input channel (``--with-nir``): the four bands by name, the
sensor's DN convention on all four, the model that takes them, and the doors that refuse them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
from click.testing import CliRunner, Result
from sensor_inputs import sensor_checkpoint, sentinel2_dn, sentinel2_reflectance, write_raster

from hprn_geo.cli import main
from hprn_geo.errors import OptionError
from hprn_geo.io import open_scene
from hprn_geo.predict import PredictOptions, Predictor
from hprn_geo.registry import load_checkpoint


@pytest.fixture(scope="module")
def reflectance(shared_data: Path) -> np.ndarray:
    """(4, 50, 50) B04, B03, B02, B08 surface reflectance of a real cube."""
    return sentinel2_reflectance(shared_data, "sentinel2+nir")


@pytest.fixture(scope="module")
def nir_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sensor_checkpoint(tmp_path_factory.mktemp("s2nir"), "sentinel2+nir", "tiny_s2_nir")


def _predict(*args: str) -> Result:
    return CliRunner().invoke(main, ["predict", *args, "--device", "cpu", "--batch", "4", "-q"])


def _error_line(result: Result) -> str:
    assert result.exit_code != 0
    return result.output.strip().splitlines()[-1]


def test_the_four_bands_are_read_by_name_and_give_the_cube_of_their_reflectance(
        reflectance: np.ndarray, nir_weights: Path, tmp_path: Path) -> None:
    """uint16 L2A B08, B02, B04, B03 (in that file order) with --sensor sentinel2 --with-nir: R, G, B, NIR by
    name, the DN convention on each; the cube is the model's on the quantised float reflectance."""
    order = [3, 2, 0, 1]  # B08, B02, B04, B03
    dn = sentinel2_dn(reflectance)
    src = write_raster(tmp_path / "s2.tif", dn[order], descriptions=["B08", "B02", "B04", "B03"])
    with open_scene(src, sensor="sentinel2+nir") as scene:
        assert scene.rgb_bands == (3, 4, 2, 1)
        assert scene.bands_reason == "by name: B04, B03, B02, B08 are sentinel2's red, green, blue and NIR"
    result = _predict(str(src), "-o", str(tmp_path / "cube.tif"), "--weights", str(nir_weights),
                      "--sensor", "sentinel2", "--with-nir")
    assert result.exit_code == 0, result.output
    quantised = ((dn.astype(np.float64) - 1000) / 10000).astype(np.float32)
    expected = Predictor(load_checkpoint(nir_weights), PredictOptions(device="cpu")).predict_array(quantised)
    with rasterio.open(tmp_path / "cube.tif") as dataset:
        got = dataset.read()
        assert dataset.tags()["hprn_input_sensor"] == "sentinel2+nir"
    np.testing.assert_allclose(got, expected, atol=1e-4 * np.abs(expected).max())
    four = write_raster(tmp_path / "plain.tif", dn[order])  # no names: the four bands are given
    given = _predict(str(four), "-o", str(tmp_path / "given.tif"), "--weights", str(nir_weights),
                     "--sensor", "sentinel2", "--with-nir", "--rgb-bands", "3,4,2,1")
    assert given.exit_code == 0, given.output
    with rasterio.open(tmp_path / "given.tif") as dataset:
        np.testing.assert_array_equal(dataset.read(), got)


def test_the_sensor_with_nir_picks_the_bundled_nir_model(reflectance: np.ndarray, tmp_path: Path) -> None:
    src = write_raster(tmp_path / "s2.tif", sentinel2_dn(reflectance), descriptions=["B04", "B03", "B02", "B08"])
    result = CliRunner().invoke(main, ["predict", str(src), "-o", str(tmp_path / "cube.tif"), "--sensor", "s2",
                                       "--with-nir", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "input bands: by name: B04, B03, B02, B08 are sentinel2's red, green, blue and NIR" in result.output
    with rasterio.open(tmp_path / "cube.tif") as dataset:
        assert dataset.count == 61 and dataset.tags()["hprn_model"] == "sentinel2_nir"


def test_nir_input_is_refused_where_it_cannot_be_read(reflectance: np.ndarray, nir_weights: Path,
                                                       tmp_path: Path) -> None:
    src = write_raster(tmp_path / "s2.tif", sentinel2_dn(reflectance), descriptions=["B04", "B03", "B02", "B08"])
    out = ["-o", str(tmp_path / "o.tif")]
    assert "--with-nir needs --sensor NAME" in _error_line(_predict(str(src), *out, "--with-nir"))
    line = _error_line(_predict(str(src), *out, "--sensor", "s2", "--with-nir", "--white-balance", "gray-world"))
    assert line.startswith("Error: white balance is for a photo's R, G, B")
    line = _error_line(_predict(str(src), *out, "--model", "sentinel2", "--sensor", "s2", "--with-nir"))
    assert line == "Error: model 'sentinel2' takes camera:sentinel2, not sentinel2+nir input; use --model sentinel2_nir"
    line = _error_line(_predict(str(src), *out, "--weights", str(nir_weights), "--sensor", "s2"))
    assert line.startswith("Error: model 'tiny_s2_nir' takes camera:sentinel2+nir, not sentinel2 input")
    three = write_raster(tmp_path / "three.tif", sentinel2_dn(reflectance)[:3])
    line = _error_line(_predict(str(three), *out, "--weights", str(nir_weights), "--sensor", "s2", "--with-nir"))
    assert "pass --rgb-bands R,G,B,NIR (1-based) with --with-nir" in line
    assert not (tmp_path / "o.tif").exists()
    line = _error_line(_predict(str(src), *out, "--sensor", "s2", "--with-nir", "--dask-scheduler", "tcp://127.0.0.1:1"))
    assert line.startswith("Error: the dask cluster path (--dask-scheduler) reads R, G and B only")
    line = _error_line(_predict(str(src), *out, "--weights", str(nir_weights), "--rgb-bands", "1,2,3"))  # three bands
    assert line == "Error: model 'tiny_s2_nir' takes 4 input bands, not 3; read its NIR band too: --sensor NAME --with-nir"
    line = _error_line(_predict(str(src), *out, "--sensor", "camera:Nikon D700", "--with-nir"))
    assert line.startswith("Error: no bundled model with nikon d700+nir input")
    with pytest.raises(OptionError, match=r"^camera:Nikon D700\+nir: a NIR input \(--with-nir\) needs a satellite"):
        open_scene(src, sensor="camera:Nikon D700+nir")
    with pytest.raises(OptionError, match=r"^white balance is for a photo's R, G, B"):
        open_scene(src, sensor="sentinel2+nir", white_balance="gray-world")
    given = _predict(str(src), *out, "--weights", str(nir_weights), "--sensor", "s2+nir", "--rgb-bands", "1,2,3,4")
    assert given.exit_code == 0, given.output  # a +nir sensor named outright takes four --rgb-bands as --with-nir does
    (tmp_path / "o.tif").unlink()
    rgb = xr.DataArray(reflectance, dims=("band", "y", "x"))
    with pytest.raises(OptionError, match="the xarray accessor reads R, G and B only"):
        rgb.hprn.reconstruct(model=str(nir_weights), sensor="sentinel2+nir")


def test_a_nir_recipe_renders_four_channels_and_checks_its_settings(shared_data: Path) -> None:
    """configs/sentinel2_nir.toml: the fourth channel is the cube through B08's measured response; a recipe
    whose network takes another channel count, or that augments with (3-channel) cameras, is refused."""
    from hprn_geo.errors import ConfigError
    from hprn_geo.scenes import load_scene
    from hprn_geo.sensors import SENSORS, band_responses
    from hprn_geo.spectral import render_rgb, response_on_grid
    from hprn_geo.train import load_config
    from hprn_geo.train.data import renderer_for

    config = load_config(Path(__file__).resolve().parents[1] / "configs" / "sentinel2_nir.toml")
    cube = load_scene("moffett", config.wavelengths, shared_data, config.fwhm, config.edge_clamp_nm).cube
    renderer = renderer_for(config)
    four = renderer.fixed(cube)
    wavelengths, b08 = band_responses(shared_data / "srf", SENSORS["sentinel2"], ["B8"])
    expected = render_rgb(cube, np.repeat(response_on_grid(wavelengths, b08, np.asarray(config.wavelengths)), 3, 1))[0]
    assert four.shape == (4, *cube.shape[1:]) and renderer.input_response().shape == (4, config.bands)
    np.testing.assert_allclose(four[3], expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ConfigError, match="gives 4 input channels"):
        config.replace(switches={"ssrm": False})
    with pytest.raises(ConfigError, match="no cameras to augment with"):
        config.replace(augment_cameras=("all",))
