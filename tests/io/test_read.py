"""Tests for hprn_geo.io.read on the real rasters in ../shared/data/geo."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import rasterio
from rasterio.crs import CRS

from hprn_geo.errors import (
    BandCountError,
    MissingCRSWarning,
    RasterReadError,
    UnsupportedDtypeError,
)
from hprn_geo.io import open_scene


def test_metadata_of_rgb_byte(rgb_byte):
    with open_scene(rgb_byte) as scene, rasterio.open(rgb_byte) as ds:
        assert (scene.height, scene.width, scene.count) == (718, 791, 3)
        assert scene.crs == CRS.from_epsg(32618)
        assert scene.transform == ds.transform
        assert scene.nodata == 0.0
        assert scene.dtype == "uint8"
        assert scene.rgb_bands == (1, 2, 3)
        assert scene.scaling.reason == "uint8: divided by 255"
        assert len(scene.band_descriptions) == 3
    assert scene.closed


def test_read_window_is_rasterio_read_over_255(rgb_byte):
    window = (300, 250, 120, 170)  # row_off, col_off, height, width
    with open_scene(rgb_byte, encoding="linear") as scene:
        rgb, valid = scene.read_window(*window)
    with rasterio.open(rgb_byte) as ds:
        raw = ds.read(window=rasterio.windows.Window(250, 300, 170, 120))
    assert rgb.dtype == np.float32 and rgb.shape == (3, 120, 170)
    assert valid.dtype == bool and valid.shape == (120, 170)
    expected_valid = np.all(raw != 0, axis=0)
    np.testing.assert_array_equal(valid, expected_valid)
    assert 0 < valid.mean() < 1, "the window should hold both valid and nodata pixels"
    np.testing.assert_allclose(rgb[:, valid], raw[:, valid] / 255.0, rtol=1e-6)
    assert np.all(rgb[:, ~valid] == 0)


def test_one_band_zero_makes_the_pixel_invalid(rgb_byte, tmp_path, write_raster):
    with rasterio.open(rgb_byte) as ds:
        data, profile = ds.read(), ds.profile
    data[:, :10, :10] = 50
    data[1, 5, 5] = 0  # only the green band is nodata here
    path = write_raster(tmp_path / "one.tif", data, crs=profile["crs"], transform=profile["transform"], nodata=0)
    with open_scene(path, encoding="linear") as scene:
        _, valid = scene.read_window(0, 0, 10, 10)
    assert not valid[5, 5] and valid.sum() == 99


def test_rgb_bands_pick_from_four_band_file(rgb_byte, tmp_path, write_raster):
    with rasterio.open(rgb_byte) as ds:
        rgb, profile = ds.read(), ds.profile
    extra = (rgb[0] // 2).astype(np.uint8)
    four = np.stack([rgb[2], rgb[0], extra, rgb[1]])  # B, R, extra, G
    path = write_raster(tmp_path / "four.tif", four, crs=profile["crs"], transform=profile["transform"], nodata=0,
                        photometric="minisblack")
    with pytest.raises(BandCountError, match=r"has 4 bands; pass --rgb-bands R,G,B \(1-based\)"):
        open_scene(path)
    with open_scene(path, rgb_bands=(2, 4, 1), encoding="linear") as scene:
        assert scene.count == 4 and scene.rgb_bands == (2, 4, 1)
        got, valid = scene.read_window(0, 0, 718, 791)
    np.testing.assert_allclose(got[:, valid], rgb[:, valid] / 255.0, rtol=1e-6)
    roles = [b["role"] for b in scene.describe()["bands"]]
    assert roles == ["B", "R", None, "G"]


@pytest.mark.parametrize("bands", [(1, 2), (1, 2, 3, 4), (0, 1, 2), (1, 2, 5), ("1", 2, 3)])
def test_bad_rgb_bands(rgb_byte, bands):
    with pytest.raises(BandCountError):
        open_scene(rgb_byte, rgb_bands=bands)


def test_single_band_file_needs_rgb_bands(tmp_path, write_raster):
    path = write_raster(tmp_path / "gray.tif", np.ones((1, 20, 20), np.uint8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingCRSWarning)
        with pytest.raises(BandCountError, match="has 1 band;"):
            open_scene(path)
        with open_scene(path, rgb_bands=(1, 1, 1), encoding="linear") as scene:
            rgb, _ = scene.read_window(0, 0, 20, 20)
    np.testing.assert_allclose(rgb, 1 / 255)


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.tif"
    with pytest.raises(RasterReadError) as info:
        open_scene(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    assert isinstance(info.value, OSError)


def test_corrupt_file(tmp_path):
    path = tmp_path / "corrupt.tif"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(RasterReadError) as info:
        open_scene(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert "not recognized" in str(info.value) or "TIFF" in str(info.value)


def test_truncated_geotiff(rgb_byte, tmp_path):
    path = tmp_path / "truncated.tif"
    path.write_bytes(rgb_byte.read_bytes()[:5000])
    with pytest.raises(RasterReadError) as info, open_scene(path) as scene:
        scene.read_window(0, 0, scene.height, scene.width)
    assert str(path) in str(info.value)


def test_text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("these are not pixels\n" * 20)
    with pytest.raises(RasterReadError, match="notes.txt"):
        open_scene(path)


def test_complex_raster_is_unsupported(tmp_path, write_raster):
    path = write_raster(tmp_path / "complex.tif", np.ones((3, 16, 16), np.complex64), crs="EPSG:32618",
                        transform=rasterio.transform.from_origin(0, 0, 1, 1))
    with pytest.raises(UnsupportedDtypeError) as info:
        open_scene(path)
    assert "complex64" in str(info.value) and "complex.tif" in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_crs_warns_and_reads(tmp_path, write_raster):
    path = write_raster(tmp_path / "nocrs.tif", np.full((3, 8, 8), 51, np.uint8))
    with pytest.warns(MissingCRSWarning, match="no CRS"):
        scene = open_scene(path, encoding="linear")
    with scene:
        assert scene.crs is None
        rgb, valid = scene.read_window(0, 0, 8, 8)
        assert scene.describe()["crs"] is None
    np.testing.assert_allclose(rgb, 0.2, rtol=1e-6)
    assert valid.all()


def test_scene_with_crs_does_not_warn(rgb2_byte):
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingCRSWarning)
        with open_scene(rgb2_byte) as scene:
            assert scene.crs is not None and scene.nodata is None


def test_internal_mask_marks_pixels_invalid(tmp_path):
    path = tmp_path / "masked.tif"
    data = np.full((3, 32, 32), 100, np.uint8)
    mask = np.full((32, 32), 255, np.uint8)
    mask[:8] = 0
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        with rasterio.open(path, "w", driver="GTiff", count=3, height=32, width=32, dtype="uint8",
                           crs="EPSG:32618", transform=rasterio.transform.from_origin(500, 32, 1, 1)) as ds:
            ds.write(data)
            ds.write_mask(mask)
    with open_scene(path, encoding="linear") as scene:
        rgb, valid = scene.read_window(0, 0, 32, 32)
    np.testing.assert_array_equal(valid, mask > 0)
    assert np.all(rgb[:, :8] == 0) and np.allclose(rgb[:, 8:], 100 / 255)


@pytest.mark.parametrize("nodata", [None, 0])
def test_alpha_band_marks_pixels_invalid(tmp_path, write_raster, nodata):
    data = np.full((4, 16, 16), 90, np.uint8)
    data[3, :, :4] = 0  # alpha: transparent on the left
    path = write_raster(tmp_path / "rgba.tif", data, crs="EPSG:32618", nodata=nodata,
                        transform=rasterio.transform.from_origin(0, 16, 1, 1))
    with rasterio.open(path) as ds:
        assert ds.colorinterp[3] == rasterio.enums.ColorInterp.alpha
    with open_scene(path, rgb_bands=(1, 2, 3)) as scene:
        _, valid = scene.read_window(0, 0, 16, 16)
        assert scene.valid_fraction() == pytest.approx(0.75)
    assert not valid[:, :4].any() and valid[:, 4:].all()


def test_float_nan_is_invalid_and_values_are_reflectance(tmp_path, write_raster):
    data = np.full((3, 10, 10), 0.25, np.float32)
    data[2, 3, 4] = np.nan
    path = write_raster(tmp_path / "float.tif", data, crs="EPSG:4326",
                        transform=rasterio.transform.from_origin(0, 10, 1, 1))
    with open_scene(path) as scene:
        rgb, valid = scene.read_window(0, 0, 10, 10)
    assert not valid[3, 4] and valid.sum() == 99
    assert rgb[0, 3, 4] == 0 and np.allclose(rgb[:, valid], 0.25)


def test_uint16_scaling_from_metadata(tmp_path):
    transform = rasterio.transform.from_origin(0, 10, 1, 1)
    raw = np.full((3, 10, 10), 2000, np.uint16)
    declared = tmp_path / "declared.tif"
    with rasterio.open(declared, "w", driver="GTiff", count=3, height=10, width=10, dtype="uint16",
                       crs="EPSG:32633", transform=transform) as ds:
        ds.write(raw)
        ds.scales = (1e-4,) * 3
        ds.offsets = (-0.1,) * 3
    nbits = tmp_path / "nbits.tif"
    with rasterio.open(nbits, "w", driver="GTiff", count=3, height=10, width=10, dtype="uint16",
                       crs="EPSG:32633", transform=transform, nbits=12) as ds:
        ds.write(raw)
    with open_scene(declared) as scene:
        rgb, _ = scene.read_window(0, 0, 10, 10)
        np.testing.assert_allclose(rgb, 2000 * 1e-4 - 0.1, atol=1e-6)
    with open_scene(nbits) as scene:
        assert scene.scaling.factor == pytest.approx(1 / 4095)
    with open_scene(nbits, scale=1e-3) as scene:
        rgb, _ = scene.read_window(0, 0, 10, 10)
        np.testing.assert_allclose(rgb, 2.0, rtol=1e-6)


def test_int16_divides_by_10000(tmp_path, write_raster):
    path = write_raster(tmp_path / "int16.tif", np.full((3, 4, 4), 2500, np.int16), crs="EPSG:32633",
                        transform=rasterio.transform.from_origin(0, 4, 1, 1))
    with open_scene(path) as scene:
        rgb, _ = scene.read_window(0, 0, 4, 4)
    np.testing.assert_allclose(rgb, 0.25, rtol=1e-6)


def test_window_outside_scene_is_refused(rgb1):
    with open_scene(rgb1) as scene, pytest.raises(ValueError, match="not inside"):
        scene.read_window(390, 0, 20, 20)


def test_valid_fraction_estimates_the_true_fraction(rgb_byte, rgb2_byte):
    with rasterio.open(rgb_byte) as ds:
        true = float(np.all(ds.read() != 0, axis=0).mean())
    with open_scene(rgb_byte) as scene:
        estimate = scene.valid_fraction()
    assert 0.5 < true < 0.9
    assert estimate == pytest.approx(true, abs=0.05)
    with open_scene(rgb2_byte) as scene:  # no nodata declared: every pixel valid
        assert scene.valid_fraction() == 1.0


def test_describe_is_json_ready(rgb2_byte):
    with open_scene(rgb2_byte) as scene:
        info = scene.describe()
    text = json.dumps(info)
    assert info["height"] == 718 and info["width"] == 791 and info["count"] == 3
    assert info["dtype"] == "uint8" and info["nodata"] is None
    assert CRS.from_user_input(info["crs"]) == scene.crs
    assert info["transform"] == list(scene.transform)[:6]
    assert "divided by 255" in info["scaling"]["reason"] and "UTM" in text


def test_auto_encoding_decodes_an_8_bit_photo_and_says_so(rgb_byte, tmp_path, write_raster):
    from hprn_geo.io.photo import srgb_to_linear

    with open_scene(rgb_byte) as scene, rasterio.open(rgb_byte) as ds:
        rgb, valid = scene.read_window(100, 200, 32, 48)
        raw = ds.read(window=rasterio.windows.Window(200, 100, 48, 32))
        assert scene.encoding.name == "srgb" and "sRGB-encoded photo" in scene.describe()["encoding"]
    np.testing.assert_allclose(rgb[:, valid], srgb_to_linear(raw / 255.0)[:, valid], rtol=1e-6)
    floats = write_raster(tmp_path / "float.tif", (raw / 255.0).astype(np.float32))
    with open_scene(floats) as scene:
        assert scene.encoding.name == "linear" and "not a photo" in scene.describe()["encoding"]


def test_white_balance_is_one_set_of_gains_for_the_whole_scene(rgb_byte):
    with open_scene(rgb_byte, white_balance="gray-world") as scene:
        gains = scene.balance.gains
        rgb, valid = scene.read_window(0, 0, scene.height, scene.width)
        top, _ = scene.read_window(0, 0, 100, scene.width)
    np.testing.assert_allclose(rgb[:, valid].mean(axis=1), rgb[:, valid].mean(), rtol=0.02)  # from a sample
    with open_scene(rgb_byte) as plain:
        np.testing.assert_allclose(top, plain.read_window(0, 0, 100, plain.width)[0] * np.array(gains)[:, None, None],
                                   rtol=1e-5)
    with pytest.raises(ValueError, match="white_balance must be one of"):
        open_scene(rgb_byte, white_balance="grey")
