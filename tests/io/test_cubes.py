"""Tests of the cube readers (hprn_geo.io.cubes and a module per format): every shared cube, and files
written here in every format."""

from __future__ import annotations

import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
import rasterio
import scipy.io
from affine import Affine
from rasterio.errors import NotGeoreferencedWarning

from hprn_geo.errors import DataFileError, RasterReadError
from hprn_geo.io.band_stack import read_band_stack
from hprn_geo.io.cube import Cube
from hprn_geo.io.cubes import read_cube
from hprn_geo.io.envi import read_envi
from hprn_geo.io.mat import read_mat
from hprn_geo.io.raster_cube import read_raster
from hprn_geo.io.shared import SHARED_CUBES, load_shared
from hprn_geo.io.xarray_cube import read_xarray

# name -> (bands, rows, cols) as found in the files.
SHAPES = {
    "samson": (156, 95, 95),
    "jasper_ridge": (198, 100, 100),
    "moffett": (189, 50, 50),
    "muufl_sub": (72, 51, 88),
    "muufl_class_sub": (72, 31, 20),
    "aviris_ng_la_county_2016": (425, 25, 30),
    "aviris_ng_yuma_2017": (425, 10, 10),
    "sandiego_plane": (189, 100, 100),
    "cave_balloons": (20, 512, 640),
}
ENMAP_TILES = [name for name in SHARED_CUBES if name.startswith("enmap_potsdam_tile_")]


def north_up(west: float, north: float, size_x: float, size_y: float) -> Affine:
    return Affine(size_x, 0.0, west, 0.0, -size_y, north)


@pytest.fixture(scope="module")
def muufl(shared_data: Path) -> Cube:
    """A real CASI cube (72, 51, 88) with small negative values, for writing test files."""
    return load_shared("muufl_sub", shared_data)


# ------------------------------------------------------------ shared cubes


def test_registry_lists_every_shared_cube() -> None:
    assert set(SHAPES) | set(ENMAP_TILES) == set(SHARED_CUBES)
    assert len(ENMAP_TILES) == 18


@pytest.mark.parametrize("name", sorted(SHARED_CUBES))
def test_every_shared_cube_loads_with_its_shape_and_a_plausible_range(shared_data: Path, name: str) -> None:
    cube = load_shared(name, shared_data)
    assert cube.data.dtype == np.float32
    assert cube.data.shape == SHAPES.get(name, (91, 32, 32))
    assert cube.wavelengths is not None and cube.wavelengths.shape == (cube.data.shape[0],)
    assert 360.0 < cube.wavelengths.min() and cube.wavelengths.max() < 2510.0
    assert np.isfinite(cube.data).all()
    low, high = float(cube.data.min()), float(cube.data.max())
    if cube.kind == "radiance":
        assert -0.1 < low and 5.0 < high < 20.0  # uW cm-2 sr-1 nm-1
    else:
        assert -0.25 < low and 0.3 < high <= 1.0
    assert cube.name == name


def test_samson_follows_the_readme_reshape(shared_data: Path) -> None:
    values = scipy.io.loadmat(shared_data / "cubes" / "samson.mat")["V"]
    expected = np.moveaxis(values.T.reshape(95, 95, 156, order="F"), -1, 0)
    cube = load_shared("samson", shared_data)
    np.testing.assert_array_equal(cube.data, expected.astype(np.float32))
    np.testing.assert_allclose(cube.wavelengths[[0, 1, -1]], [401.0, 401.0 + 488.0 / 155, 889.0])


def test_jasper_ridge_scale_wavelengths_and_abundances(shared_data: Path) -> None:
    raw = scipy.io.loadmat(shared_data / "cubes" / "jasper_ridge.mat")
    cube = load_shared("jasper_ridge", shared_data)
    pixel = 37 + 100 * 61  # row 37, column 61 in MATLAB's column-major order
    np.testing.assert_allclose(cube.data[:, 37, 61], raw["Y"][:, pixel] / 10000.0, rtol=1e-6)
    assert cube.wavelengths[0] == pytest.approx(380.0 + 3 * 2120.0 / 223)  # SlectBands starts at 4
    abundances = cube.extras["abundances"]
    assert abundances.shape == (4, 100, 100)
    np.testing.assert_allclose(abundances.sum(axis=0), 1.0, atol=1e-6)
    np.testing.assert_array_equal(abundances[:, 37, 61], raw["A"][:, pixel])


