"""Reading an RGB and a cube onto one grid: k x k photo pixels per cube pixel, any CRS, overlap only, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.warp
from affine import Affine

from hprn_geo.cameras import Camera
from hprn_geo.errors import (
    MissingCRSError,
    MissingWavelengthsError,
    NoOverlapError,
    NotReflectanceWarning,
)
from hprn_geo.fit import block_mean
from hprn_geo.fit.coregister import check_registration
from hprn_geo.fit.pair import parse_bands, read_pair
from hprn_geo.fit.simulate import SimulatedPair
from hprn_geo.io.photo import srgb8, srgb_to_linear
from hprn_geo.spectral import render_rgb

from .conftest import SHIFT


def test_the_photo_lands_on_the_cube_grid_twice_finer(enmap_pair: SimulatedPair, camera: Camera) -> None:
    pair = read_pair(enmap_pair.rgb_path, enmap_pair.cube_path)
    assert pair.factor == 2 and pair.cube.shape == (91, 32, 64) and pair.rgb.shape == (3, 64, 128)
    assert pair.fwhm is not None and 5 < pair.fwhm.min() and pair.crs.to_epsg() == 32633
    moved = read_pair(enmap_pair.rgb_path, enmap_pair.cube_path, shift=SHIFT)
    linear = render_rgb(enmap_pair.truth, camera.on_grid(pair.wavelengths))
    expected = srgb_to_linear(srgb8(linear) / np.float32(255))  # what the 8-bit photo can hold
    inner = (slice(None), slice(4, -4), slice(4, -4))
    error = np.abs(moved.rgb - expected)[inner]
    assert np.nanmean(error) < 0.01 < np.nanmean(np.abs(pair.rgb - expected)[inner])  # moved back, it fits
    assert np.isfinite(moved.rgb[inner]).all()


def test_registration_finds_the_shift(enmap_pair: SimulatedPair) -> None:
    pair = read_pair(enmap_pair.rgb_path, enmap_pair.cube_path)
    found = check_registration(pair.cube, block_mean(pair.rgb, pair.factor), pair.valid)
    assert found.misregistered and found.correlation > 0.9
    assert abs(found.shift[0] - SHIFT[0]) < 0.25 and abs(found.shift[1] - SHIFT[1]) < 0.25
    moved = read_pair(enmap_pair.rgb_path, enmap_pair.cube_path, shift=SHIFT)
    left = check_registration(moved.cube, block_mean(moved.rgb, moved.factor), moved.valid)
    assert left.offset < 0.15 and left.correlation > found.correlation


def _rewrite(source: Path, target: Path, *, crs: object = "keep", transform: Affine | None = None,
             scale: float = 1.0, descriptions: bool = True) -> Path:  # fmt: skip
    """A copy of a GeoTIFF with another CRS / transform, values times ``scale``, or without band metadata."""
    with rasterio.open(source) as src:
        profile, data = src.profile, src.read()
        names = src.descriptions
        tags = [src.tags(b) for b in range(1, src.count + 1)]
    profile.update(crs=profile["crs"] if crs == "keep" else crs, transform=transform or profile["transform"])
    with rasterio.open(target, "w", **profile) as dst:
        dst.write((data * scale).astype(data.dtype))
        if descriptions:
            dst.descriptions = names
            for band, tag in enumerate(tags, start=1):
                dst.update_tags(band, **tag)
    return target


def test_bad_pairs_get_clear_errors(enmap_pair: SimulatedPair, tmp_path: Path) -> None:
    rgb, cube = enmap_pair.rgb_path, enmap_pair.cube_path
    far = _rewrite(cube, tmp_path / "far.tif", transform=Affine(60, 0, 900_000, 0, -60, 5_000_000))
    with pytest.raises(NoOverlapError, match="do not overlap"):
        read_pair(rgb, far)
    with pytest.raises(MissingCRSError, match="no CRS"):
        read_pair(_rewrite(rgb, tmp_path / "rgb.tif", crs=None), cube)
    with pytest.raises(MissingCRSError, match="no CRS"):
        read_pair(rgb, _rewrite(cube, tmp_path / "nocrs.tif", crs=None))
    bare = _rewrite(cube, tmp_path / "bare.tif", descriptions=False)
    with pytest.raises(MissingWavelengthsError, match="--wavelengths"):
        read_pair(rgb, bare)
    (tmp_path / "nm.txt").write_text("\n".join(f"{w:.2f}" for w in np.linspace(418, 993, 91)))
    assert read_pair(rgb, bare, tmp_path / "nm.txt").wavelengths[-1] == pytest.approx(993.0)
    with pytest.warns(NotReflectanceWarning, match="radiance"):
        read_pair(rgb, _rewrite(cube, tmp_path / "radiance.tif", scale=100.0))


def test_bands_pick_and_parse(enmap_pair: SimulatedPair) -> None:
    assert parse_bands("1-3,10", 91) == (1, 2, 3, 10)
    pair = read_pair(enmap_pair.rgb_path, enmap_pair.cube_path, bands="1-3,10")
    assert pair.cube.shape[0] == 4 and pair.fwhm is not None and pair.fwhm.shape == (4,)
    with pytest.raises(ValueError, match="bands 1-91"):
        parse_bands("90-92", 91)


def test_nodata_in_either_raster_leaves_the_cube_pixel_out(enmap_pair: SimulatedPair, tmp_path: Path) -> None:
    grid = read_pair(enmap_pair.rgb_path, enmap_pair.cube_path)
    with rasterio.open(enmap_pair.rgb_path) as src:
        profile, photo = src.profile, src.read()
        (x,), (y,) = rasterio.warp.transform(grid.crs, src.crs, *([v] for v in grid.transform * (40.5, 20.5)))
        row, col = src.index(x, y)
    photo[:, row, col] = 0  # nodata under the centre of cube pixel (20, 40)
    with rasterio.open(tmp_path / "rgb.tif", "w", **profile) as dst:
        dst.write(photo)
    with rasterio.open(enmap_pair.cube_path) as src:
        profile, cube, names = src.profile, src.read(), src.descriptions
    cube[:, 5:7, 9] = np.nan
    with rasterio.open(tmp_path / "cube.tif", "w", **profile) as dst:
        dst.write(cube)
        dst.descriptions = names
    pair = read_pair(tmp_path / "rgb.tif", tmp_path / "cube.tif")
    assert not pair.valid[20, 40] and not pair.valid[5:7, 9].any()
    assert pair.valid[4, 9] and pair.valid[7, 9] and 20 * 50 - 4 <= pair.valid[10:30, 10:60].sum() < 20 * 50
