"""Label maps from .mat (both the Pavia ground truth and split files), .npy and GeoTIFF."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import scipy.io
from rasterio.transform import from_origin

from hprn_geo.errors import DataFileError, RasterReadError
from hprn_geo.io.labels import read_label_map

PAVIA_COUNTS = [6631, 18649, 2099, 3064, 1345, 5029, 1330, 3682, 947]


def test_pavia_ground_truth_has_the_official_counts(shared_data: Path) -> None:
    labels = read_label_map(shared_data / "pavia" / "paviaU_gt.mat")
    assert labels.shape == (610, 340) and labels.dtype == np.int64
    assert np.bincount(labels.ravel())[1:].tolist() == PAVIA_COUNTS


def test_missing_key_lists_the_keys(shared_data: Path) -> None:
    with pytest.raises(DataFileError, match="has no array 'paviaU'; it has: paviaU_gt"):
        read_label_map(shared_data / "pavia" / "paviaU_gt.mat", key="paviaU")


def test_npy_with_a_trailing_axis(shared_data: Path) -> None:
    labels = read_label_map(shared_data / "geo" / "s2_lulc.npy")
    raw = np.load(shared_data / "geo" / "s2_lulc.npy")
    assert labels.shape == (101, 100) and np.array_equal(labels, raw[..., 0])


def test_geotiff_round_trip_with_nodata(tmp_path: Path, shared_data: Path) -> None:
    labels = read_label_map(shared_data / "pavia" / "TRpavia_fixed.mat")[:64, :48].astype(np.uint8)
    stored = labels.copy()
    stored[:4] = 255  # the file's nodata: must come back as 0 (unlabelled)
    path = tmp_path / "labels.tif"
    profile = dict(driver="GTiff", width=48, height=64, count=1, dtype="uint8", crs="EPSG:32632",
                   transform=from_origin(500000, 5000000, 1.3, 1.3), nodata=255)  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(stored, 1)
    expected = labels.copy()
    expected[:4] = 0
    assert np.array_equal(read_label_map(path), expected)


def test_mat_with_two_maps_needs_a_key(tmp_path: Path) -> None:
    path = tmp_path / "two.mat"
    scipy.io.savemat(path, {"a": np.ones((4, 5), np.uint8), "b": np.zeros((4, 5), np.uint8)})
    with pytest.raises(DataFileError, match="exactly one 2-D array, found 2"):
        read_label_map(path)
    assert read_label_map(path, "a").sum() == 20


@pytest.mark.parametrize("values", [np.full((3, 3), 1.5), np.full((3, 3), -1.0), np.zeros((2, 3, 4))])
def test_bad_values_or_shapes_are_refused(tmp_path: Path, values: np.ndarray) -> None:
    np.save(tmp_path / "bad.npy", values)
    with pytest.raises(DataFileError):
        read_label_map(tmp_path / "bad.npy")


def test_key_on_a_non_mat_file_and_missing_files(tmp_path: Path) -> None:
    np.save(tmp_path / "ok.npy", np.ones((2, 2)))
    with pytest.raises(DataFileError, match="only used for .mat"):
        read_label_map(tmp_path / "ok.npy", key="x")
    with pytest.raises(RasterReadError):
        read_label_map(tmp_path / "missing.npy")
