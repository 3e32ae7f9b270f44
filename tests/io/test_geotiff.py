"""GeoTIFF and COG output (hprn_geo.io.geotiff), re-read with rasterio."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from hprn_geo.io import CubeSpec, open_writer
from hprn_geo.io.geotiff import best_compression

WAVELENGTHS = np.array([450.0, 550.0, 650.0, 701.25])


def _spec(source, **kw) -> CubeSpec:
    with rasterio.open(source) as ds:
        return CubeSpec(ds.height, ds.width, WAVELENGTHS, ds.crs, ds.transform, **kw)


@pytest.mark.parametrize("cog", [False, True], ids=["gtiff", "cog"])
@pytest.mark.parametrize("source", ["rgb_byte", "rgb2_byte"])
def test_float32_round_trip(source, cog, request, tmp_path, make_cube, write_strips):
    src = request.getfixturevalue(source)
    spec = _spec(src, fwhm=np.full(4, 10.0), tags={"model": "hprn-test", "card": "{}"})
    cube = make_cube(spec.height, spec.width)
    target = tmp_path / "cube.tif"
    with open_writer(target, spec, cog=cog) as writer:
        write_strips(writer, cube, rows=300)
        assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.tif"]
    with rasterio.open(src) as ref, rasterio.open(target) as ds:
        assert ds.crs == ref.crs and ds.crs.to_wkt() == ref.crs.to_wkt()
        assert ds.transform == ref.transform
        assert (ds.count, ds.height, ds.width, ds.dtypes[0]) == (4, 718, 791, "float32")
        np.testing.assert_array_equal(ds.read(), cube)  # NaN where the cube is NaN
        assert np.isnan(ds.nodata)
        assert ds.descriptions == ("450 nm", "550 nm", "650 nm", "701.25 nm")
        tags = ds.tags()
        assert tags["wavelength"] == "450.0,550.0,650.0,701.25" and tags["wavelength_units"] == "nm"
        assert tags["fwhm"] == "10.0,10.0,10.0,10.0"
        assert tags["model"] == "hprn-test" and tags["card"] == "{}"
        assert ds.tags(2) == {"wavelength": "550.0", "wavelength_units": "nm", "fwhm": "10.0"}
        profile = ds.profile
        assert profile["tiled"] and profile["blockxsize"] == 512 and profile["blockysize"] == 512
        assert profile["compress"].upper() == best_compression()
        structure = ds.tags(ns="IMAGE_STRUCTURE")
        assert structure["PREDICTOR"] == "3"
        if cog:
            assert structure["LAYOUT"] == "COG"
            assert ds.overviews(1), "a 718x791 COG should carry overviews"
        else:
            assert "LAYOUT" not in structure and structure["INTERLEAVE"] == "BAND"


def test_uint16_cog_with_scale(rgb_byte, tmp_path, make_cube, write_strips):
    spec = _spec(rgb_byte, dtype="uint16", scale=10000)
    assert spec.nodata == 65535
    cube = make_cube(spec.height, spec.width)
    cube[0, 200, 200:204] = [-0.5, 6.6, 6.5535, 0.12344]
    target = tmp_path / "cube.tif"
    with open_writer(target, spec, cog=True) as writer:
        write_strips(writer, cube, rows=250)
    with rasterio.open(target) as ds:
        raw = ds.read()
        assert ds.dtypes[0] == "uint16" and ds.nodata == 65535
        assert ds.scales == (1e-4,) * 4 and ds.offsets == (0.0,) * 4
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert ds.tags(ns="IMAGE_STRUCTURE")["PREDICTOR"] == "2"
    nodata = np.isnan(cube)
    np.testing.assert_array_equal(raw == 65535, nodata)
    np.testing.assert_array_equal(raw[0, 200, 200:204], [0, 65534, 65534, 1234])
    ok = ~nodata & (cube >= 0) & (cube <= 6.5)
    np.testing.assert_allclose(raw[ok] * 1e-4, cube[ok], atol=0.5e-4 + 1e-7)


def test_small_image_blocks_and_no_crs(tmp_path, make_cube, write_strips):
    spec = CubeSpec(40, 70, WAVELENGTHS[:2], None, rasterio.transform.from_origin(0, 40, 1, 1))
    cube = make_cube(40, 70, bands=2)
    target = tmp_path / "small.tif"
    with open_writer(target, spec, cog=True) as writer:
        write_strips(writer, cube, rows=15)
    with rasterio.open(target) as ds:
        assert ds.crs is None
        assert ds.overviews(1) == []
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        np.testing.assert_array_equal(ds.read(), cube)


def test_strips_out_of_order_and_taller_than_a_block(rgb_byte, tmp_path, make_cube, write_strips):
    spec = _spec(rgb_byte)
    cube = make_cube(spec.height, spec.width, seed=3)
    target = tmp_path / "cube.tif"
    with open_writer(target, spec) as writer:
        write_strips(writer, cube, rows=600, order=[1, 0])
    with rasterio.open(target) as ds:
        np.testing.assert_array_equal(ds.read(), cube)


def test_finite_float_nodata(rgb_byte, tmp_path, make_cube, write_strips):
    spec = _spec(rgb_byte, nodata=-9999.0)
    cube = make_cube(spec.height, spec.width)
    target = tmp_path / "cube.tiff"
    with open_writer(target, spec) as writer:
        write_strips(writer, cube, rows=718)
    with rasterio.open(target) as ds:
        assert ds.nodata == -9999.0
        data = ds.read()
    np.testing.assert_array_equal(data == -9999.0, np.isnan(cube))