def test_moffett_wavelengths_put_the_vegetation_red_edge_near_720_nm(shared_data: Path) -> None:
    cube = load_shared("moffett", shared_data)
    vegetation = scipy.io.loadmat(shared_data / "cubes" / "moffett.mat")["M0"][:, 2]
    visible_nir = cube.wavelengths < 900
    steepest = np.argmax(np.diff(vegetation[visible_nir]))
    assert 700.0 < cube.wavelengths[steepest + 1] < 735.0
    assert cube.extras["abundances"].shape == (3, 50, 50)


def test_sandiego_wavelengths_and_anomaly_mask(shared_data: Path) -> None:
    cube = load_shared("sandiego_plane", shared_data)
    assert cube.wavelengths[0] == pytest.approx(441.46, abs=0.01)
    assert cube.wavelengths[-1] == pytest.approx(2468.61, abs=0.01)
    assert cube.data.min() == pytest.approx(39 / 10000.0)
    mask = cube.extras["anomaly_mask"]
    assert mask.shape == (100, 100) and 0 < mask.sum() < 500


def test_muufl_keeps_the_exact_wavelengths_and_mask(shared_data: Path, muufl: Cube) -> None:
    raw = scipy.io.loadmat(shared_data / "cubes" / "muufl_sub.mat")
    np.testing.assert_array_equal(muufl.wavelengths, raw["wavelengths"].ravel())
    np.testing.assert_array_equal(muufl.extras["mask"], raw["mask_sub"])
    assert muufl.data.min() < -0.1  # the README's "small negative values"


def test_aviris_ng_cubes_are_radiance_with_geometry(shared_data: Path) -> None:
    la_county = load_shared("aviris_ng_la_county_2016", shared_data)
    assert la_county.kind == "radiance" and "uW" in la_county.extras["units"]
    assert la_county.extras["crs"].to_epsg() == 32611
    assert la_county.extras["transform"] == north_up(353128.751647949, 3813729.76806641, 15.0, 15.0)
    yuma = load_shared("aviris_ng_yuma_2017", shared_data)
    assert yuma.fwhm is not None and 5.5 < yuma.fwhm.min() < yuma.fwhm.max() < 6.1
    assert yuma.extras["lat"].shape == (10, 10)


def test_enmap_tiles_carry_their_names_and_geolocation(shared_data: Path) -> None:
    raw = scipy.io.loadmat(shared_data / "cubes" / "enmap_potsdam_vnir_tiles.mat")
    for index, name in enumerate(ENMAP_TILES):
        cube = load_shared(name, shared_data)
        assert str(raw["tile_names"][index]).strip() == name == cube.extras["tile_name"]
        np.testing.assert_allclose(cube.data, np.moveaxis(raw["tiles"][index], -1, 0) * 1e-4, rtol=1e-6)
        x, y = raw["tile_ul_utm33n"][index]
        assert cube.extras["transform"] == north_up(x, y, 30.0, 30.0)
        assert cube.extras["crs"].to_epsg() == 32633
    assert cube.fwhm is not None and cube.fwhm.shape == (91,)
    assert cube.wavelengths[0] == pytest.approx(418.24)


def test_unknown_shared_cube_lists_the_known_ones(shared_data: Path) -> None:
    with pytest.raises(DataFileError, match="samson"):
        load_shared("pavia", shared_data)


# ------------------------------------------------------------------ MATLAB


def test_read_mat_v5_round_trip(tmp_path: Path, muufl: Cube) -> None:
    path = tmp_path / "cube.mat"
    mask = (muufl.data[0] > 0.05).astype(np.uint8)
    variables = {"img": np.moveaxis(muufl.data, 0, -1), "wavelengths": muufl.wavelengths[None], "mask": mask}
    scipy.io.savemat(path, variables)
    cube = read_mat(path)
    np.testing.assert_array_equal(cube.data, muufl.data)
    np.testing.assert_array_equal(cube.wavelengths, muufl.wavelengths)
    np.testing.assert_array_equal(cube.extras["mask"], mask)


def write_matlab_v73(path: Path, variables: dict[str, np.ndarray]) -> None:
    """Write arrays as MATLAB 7.3 does: HDF5 after a 512-byte header, axes reversed, MATLAB_class set."""
    classes = {"float64": "double", "float32": "single", "uint8": "uint8", "uint16": "char"}
    with h5py.File(path, "w", userblock_size=512) as handle:
        for name, value in variables.items():
            dataset = handle.create_dataset(name, data=np.ascontiguousarray(value.T))
            dataset.attrs["MATLAB_class"] = np.bytes_(classes[value.dtype.name])
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    with open(path, "r+b") as handle:
        handle.write(header.ljust(116) + b"\x00" * 8 + b"\x00\x02IM")


