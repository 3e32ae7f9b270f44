"""CubeSpec validation and encoding, and the strip -> row-block bookkeeping (hprn_geo.io.cubewriter)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.crs import CRS

from hprn_geo.errors import OutputError
from hprn_geo.io import CubeSpec, open_writer
from hprn_geo.io.cubewriter import format_wavelength

T = rasterio.Affine(10.0, 0, 500000, 0, -10.0, 4000000)


def test_spec_defaults_and_normalisation():
    spec = CubeSpec(5, 6, [400, 500], "EPSG:32633", T)
    assert spec.bands == 2 and spec.dtype == "float32" and np.isnan(spec.nodata)
    assert spec.crs == CRS.from_epsg(32633)
    assert CubeSpec(5, 6, [400], None, T, dtype="uint16").nodata == 65535
    assert CubeSpec(5, 6, [400], "", tuple(T)[:6]).transform == T


@pytest.mark.parametrize("kw", [
    {"wavelengths": []}, {"wavelengths": [[400, 500]]}, {"wavelengths": [400, np.nan]}, {"wavelengths": [-1.0]},
    {"dtype": "int16"}, {"scale": 0.0}, {"height": 0}, {"fwhm": [1.0, 2.0, 3.0]},
    {"tags": {"wavelength": "1"}}, {"dtype": "uint16", "nodata": 70000}, {"transform": (1.0, 2.0)},
    {"crs": "EPSG:nonsense"},
])
def test_spec_rejects_bad_values(kw):
    args = dict(height=5, width=6, wavelengths=[400.0, 500.0], crs=None, transform=T)
    args.update(kw)
    with pytest.raises(ValueError):
        CubeSpec(**args)


def test_uint16_encoding_rounds_clips_and_avoids_nodata():
    spec = CubeSpec(1, 6, [500.0], None, T, dtype="uint16", scale=10000)
    data = np.array([[[0.12344, -0.2, 7.0, 6.55349, np.nan, 1.0]]], np.float32)
    np.testing.assert_array_equal(spec.encode(data), [[[1234, 0, 65534, 65534, 65535, 10000]]])
    zero_nodata = CubeSpec(1, 2, [500.0], None, T, dtype="uint16", scale=100, nodata=0)
    np.testing.assert_array_equal(zero_nodata.encode(np.array([[[0.001, np.nan]]], np.float32)), [[[1, 0]]])


def test_format_wavelength():
    assert format_wavelength(550) == "550 nm"
    assert format_wavelength(401.13) == "401.13 nm"


def test_commit_refuses_missing_rows_and_keeps_partial(tmp_path, make_cube):
    spec = CubeSpec(1100, 40, [500.0, 600.0], None, T)
    cube = make_cube(1100, 40, bands=2)
    target = tmp_path / "cube.tif"
    writer = open_writer(target, spec)
    writer.write_strip(0, 0, cube[:, :600])
    with pytest.raises(OutputError, match="rows from 512 on were never written"):
        writer.commit()
    assert not target.exists() and writer.partial.exists()
    assert writer.done_strips() == set()  # block 1 (rows 512-1023) is incomplete
    writer.write_strip(1, 600, cube[:, 600:])
    assert writer.done_strips() == {0, 1}
    writer.commit()
    with rasterio.open(target) as ds:
        np.testing.assert_array_equal(ds.read(), cube)


def test_strips_are_journaled_once_their_blocks_are_on_disk(tmp_path, make_cube):
    spec = CubeSpec(1100, 40, [500.0], None, T)
    cube = make_cube(1100, 40, bands=1)
    writer = open_writer(tmp_path / "cube.zarr", spec)
    seen = []
    for i, r0 in enumerate(range(0, 1100, 300)):
        writer.write_strip(i, r0, cube[:, r0:r0 + 300])
        seen.append(sorted(writer.done_strips()))
    # blocks: rows 0-511, 512-1023, 1024-1099
    assert seen == [[], [0], [0], [0, 1, 2, 3]]
    writer.commit()


def test_bad_strips_are_refused(tmp_path):
    spec = CubeSpec(20, 10, [500.0, 600.0], None, T)
    with open_writer(tmp_path / "c.tif", spec) as writer:
        with pytest.raises(ValueError, match="strip data must be"):
            writer.write_strip(0, 0, np.zeros((3, 5, 10), np.float32))
        with pytest.raises(ValueError, match="outside"):
            writer.write_strip(0, 18, np.zeros((2, 5, 10), np.float32))
        writer.write_strip(0, 0, np.zeros((2, 20, 10), np.float32))
        with pytest.raises(ValueError, match="journaled as rows"):
            writer.write_strip(0, 5, np.zeros((2, 5, 10), np.float32))
        writer.write_strip(0, 0, np.ones((2, 20, 10), np.float32))  # already on disk: no-op
    with rasterio.open(tmp_path / "c.tif") as ds:
        assert np.all(ds.read() == 0)
    with pytest.raises(ValueError, match="committed"):
        writer.write_strip(1, 0, np.zeros((2, 20, 10), np.float32))
