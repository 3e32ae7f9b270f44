"""Hostile rasters: each one is reconstructed with its georeferencing kept, read back with rasterio/rioxarray.

Every input is cut from the real Landsat crop (tests/reference_crop.py) and
made hostile one way: NaN and Inf in a float raster, values far outside the
range reflectance can have, a rotated geotransform, GCPs instead of a
transform, 16-bit RGB plus an alpha band (``--rgb-bands 1,2,3``; without it,
a one-line error), a 1 x 100000 strip, and a different nodata value in each
band. Invalid input pixels must come out as NaN, and only they.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr
from click.testing import CliRunner, Result
from rasterio.control import GroundControlPoint
from rasterio.enums import ColorInterp
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import Affine

from cube_files import read_values

from hprn_geo.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::hprn_geo.errors.UntrainedModelWarning")

SIZE = 96


def _write(path: Path, data: np.ndarray, **profile) -> Path:
    profile = {"driver": "GTiff", "count": data.shape[0], "height": data.shape[1], "width": data.shape[2],
               "dtype": data.dtype.name, **profile}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as ds:
            ds.write(data)
    return path


def _nan_inf(rgb: np.ndarray, place: dict, folder: Path) -> tuple[Path, np.ndarray]:
    data = rgb.astype(np.float32) / 255
    data[0, 5:9, 5:9] = np.nan
    data[1, 20:22, 30:33] = np.inf
    data[2, 40, 40] = -np.inf
    return _write(folder / "nan_inf.tif", data, **place), ~np.isfinite(data).all(axis=0)


def _far_out_of_range(rgb: np.ndarray, place: dict, folder: Path) -> tuple[Path, np.ndarray]:
    data = rgb.astype(np.float32) * 1e6 - 3e7  # reflectance from -3e7 to 2.2e8
    return _write(folder / "far.tif", data, **place), np.zeros(rgb.shape[1:], bool)


def _past_declared_bits(rgb: np.ndarray, place: dict, folder: Path) -> tuple[Path, np.ndarray]:
    data = (rgb.astype(np.uint16) * 257) | 1  # 16-bit values (up to 65535) in a raster declaring 12 bits
    path = _write(folder / "nbits.tif", data, **place)
    with rasterio.open(path, "r+") as ds:
        for band in (1, 2, 3):
            ds.update_tags(band, ns="IMAGE_STRUCTURE", NBITS="12")
    return path, np.zeros(rgb.shape[1:], bool)


def _rotated(rgb: np.ndarray, place: dict, folder: Path) -> tuple[Path, np.ndarray]:
    t = place["transform"]
    rotated = Affine(20.0, 10.0, t.c, 10.0, -20.0, t.f)
    return _write(folder / "rotated.tif", rgb, crs=place["crs"], transform=rotated, nodata=0), (rgb == 0).any(axis=0)


def _gcps_only(rgb: np.ndarray, place: dict, folder: Path) -> tuple[Path, np.ndarray]:
    t, last = place["transform"], SIZE - 1
    gcps = [GroundControlPoint(r, c, *(t * (c, r)), id=str(i)) for i, (r, c) in
            enumerate([(0, 0), (0, last), (last, 0), (last, last), (40, 50)])]
    path = _write(folder / "gcps.tif", rgb, nodata=0)
    with rasterio.open(path, "r+") as ds:
        ds.gcps = (gcps, place["crs"])
    return path, (rgb == 0).any(axis=0)


def _rgb16_alpha(rgb: np.ndarray, place: dict, folder: Path) -> tuple[Path, np.ndarray]:
    alpha = np.where((rgb == 0).any(axis=0), 0, 65535).astype(np.uint16)
    alpha[60:70, 10:20] = 0
    data = np.concatenate([rgb.astype(np.uint16) * 257, alpha[None]])
    path = _write(folder / "rgba16.tif", data, photometric="RGB", nodata=0, **place)  # GDAL's mask: nodata, not alpha
    with rasterio.open(path, "r+") as ds:
        ds.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]
    return path, alpha == 0


def _strip(rgb: np.ndarray, place: dict, folder: Path) -> tuple[Path, np.ndarray]:
    data = np.ascontiguousarray(np.resize(rgb[:, 50, :], (3, 100_000))[:, None, :])
    return _write(folder / "strip.tif", data, nodata=0, **place), (data == 0).any(axis=0)


def _nodata_per_band(rgb: np.ndarray, place: dict, folder: Path) -> tuple[Path, np.ndarray]:
    nodata = [0] + [int(np.bincount(band[band > 0]).argmax()) for band in rgb[1:]]  # values the bands hold
    _write(folder / "bands.tif", rgb, **place)
    bands = "".join(
        f'<VRTRasterBand dataType="Byte" band="{b}"><NoDataValue>{value}</NoDataValue><SimpleSource>'
        f'<SourceFilename relativeToVRT="1">bands.tif</SourceFilename><SourceBand>{b}</SourceBand>'
        f"</SimpleSource></VRTRasterBand>" for b, value in zip((1, 2, 3), nodata, strict=True))
    path = folder / "nodata_per_band.vrt"
    path.write_text(f'<VRTDataset rasterXSize="{SIZE}" rasterYSize="{SIZE}"><SRS>{place["crs"].to_wkt()}</SRS>'
                    f'<GeoTransform>{", ".join(map(str, place["transform"].to_gdal()))}</GeoTransform>{bands}</VRTDataset>')
    invalid = np.any([band == value for band, value in zip(rgb, nodata, strict=True)], axis=0)
    assert (invalid & (rgb[0] != 0)).sum() > 10  # the other bands' nodata marks pixels of its own
    return path, invalid


CASES: dict[str, Callable[[np.ndarray, dict, Path], tuple[Path, np.ndarray]]] = {
    "nan_inf": _nan_inf, "far_out_of_range": _far_out_of_range, "past_declared_bits": _past_declared_bits,
    "rotated": _rotated, "gcps_only": _gcps_only, "rgb16_alpha": _rgb16_alpha, "strip": _strip,
    "nodata_per_band": _nodata_per_band,
}


@pytest.fixture(scope="module")
def hostile(crop: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, np.ndarray]]:
    """Case name -> (raster, (H, W) invalid pixels), cut from the real crop (a corner of it with nodata)."""
    folder = tmp_path_factory.mktemp("hostile")
    with rasterio.open(crop) as src:
        window = rasterio.windows.Window(60, 0, SIZE, SIZE)
        rgb, place = src.read(window=window), {"crs": src.crs, "transform": src.window_transform(window)}
    assert (rgb == 0).any() and (rgb != 0).any()
    return {name: make(rgb, place, folder) for name, make in CASES.items()}


def _geometry(path: Path) -> tuple:
    """(crs, transform, gcps as tuples, shape) of a GeoTIFF, or of a Zarr cube as rioxarray reads it."""
    if path.suffix == ".zarr":
        with xr.open_dataset(path, engine="zarr", decode_coords="all") as ds:
            cube = ds["reflectance"]
            gcps = cube.rio.get_gcps() if "gcps" in ds["spatial_ref"].attrs else []
            transform = Affine.identity() if gcps else cube.rio.transform(recalc=False)
            return cube.rio.crs, transform, [(g.row, g.col, g.x, g.y) for g in gcps], cube.shape[1:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as ds:
            gcps, gcp_crs = ds.gcps
            return ds.crs or gcp_crs, ds.transform, [(g.row, g.col, g.x, g.y) for g in gcps], ds.shape


def _predict(src: Path, dst: Path, checkpoint: Path, *options: str) -> Result:
    return CliRunner().invoke(main, ["predict", str(src), "-o", str(dst), "--weights", str(checkpoint),
                                     "--overlap", "8", "-q", *options])


@pytest.mark.parametrize("suffix", [".tif", ".zarr"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_raster_is_reconstructed_with_its_geometry(
    case: str, suffix: str, hostile: dict, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    src, invalid = hostile[case]
    dst = tmp_path / f"cube{suffix}"
    tile = "512" if case == "strip" else "64"
    bands = ["--rgb-bands", "1,2,3"] if case == "rgb16_alpha" else []
    result = _predict(src, dst, tiny_checkpoint, "--tile", tile, *bands)
    assert result.exit_code == 0, result.output
    assert [line for line in result.output.splitlines() if "UNTRAINED" not in line] == []  # e.g. no "has no CRS"
    assert _geometry(dst) == _geometry(src) and _geometry(dst)[0] is not None
    cube = read_values(dst)
    assert np.array_equal(np.isnan(cube), np.broadcast_to(invalid, cube.shape))
    assert np.isfinite(cube[:, ~invalid]).all()


def test_rgb_plus_alpha_without_rgb_bands_is_one_line(hostile: dict, tiny_checkpoint: Path, tmp_path: Path) -> None:
    # Four bands are ambiguous (GDAL marks the 4th band of any 4-band byte GeoTIFF as alpha, NIR included): ask.
    result = _predict(hostile["rgb16_alpha"][0], tmp_path / "cube.tif", tiny_checkpoint, "--tile", "64")
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "UNTRAINED" not in line]
    assert lines == [f"Error: {hostile['rgb16_alpha'][0]} has 4 bands; pass --rgb-bands R,G,B (1-based) to choose three"]
    assert list(tmp_path.iterdir()) == []


def test_stac_gives_a_gcp_raster_no_transform(hostile: dict, tiny_checkpoint: Path, tmp_path: Path, stac_item) -> None:
    src = hostile["gcps_only"][0]
    (tmp_path / "item.json").write_text(json.dumps(stac_item(str(src))))
    result = CliRunner().invoke(main, ["stac", str(tmp_path / "item.json"), "-o", str(tmp_path / "out"), "--weights",
                                       str(tiny_checkpoint), "--tile", "64", "--overlap", "8", "-q"])
    assert result.exit_code == 0, result.output
    asset = json.loads((tmp_path / "out" / "crop-hprn.json").read_text())["assets"]["reflectance"]
    assert asset["proj:code"] == "EPSG:32618" and "proj:transform" not in asset
    assert _geometry(tmp_path / "out" / "crop-hprn.tif") == _geometry(src)