def test_read_mat_v73_undoes_the_hdf5_axis_reversal(tmp_path: Path, muufl: Cube) -> None:
    path = tmp_path / "cube73.mat"
    matlab_cube = np.moveaxis(muufl.data, 0, -1).astype(np.float64)  # (51, 88, 72) as MATLAB sees it
    write_matlab_v73(
        path,
        {
            "hsi": matlab_cube,
            "wavelengths": muufl.wavelengths[:, None],
            "description": np.frombuffer("CASI".encode("utf-16-le"), dtype=np.uint16)[:, None],
        },
    )
    with h5py.File(path, "r") as handle:
        assert handle["hsi"].shape == (72, 88, 51)
    with pytest.raises(NotImplementedError, match="v7.3"):  # scipy sees a MATLAB 7.3 file
        scipy.io.loadmat(path)
    cube = read_mat(path)
    assert cube.data.shape == (72, 51, 88)
    np.testing.assert_allclose(cube.data, muufl.data, rtol=1e-7)
    np.testing.assert_array_equal(cube.wavelengths, muufl.wavelengths)


def test_missing_key_error_lists_the_keys(tmp_path: Path, shared_data: Path) -> None:
    with pytest.raises(DataFileError) as error:
        read_mat(shared_data / "cubes" / "sandiego_plane.mat", key="paviaU")
    assert "paviaU" in str(error.value) and "data" in str(error.value) and "map" in str(error.value)
    path = tmp_path / "two.mat"
    scipy.io.savemat(path, {"a": np.zeros((2, 3, 4)), "b": np.zeros((2, 3, 4))})
    with pytest.raises(DataFileError, match="exactly one 3-D array.*--cube-key") as error:
        read_mat(path)
    assert "a (2, 3, 4), b (2, 3, 4)" in str(error.value)
    with pytest.raises(DataFileError, match="'nm'"):
        read_mat(path, key="a", wavelength_key="nm")


def test_read_mat_on_a_missing_or_corrupt_file(tmp_path: Path) -> None:
    with pytest.raises(RasterReadError):
        read_mat(tmp_path / "absent.mat")
    (tmp_path / "junk.mat").write_bytes(b"not a MATLAB file at all" * 10)
    with pytest.raises(RasterReadError):
        read_mat(tmp_path / "junk.mat")


# -------------------------------------------------------------------- ENVI


def write_envi(path: Path, cube: Cube, interleave: str, big_endian: bool, offset: int) -> None:
    """Write a cube as int16 reflectance x 10000 with -9999 as ignore value, and its header."""
    values = np.rint(np.nan_to_num(cube.data, nan=-0.9999) * 10000).astype(np.int16)
    layout = {"bsq": (0, 1, 2), "bil": (1, 0, 2), "bip": (1, 2, 0)}[interleave]
    raw = np.transpose(values, layout).astype(">i2" if big_endian else "<i2")
    path.write_bytes(b"\x00" * offset + raw.tobytes())
    microns = ", ".join(f"{w / 1000:.6f}" for w in cube.wavelengths)
    path.with_suffix(".hdr").write_text(
        "ENVI\ndescription = {\n  written by the hprn-geo tests}\n"
        f"samples = {cube.data.shape[2]}\nlines = {cube.data.shape[1]}\nbands = {cube.data.shape[0]}\n"
        f"header offset = {offset}\nfile type = ENVI Standard\ndata type = 2\ninterleave = {interleave}\n"
        f"byte order = {int(big_endian)}\nreflectance scale factor = 10000\ndata ignore value = -9999\n"
        "map info = {UTM, 1.000, 1.000, 325000.0, 3350000.0, 1.0, 1.0, 16, North, WGS-84, units=Meters}\n"
        f"wavelength units = Micrometers\nwavelength = {{\n {microns}}}\n"
    )


@pytest.mark.parametrize(
    ("interleave", "big_endian", "offset"), [("bsq", False, 0), ("bil", True, 64), ("bip", False, 128)]
)
def test_read_envi_round_trip(tmp_path: Path, muufl: Cube, interleave: str, big_endian: bool, offset: int) -> None:
    cube = Cube(muufl.data.copy(), muufl.wavelengths)
    cube.data[:, 0, 0] = np.nan  # becomes the ignore value
    path = tmp_path / "scene.img"
    write_envi(path, cube, interleave, big_endian, offset)
    for given in (path, path.with_suffix(".hdr")):
        read = read_envi(given)
        assert read.data.shape == (72, 51, 88)
        assert np.isnan(read.data[:, 0, 0]).all() and np.isfinite(read.data[:, 1:, :]).all()
        np.testing.assert_allclose(read.data[:, 1:], cube.data[:, 1:], atol=0.6e-4)
        np.testing.assert_allclose(read.wavelengths, muufl.wavelengths, atol=1e-3)
        assert read.extras["crs"].to_epsg() == 32616
        assert read.extras["transform"] == north_up(325000.0, 3350000.0, 1.0, 1.0)


