"""Zarr output (hprn_geo.io.zarr_store), re-read with xarray/rioxarray and GDAL."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401
import xarray as xr

from hprn_geo.io import CubeSpec, open_writer

WAVELENGTHS = np.array([450.0, 550.0, 650.0, 701.25])


def _spec(source, **kw) -> CubeSpec:
    with rasterio.open(source) as ds:
        return CubeSpec(ds.height, ds.width, WAVELENGTHS, ds.crs, ds.transform, **kw)


def _gdal_has_zarr() -> bool:
    with rasterio.Env() as env:
        return "Zarr" in env.drivers()


@pytest.mark.parametrize("source", ["rgb_byte", "rgb2_byte"])
def test_float32_round_trip(source, request, tmp_path, make_cube, write_strips):
    src = request.getfixturevalue(source)
    spec = _spec(src, fwhm=np.full(4, 12.5), tags={"model": "hprn-test"})
    cube = make_cube(spec.height, spec.width, seed=1)
    target = tmp_path / "cube.zarr"
    with open_writer(target, spec) as writer:
        write_strips(writer, cube, rows=200)
        assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.zarr"]
    meta = json.loads((target / "reflectance" / ".zarray").read_text())
    assert meta["zarr_format"] == 2 and meta["chunks"] == [4, 512, 512]
    with rasterio.open(src) as ref:
        crs, transform = ref.crs, ref.transform
    with xr.open_dataset(target, engine="zarr", decode_coords="all") as ds:
        assert ds.reflectance.dims == ("wavelength", "y", "x")
        np.testing.assert_array_equal(ds.wavelength.values, WAVELENGTHS)
        assert ds.wavelength.attrs["units"] == "nm"
        np.testing.assert_array_equal(ds.fwhm.values, 12.5)
        assert ds.rio.crs == crs
        assert ds.rio.transform(recalc=False) == transform
        assert ds.rio.transform().almost_equals(transform)
        np.testing.assert_allclose(ds.x.values[:2], transform.c + transform.a * np.array([0.5, 1.5]))
        assert ds.attrs["model"] == "hprn-test"
        assert ds.reflectance.dtype == np.float32
        np.testing.assert_array_equal(ds.reflectance.values, cube)


def test_uint16_uses_cf_scale_factor(rgb_byte, tmp_path, make_cube, write_strips):
    spec = _spec(rgb_byte, dtype="uint16", scale=10000)
    cube = make_cube(spec.height, spec.width, seed=2)
    target = tmp_path / "cube.zarr"
    with open_writer(target, spec) as writer:
        write_strips(writer, cube, rows=718)
    with xr.open_dataset(target, engine="zarr", mask_and_scale=False) as raw:
        assert raw.reflectance.dtype == np.uint16
        assert raw.reflectance.attrs["scale_factor"] == pytest.approx(1e-4)
        assert raw.reflectance.attrs["_FillValue"] == 65535
        np.testing.assert_array_equal(raw.reflectance.values == 65535, np.isnan(cube))
    with xr.open_dataset(target, engine="zarr", decode_coords="all") as ds:
        values = ds.reflectance.values
        assert ds.rio.crs.to_epsg() == 32618
    np.testing.assert_array_equal(np.isnan(values), np.isnan(cube))
    ok = np.isfinite(cube)
    np.testing.assert_allclose(values[ok], np.minimum(cube[ok], 6.5534), atol=0.5e-4 + 1e-6)


def test_no_crs(tmp_path, make_cube, write_strips):
    spec = CubeSpec(30, 20, WAVELENGTHS[:3], None, rasterio.Affine(2.0, 0, 100, 0, -2.0, 60))
    cube = make_cube(30, 20, bands=3)
    with open_writer(tmp_path / "c.zarr", spec) as writer:
        write_strips(writer, cube, rows=11)
    with xr.open_dataset(tmp_path / "c.zarr", engine="zarr", decode_coords="all") as ds:
        assert ds.rio.crs is None
        assert ds.rio.transform(recalc=False) == spec.transform
        np.testing.assert_array_equal(ds.reflectance.values, cube)


def test_gdal_reads_the_store(rgb2_byte, tmp_path, make_cube, write_strips):
    if not _gdal_has_zarr():
        pytest.skip("this rasterio wheel's GDAL has no Zarr driver")
    spec = _spec(rgb2_byte)
    cube = make_cube(spec.height, spec.width, seed=4)
    target = tmp_path / "cube.zarr"
    with open_writer(target, spec) as writer:
        write_strips(writer, cube, rows=512)
    with rasterio.open(f'ZARR:"{target}":/reflectance') as ds:
        assert (ds.count, ds.height, ds.width) == (4, 718, 791)
        assert ds.crs == spec.crs
        assert ds.transform.almost_equals(spec.transform)
        np.testing.assert_array_equal(ds.read(2), cube[1])
