"""Tests of the sample scene (hprn_geo.sample) and the RGB GeoTIFF writer (hprn_geo.io.rgb)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from PIL import Image
from rasterio.enums import ColorInterp

from hprn_geo.errors import BandCountError, UnsupportedDtypeError
from hprn_geo.io.rgb import write_rgb
from hprn_geo.sample import (
    CLASSES,
    WAVELENGTHS,
    camera_response,
    sample_scene,
    write_sample_scene,
)
from hprn_geo.spectral import render_rgb


def test_sample_scene_is_a_valid_rgb_geotiff(tmp_path: Path) -> None:
    path = write_sample_scene(tmp_path / "scene.tif", size=96, seed=3)
    with rasterio.open(path) as dataset:
        assert (dataset.count, dataset.width, dataset.height) == (3, 96, 96)
        assert dataset.dtypes == ("uint8",) * 3
        assert dataset.crs.to_epsg() == 32632
        assert dataset.res == (10.0, 10.0)
        assert dataset.nodata == 0
        assert dataset.colorinterp == (ColorInterp.red, ColorInterp.green, ColorInterp.blue)
        assert dataset.profile["tiled"]
        rgb = dataset.read()
        mask = dataset.dataset_mask()
    with Image.open(path) as image:
        assert image.tag_v2[262] == 2  # TIFF PhotometricInterpretation = RGB
    assert mask[0, 0] == 0 and (rgb[:, 0, 0] == 0).all()  # the nodata corner
    assert 0 < (mask == 0).sum() < 0.05 * mask.size
    assert (rgb[:, mask > 0] > 0).all()  # 0 means nodata only
    np.testing.assert_array_equal(rgb, sample_scene(96, 3).rgb)


def test_sample_scene_is_deterministic_per_seed() -> None:
    first, again, other = sample_scene(64, 5), sample_scene(64, 5), sample_scene(64, 6)
    np.testing.assert_array_equal(first.rgb, again.rgb)
    np.testing.assert_array_equal(first.cube, again.cube)
    assert not np.array_equal(first.rgb, other.rgb)


def test_truth_cube_renders_to_the_rgb() -> None:
    scene = sample_scene(128, 0)
    assert scene.cube.shape == (31, 128, 128) and WAVELENGTHS.size == 31
    assert np.isnan(scene.cube[:, ~scene.valid]).all()
    valid = scene.cube[:, scene.valid]
    assert 0.0 <= valid.min() and valid.max() <= 1.0
    rgb = render_rgb(np.nan_to_num(scene.cube), camera_response())
    difference = np.abs(rgb[:, scene.valid] * 255 - scene.rgb[:, scene.valid].astype(np.float32))
    assert difference.max() <= 0.5 + 1e-3


def test_sample_scene_has_every_class_and_real_vegetation() -> None:
    scene = sample_scene(512, 0)
    counts = np.bincount(scene.labels.ravel(), minlength=len(CLASSES))
    assert (counts > 0).all()
    forest = np.nanmean(scene.cube[:, scene.labels == CLASSES.index("forest")], axis=1)
    assert 540 <= WAVELENGTHS[np.argmax(forest[:20])] <= 560  # chlorophyll's green peak
    assert forest[-1] > 1.15 * forest[WAVELENGTHS.tolist().index(670.0)]  # the start of the red edge
    water = np.nanmean(scene.cube[:, scene.labels == CLASSES.index("water")])
    assert water < 0.08


def test_write_rgb_rejects_bad_arrays(tmp_path: Path) -> None:
    transform = Affine(10, 0, 0, 0, -10, 0)
    with pytest.raises(BandCountError, match=r"\(3, H, W\)"):
        write_rgb(tmp_path / "a.tif", np.zeros((4, 8, 8), np.uint8), "EPSG:32632", transform)
    with pytest.raises(UnsupportedDtypeError, match="float32"):
        write_rgb(tmp_path / "a.tif", np.zeros((3, 8, 8), np.float32), "EPSG:32632", transform)
    assert not list(tmp_path.iterdir())


def test_write_rgb_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "rgb.tif"
    transform = Affine(10, 0, 500000, 0, -10, 5300000)
    write_rgb(path, np.full((3, 20, 30), 7, np.uint8), "EPSG:32632", transform)
    write_rgb(path, np.full((3, 20, 30), 9, np.uint8), "EPSG:32632", transform, nodata=0)
    assert [p.name for p in tmp_path.iterdir()] == ["rgb.tif"]
    with rasterio.open(path) as dataset:
        assert dataset.read(1)[0, 0] == 9 and dataset.nodata == 0 and dataset.transform == transform