def test_read_envi_errors(tmp_path: Path, muufl: Cube) -> None:
    path = tmp_path / "scene.img"
    write_envi(path, muufl, "bsq", False, 0)
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(RasterReadError, match="bytes"):
        read_envi(path)
    path.with_suffix(".hdr").write_text("ENVI\nsamples = 88\nlines = 51\ndata type = 2\n")
    with pytest.raises(DataFileError, match="bands"):
        read_envi(path)
    with pytest.raises(RasterReadError, match="header"):
        read_envi(tmp_path / "absent.img")


def test_gdal_reads_our_envi_test_file_the_same_way(tmp_path: Path, muufl: Cube) -> None:
    path = tmp_path / "scene.img"
    write_envi(path, muufl, "bil", True, 0)
    via_gdal = read_raster(path)
    np.testing.assert_allclose(via_gdal.data / 10000.0, read_envi(path).data, atol=1e-7)


# -------------------------------------------------------------- GeoTIFF


def test_read_raster_wavelengths_from_descriptions_scale_and_nodata(tmp_path: Path, muufl: Cube) -> None:
    path = tmp_path / "cube.tif"
    values = np.rint(muufl.data[:, :40, :40] * 10000 + 2000).astype(np.uint16)
    values[:, 0, 0] = 0
    profile = {"driver": "GTiff", "width": 40, "height": 40, "count": 72, "dtype": "uint16", "nodata": 0,
               "crs": "EPSG:32616", "transform": north_up(325000, 3350000, 1, 1)}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(values)
        dataset.descriptions = tuple(f"{w:.1f} nm" for w in muufl.wavelengths)
        dataset.scales = (1e-4,) * 72
        dataset.offsets = (-0.2,) * 72
    cube = read_cube(path)
    np.testing.assert_allclose(cube.wavelengths, np.round(muufl.wavelengths, 1))
    np.testing.assert_allclose(cube.data[:, 1:, 1:], muufl.data[:, 1:40, 1:40], atol=1e-4)
    assert np.isnan(cube.data[:, 0, 0]).all()
    assert cube.extras["crs"].to_epsg() == 32616


def test_read_raster_wavelengths_from_band_tags_in_micrometres(tmp_path: Path, muufl: Cube) -> None:
    path = tmp_path / "tags.tif"
    with (
        pytest.warns(NotGeoreferencedWarning),
        rasterio.open(path, "w", driver="GTiff", width=8, height=6, count=3, dtype="float32") as dataset,
    ):
        dataset.write(muufl.data[:3, :6, :8])
        for band, wavelength in enumerate((0.45, 0.55, 0.65), start=1):
            dataset.update_tags(band, wavelength=str(wavelength), wavelength_units="micrometers")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a cube without CRS is read quietly
        cube = read_raster(path)
    np.testing.assert_allclose(cube.wavelengths, [450.0, 550.0, 650.0])
    np.testing.assert_array_equal(cube.data, muufl.data[:3, :6, :8])
    assert cube.extras["crs"] is None


def test_read_raster_reads_back_what_our_writer_writes_fwhm_included(tmp_path: Path, shared_data: Path) -> None:
    from hprn_geo.io import CubeSpec, open_writer

    enmap = load_shared("enmap_potsdam_tile_96_96", shared_data)
    spec = CubeSpec(32, 32, enmap.wavelengths, "EPSG:32633", north_up(370000, 5810000, 30, 30), fwhm=enmap.fwhm)
    with open_writer(tmp_path / "enmap.tif", spec) as writer:
        writer.write_strip(0, 0, enmap.data)
    cube = read_raster(tmp_path / "enmap.tif")
    np.testing.assert_allclose(cube.wavelengths, enmap.wavelengths)
    assert 5 < enmap.fwhm.min() and cube.fwhm is not None
    np.testing.assert_allclose(cube.fwhm, enmap.fwhm)


