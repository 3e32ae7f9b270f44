"""Satellite rasters as input (``--sensor``): bands by name, the sensor's DN convention, linear encoding,
and the model that takes the sensor, on real Sentinel-2-like files made from a real cube."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner, Result
from sensor_inputs import (
    sensor_checkpoint,
    sentinel2_dn,
    sentinel2_reflectance,
    weights_folder,
    write_raster,
)

from hprn_geo import registry
from hprn_geo.cli import main
from hprn_geo.errors import BandCountError, CheckpointError, OptionError, UnsupportedDtypeError
from hprn_geo.io import open_scene
from hprn_geo.registry import resolve
from hprn_geo.sensors import input_name, sensor_of


@pytest.fixture(scope="module")
def reflectance(shared_data: Path) -> np.ndarray:
    return sentinel2_reflectance(shared_data)


@pytest.fixture(scope="module")
def s2_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sensor_checkpoint(tmp_path_factory.mktemp("s2"))


def _predict(*args: str) -> Result:
    return CliRunner().invoke(main, ["predict", *args, "--device", "cpu", "--batch", "4", "-q"])


def _cube(path: Path) -> np.ndarray:
    with rasterio.open(path) as dataset:
        return dataset.read()


def _error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def test_sentinel2_digital_numbers_give_the_cube_of_their_reflectance(reflectance: np.ndarray, s2_weights: Path,
                                                                      tmp_path: Path) -> None:
    """uint16 L2A values without a declared scale (DN = reflectance x 10000 + 1000) read with
    --sensor sentinel2 are the reflectance (within the quantisation); the cube is that of the float32
    reflectance file (of the quantised reflectance: the semantic prior's segments may move with any change)."""
    dn = write_raster(tmp_path / "dn.tif", sentinel2_dn(reflectance))
    quantised = ((sentinel2_dn(reflectance).astype(np.float64) - 1000) / 10000).astype(np.float32)
    floats = write_raster(tmp_path / "refl.tif", quantised)
    with open_scene(dn, sensor="sentinel2") as scene:
        read, _ = scene.read_window(0, 0, scene.height, scene.width)
        assert scene.encoding.name == "linear"
        assert "sentinel2 convention x 0.0001 - 0.1" in scene.scaling.reason
    np.testing.assert_allclose(read, reflectance, atol=5.1e-5)

    assert _predict(str(floats), "-o", str(tmp_path / "a.tif"), "--weights", str(s2_weights)).exit_code == 0
    result = _predict(str(dn), "-o", str(tmp_path / "b.tif"), "--weights", str(s2_weights), "--sensor", "sentinel2")
    assert result.exit_code == 0, result.output
    expected, got = _cube(tmp_path / "a.tif"), _cube(tmp_path / "b.tif")
    np.testing.assert_allclose(got, expected, atol=2e-4 * np.abs(expected).max())
    with rasterio.open(tmp_path / "b.tif") as dataset:
        assert dataset.tags()["hprn_input_sensor"] == "sentinel2"


def test_rio_hprn_takes_the_same_sensor_option(reflectance: np.ndarray, s2_weights: Path, tmp_path: Path) -> None:
    from hprn_geo.rio import hprn

    dn = write_raster(tmp_path / "dn.tif", sentinel2_dn(reflectance)[::-1].copy(), descriptions=["B02", "B03", "B04"])
    assert _predict(str(dn), "-o", str(tmp_path / "predict.tif"), "--weights", str(s2_weights),
                    "--sensor", "sentinel2").exit_code == 0
    result = CliRunner().invoke(hprn, [str(dn), str(tmp_path / "rio.tif"), "--weights", str(s2_weights),
                                       "--sensor", "sentinel2", "--device", "cpu", "--batch", "4"])
    assert result.exit_code == 0, result.output
    assert "input bands: by name: B04, B03, B02" in result.output
    np.testing.assert_array_equal(_cube(tmp_path / "rio.tif"), _cube(tmp_path / "predict.tif"))


def test_without_sensor_the_same_file_is_read_as_before(reflectance: np.ndarray, tmp_path: Path) -> None:
    dn = write_raster(tmp_path / "dn.tif", sentinel2_dn(reflectance))
    with open_scene(dn) as scene:
        assert scene.scaling.factor == pytest.approx(1 / 65535) and scene.scaling.offset == 0
        assert scene.sensor is None


def test_bands_are_picked_by_their_names_and_given_bands_win(reflectance: np.ndarray, tmp_path: Path) -> None:
    """A four-band file in band order (B02, B03, B04, B08): --sensor reads R, G, B = 3, 2, 1 from the names."""
    dn = sentinel2_dn(reflectance)
    path = write_raster(tmp_path / "four.tif", np.stack([dn[2], dn[1], dn[0], dn[0]]),
                        descriptions=["B02", "B03", "B04", "B08"])
    with open_scene(path, sensor="sentinel2a") as scene:
        assert scene.rgb_bands == (3, 2, 1)
        assert scene.bands_reason.startswith("by name: B04, B03, B02")
        read, _ = scene.read_window(0, 0, 50, 50)
    np.testing.assert_allclose(read, reflectance, atol=5.1e-5)
    with open_scene(path, sensor="sentinel2", rgb_bands=(1, 2, 3)) as scene:
        assert scene.rgb_bands == (1, 2, 3) and "given" in scene.bands_reason
    with pytest.raises(BandCountError, match=r"has 4 bands and no band descriptions naming sentinel2's red, green "
                                             r"and blue \(B04, B03, B02\); pass --rgb-bands"):
        open_scene(write_raster(tmp_path / "unnamed.tif", np.stack([dn[0]] * 4)), sensor="sentinel2")


def test_landsat_collection2_scale_and_offset(reflectance: np.ndarray, tmp_path: Path) -> None:
    dn = np.round((reflectance + 0.2) / 2.75e-5).astype(np.uint16)
    path = write_raster(tmp_path / "lc09.tif", np.stack([dn[2], dn[1], dn[0]]), descriptions=["SR_B2", "SR_B3", "SR_B4"])
    with open_scene(path, sensor="landsat8") as scene:
        assert (scene.scaling.factor, scene.scaling.offset) == (2.75e-5, -0.2)
        assert scene.rgb_bands == (3, 2, 1) and scene.sensor == "landsat"
        read, _ = scene.read_window(0, 0, 50, 50)
    np.testing.assert_allclose(read, reflectance, atol=1.4e-5 + 1e-6)
    result = CliRunner().invoke(main, ["info", str(path), "--sensor", "landsat9", "--model", "vnir31"])
    assert result.exit_code == 0, result.output
    assert "sensor: landsat (given)" in result.output
    assert "by name: SR_B4, SR_B3, SR_B2 are landsat's red, green and blue" in result.output
    assert "uint16: landsat convention x 2.75e-05 - 0.2 (Collection 2 Level-2" in result.output
    assert "model: none (model 'vnir31' takes camera:ntire2020_cie1964, not landsat input" in result.output


def test_a_declared_scale_or_a_given_one_wins_over_the_sensor(reflectance: np.ndarray, tmp_path: Path) -> None:
    dn = sentinel2_dn(reflectance)
    declared = write_raster(tmp_path / "declared.tif", dn, scales=[1e-4] * 3, offsets=[-0.1] * 3)
    with open_scene(declared, sensor="sentinel2") as scene:
        assert "declared band scale 0.0001 and offset -0.1" in scene.scaling.reason
    plain = write_raster(tmp_path / "plain.tif", dn)
    with open_scene(plain, sensor="sentinel2", scale=2e-4) as scene:
        assert (scene.scaling.factor, scene.scaling.offset) == (2e-4, 0.0)


def test_eight_bit_and_srgb_are_refused_for_a_sensor(reflectance: np.ndarray, tmp_path: Path) -> None:
    tci = write_raster(tmp_path / "tci.tif", np.clip(np.round(reflectance * 1275), 0, 255).astype(np.uint8))
    with pytest.raises(UnsupportedDtypeError, match="quick-look"):
        open_scene(tci, sensor="sentinel2")
    with pytest.raises(OptionError, match="--encoding srgb does not apply to a sensor"):
        open_scene(write_raster(tmp_path / "f.tif", reflectance), sensor="sentinel2", encoding="srgb")


def test_a_tci_with_its_factor_given_is_read_as_linear_reflectance(reflectance: np.ndarray, tmp_path: Path) -> None:
    """The escape hatch docs/predict.md gives: --sensor sentinel2 --scale 1/1275 reads the 8-bit TCI linearly,
    within its quantisation where it is not saturated (reflectance under 0.2)."""
    tci = write_raster(tmp_path / "tci.tif", np.clip(np.round(reflectance * 1275), 0, 255).astype(np.uint8))
    with open_scene(tci, sensor="sentinel2", scale=1 / 1275) as scene:
        read, _ = scene.read_window(0, 0, 50, 50)
        assert scene.encoding.name == "linear"
    unsaturated = reflectance < 254.5 / 1275
    assert unsaturated.mean() > 0.5
    np.testing.assert_allclose(read[unsaturated], reflectance[unsaturated], atol=0.5 / 1275 + 1e-7)


def test_sensor_names_compare_after_normalisation() -> None:
    assert input_name("landsat-9") == input_name("camera:landsat8") == "landsat"
    assert input_name("camera:Nikon_D40") == "nikon_d40"
    with pytest.raises(OptionError, match="unknown sensor 'nikon_d40'"):
        input_name("nikon_d40")


def test_an_empty_camera_name_is_refused_before_the_raster_is_read(reflectance: np.ndarray, tmp_path: Path) -> None:
    """``camera:`` names nothing: refused as an option (not taken for "no sensor" and the bands then refused)."""
    four = write_raster(tmp_path / "four.tif", np.concatenate([reflectance, reflectance[:1]]))
    for text in ("camera:", "camera: "):
        with pytest.raises(OptionError, match="expected a sensor name or camera:NAME"):
            sensor_of(text)
        with pytest.raises(OptionError, match="expected a sensor name or camera:NAME"):
            open_scene(four, sensor=text)


def test_a_model_that_does_not_take_the_sensor_is_refused_in_one_line(reflectance: np.ndarray, s2_weights: Path,
                                                                      tmp_path: Path) -> None:
    src = write_raster(tmp_path / "dn.tif", sentinel2_dn(reflectance))
    line = _error_line(_predict(str(src), "-o", str(tmp_path / "o.tif"), "--weights", str(s2_weights),
                                "--sensor", "landsat8"))
    assert line == ("Error: model 'tiny_s2' takes camera:sentinel2, not landsat input; use --model landsat")
    assert not (tmp_path / "o.tif").exists()
    line = _error_line(_predict(str(src), "-o", str(tmp_path / "o.tif"), "--model", "vnir31", "--sensor", "s2"))
    assert line.startswith("Error: model 'vnir31' takes camera:ntire2020_cie1964, not sentinel2 input")


def test_the_sensor_picks_the_bundled_model_that_takes_it(reflectance: np.ndarray, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    bundled = sensor_checkpoint(tmp_path / "made", name="sentinel2")
    folder = weights_folder(tmp_path / "weights", {"sentinel2": bundled, "vnir31": registry.WEIGHTS / "vnir31.pt"})
    assert resolve(sensor="sentinel2b", folder=folder).card.name == "sentinel2"
    assert resolve(folder=folder).card.name == "vnir31"
    with pytest.raises(CheckpointError, match=r"^no bundled model with landsat input; available: sentinel2 "
                                              r"\(8 bands, camera:sentinel2\), vnir31"):
        resolve(sensor="landsat", folder=folder)

    monkeypatch.setattr(registry, "WEIGHTS", folder)
    src = write_raster(tmp_path / "dn.tif", sentinel2_dn(reflectance))
    result = _predict(str(src), "-o", str(tmp_path / "o.tif"), "--sensor", "sentinel2")
    assert result.exit_code == 0, result.output
    with rasterio.open(tmp_path / "o.tif") as dataset:
        assert dataset.tags()["hprn_model"] == "sentinel2" and dataset.count == 8
    line = _error_line(_predict(str(src), "-o", str(tmp_path / "p.tif"), "--weights", str(bundled),
                                "--sensor", "landsat"))
    assert line.endswith("not landsat input; no bundled model takes it")
    line = _error_line(_predict(str(src), "-o", str(tmp_path / "p.tif"), "--model", "vnir31", "--sensor", "sentinel2"))
    assert line.endswith("not sentinel2 input; use --model sentinel2")


def test_info_json_says_sensor_bands_and_scaling_with_why(reflectance: np.ndarray, s2_weights: Path,
                                                          tmp_path: Path) -> None:
    src = write_raster(tmp_path / "dn.tif", sentinel2_dn(reflectance), descriptions=["B04", "B03", "B02"])
    result = CliRunner().invoke(main, ["info", str(src), "--sensor", "sentinel2", "--weights", str(s2_weights), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["sensor"] == "sentinel2 (given)"
    assert report["bands chosen"] == "by name: B04, B03, B02 are sentinel2's red, green and blue"
    assert report["scaling"]["offset"] == pytest.approx(-0.1)
    assert report["model"].startswith("tiny_s2")


def test_the_xarray_accessor_takes_a_sensor_as_the_command_line_does(reflectance: np.ndarray, s2_weights: Path,
                                                                     tmp_path: Path) -> None:
    import rioxarray

    dn = sentinel2_dn(reflectance)
    path = write_raster(tmp_path / "four.tif", np.stack([dn[2], dn[1], dn[0], dn[0]]),
                        descriptions=["B02", "B03", "B04", "B08"])
    result = _predict(str(path), "-o", str(tmp_path / "cli.tif"), "--weights", str(s2_weights), "--sensor", "sentinel2")
    assert result.exit_code == 0, result.output
    rgb = rioxarray.open_rasterio(path)
    cube = rgb.hprn.reconstruct(model=s2_weights, sensor="sentinel2", device="cpu", batch=4)
    np.testing.assert_allclose(cube.values, _cube(tmp_path / "cli.tif"), atol=1e-5)
    assert cube.attrs["hprn_input_sensor"] == "sentinel2"
    assert "sentinel2 convention" in cube.attrs["hprn_input_scaling"]

    bands = rgb.assign_coords(band=["B02", "B03", "B04", "B08"]).to_dataset("band")
    for name in bands.data_vars:
        bands[name].rio.write_nodata(None, inplace=True)
    dataset = bands.hprn.reconstruct(model=s2_weights, sensor="sentinel2", device="cpu", batch=4)
    np.testing.assert_allclose(dataset["reflectance"].values, cube.values, atol=1e-5)
    with pytest.raises(CheckpointError, match="takes camera:sentinel2, not landsat input"):
        rgb.hprn.reconstruct(model=s2_weights, sensor="landsat9", rgb_bands=(3, 2, 1), device="cpu")