def test_read_raster_without_wavelengths_and_on_junk(tmp_path: Path, shared_data: Path) -> None:
    cube = read_raster(shared_data / "geo" / "RGB.byte.tif")
    assert cube.wavelengths is None and cube.fwhm is None and cube.data.shape == (3, 718, 791)
    assert np.isnan(cube.data).any()  # nodata 0 around the scene
    (tmp_path / "junk.tif").write_bytes(b"II*\x00 not really a tiff")
    with pytest.raises(RasterReadError):
        read_raster(tmp_path / "junk.tif")


# --------------------------------------------------------- Zarr and NetCDF


def to_dataset(cube: Cube, spectral: str):  # noqa: ANN201 - xarray is imported lazily
    import xarray as xr

    if spectral == "wavelength":
        array = xr.DataArray(cube.data, dims=("wavelength", "y", "x"), coords={"wavelength": cube.wavelengths})
        array.coords["wavelength"].attrs["units"] = "nm"
        return xr.Dataset({"reflectance": array, "mask": (("y", "x"), cube.extras["mask"])})
    array = xr.DataArray(np.moveaxis(cube.data, 0, -1), dims=("y", "x", "band"))
    array = array.assign_coords(wavelength=("band", cube.wavelengths / 1000.0), fwhm=("band", np.full(72, 0.01)))
    array.coords["wavelength"].attrs["units"] = "um"
    array.coords["fwhm"].attrs["units"] = "um"
    return xr.Dataset({"radiance": array})


@pytest.mark.parametrize("suffix", [".zarr", ".nc"])
@pytest.mark.parametrize("spectral", ["wavelength", "band"])
def test_read_xarray_round_trip(tmp_path: Path, muufl: Cube, suffix: str, spectral: str) -> None:
    dataset = to_dataset(muufl, spectral)
    path = tmp_path / f"cube{suffix}"
    if suffix == ".zarr":
        dataset.to_zarr(path, zarr_format=2)
    else:
        dataset.to_netcdf(path, engine="scipy")
    cube = read_cube(path)
    np.testing.assert_array_equal(cube.data, muufl.data)
    np.testing.assert_allclose(cube.wavelengths, muufl.wavelengths, rtol=1e-12)
    if spectral == "band":
        np.testing.assert_allclose(cube.fwhm, 10.0)


def test_read_xarray_fill_value_and_variable_choice(tmp_path: Path, muufl: Cube) -> None:
    import xarray as xr

    dataset = to_dataset(muufl, "wavelength")
    dataset["reflectance"].encoding["_FillValue"] = -1.0
    dataset["reflectance"][:, 0, 0] = -1.0
    dataset["other"] = dataset["reflectance"] * 2
    path = tmp_path / "cube.zarr"
    dataset.to_zarr(path, zarr_format=2)
    with pytest.raises(DataFileError, match="other"):
        read_xarray(path)
    with pytest.raises(DataFileError, match="reflectance"):
        read_xarray(path, variable="absent")
    cube = read_xarray(path, variable="reflectance")
    assert np.isnan(cube.data[:, 0, 0]).all()
    assert isinstance(xr.open_zarr(path), xr.Dataset)


# -------------------------------------------------------------- band stack


def test_cave_band_stack(shared_data: Path) -> None:
    from skimage.io import imread

    folder = shared_data / "cave" / "balloons"
    cube = read_cube(folder, wavelengths=np.arange(400.0, 591.0, 10.0))
    assert cube.data.shape == (20, 512, 640) and cube.name == "balloons"
    np.testing.assert_array_equal(cube.data[1], imread(folder / "balloons_ms_02.png") / np.float32(65535))
    assert cube.extras["files"][:2] == ["balloons_ms_01.png", "balloons_ms_02.png"]
    partial = read_band_stack(folder / "balloons_ms_1*.png")
    assert partial.data.shape == (10, 512, 640) and partial.extras["files"][0] == "balloons_ms_10.png"


def test_band_stack_sorts_by_number_not_text(tmp_path: Path) -> None:
    from skimage.io import imsave

    for band in range(1, 12):
        imsave(tmp_path / f"scene_{band}.png", np.full((4, 5), band * 1000, dtype=np.uint16), check_contrast=False)
    cube = read_band_stack(tmp_path)
    np.testing.assert_allclose(cube.data[:, 0, 0], np.arange(1, 12) * 1000 / 65535.0, rtol=1e-6)
    imsave(tmp_path / "scene_a.png", np.zeros((4, 5), dtype=np.uint16), check_contrast=False)
    with pytest.raises(DataFileError, match="scene_a.png"):
        read_band_stack(tmp_path)
    with pytest.raises(RasterReadError):
        read_band_stack(tmp_path / "nothing_*.png")
