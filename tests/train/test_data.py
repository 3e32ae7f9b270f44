"""Scenes on a grid, input conventions and training patches, on the real shared cubes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hprn_geo.cameras import load_cameras
from hprn_geo.errors import DataFileError
from hprn_geo.io.shared import load_shared
from hprn_geo.model import slic_labels
from hprn_geo.spectral import render_rgb
from hprn_geo.scenes import InputConvention, RGBRenderer, load_scene, patch_positions, to_grid
from hprn_geo.train.data import PatchPool

VNIR31 = np.linspace(400.0, 700.0, 31)


def test_edge_clamp_fills_a_short_gap_with_the_edge_band(shared_data: Path) -> None:
    samson = load_shared("samson", shared_data)  # starts at 401 nm
    grid = to_grid(samson, [400.0, 401.0, 600.0], edge_clamp_nm=2.0)
    np.testing.assert_array_equal(grid[0], grid[1])
    np.testing.assert_allclose(grid[1], samson.data[0], rtol=1e-6)
    with pytest.raises(DataFileError, match="short of the grid"):
        to_grid(samson, VNIR31, edge_clamp_nm=0.5)


def test_radiance_cannot_be_a_target(shared_data: Path) -> None:
    with pytest.raises(DataFileError, match="radiance"):
        load_scene("aviris_ng_yuma_2017", VNIR31, shared_data)


@pytest.mark.slow
def test_tiles_matched_by_a_glob_are_mosaicked_at_their_offsets(shared_data: Path) -> None:
    grid = np.linspace(430.0, 860.0, 103)
    scene = load_scene("enmap_potsdam_tile_*", grid, shared_data)
    assert scene.name == "enmap_potsdam_tile"
    assert scene.cube.shape == (103, 192, 160)
    assert scene.valid.sum() == 18 * 32 * 32
    tile = load_scene("enmap_potsdam_tile_96_32", grid, shared_data)  # (col, row) = (96, 32) -> offset (32, 32)
    np.testing.assert_array_equal(scene.cube[:, 32:64, 32:64], tile.cube)


def test_patch_positions_are_the_windows_without_holes() -> None:
    valid = np.ones((5, 6), bool)
    valid[2, 4] = False
    positions = {tuple(p) for p in patch_positions(valid, 3)}
    expected = {(r, c) for r in range(3) for c in range(4) if not (r <= 2 <= r + 2 and c <= 4 <= c + 2)}
    assert positions == expected
    assert patch_positions(valid, 7).shape == (0, 2)


def test_input_convention_round_trips_through_the_card_text() -> None:
    for convention in (InputConvention(camera="ntire2020_cie1964"), InputConvention(rgb_bands=(53, 31, 7))):
        assert InputConvention.from_card(convention.describe()) == convention
    with pytest.raises(DataFileError):
        InputConvention.from_card("test: untrained")


def test_band_convention_uses_the_cube_s_own_bands(shared_data: Path) -> None:
    scene = load_scene("moffett", np.linspace(430.0, 860.0, 103), shared_data)
    rgb = RGBRenderer(InputConvention(rgb_bands=(53, 31, 7)), np.linspace(430.0, 860.0, 103)).fixed(scene.cube)
    np.testing.assert_array_equal(rgb, scene.cube[[52, 30, 6]])


def test_camera_convention_renders_white_to_one(shared_data: Path) -> None:
    cameras = load_cameras(shared_data / "srf")
    renderer = RGBRenderer(InputConvention(camera="ntire2020_cie1964"), VNIR31, cameras)
    np.testing.assert_allclose(renderer.fixed(np.ones((31, 2, 2), np.float32)), 1.0, rtol=1e-6)


def test_pool_patches_are_reproducible_and_carry_their_own_prior(shared_data: Path) -> None:
    cameras = load_cameras(shared_data / "srf")
    scene = load_scene("samson", VNIR31, shared_data, fwhm=10.0, edge_clamp_nm=2.0)
    renderer = RGBRenderer(InputConvention(camera="ntire2020_cie1964"), VNIR31, cameras, ("all",), 0.5, 0.003)
    pool = PatchPool.build([scene], renderer, 6, 32, (8, 12), (0.8, 1.2), np.random.default_rng(0))
    assert pool.labels.shape == (6, 2, 32, 32)
    rgb, target = pool.patch(3, [scene], renderer)
    np.testing.assert_array_equal(pool.patch(3, [scene], renderer)[0], rgb)  # same seed, same RGB
    np.testing.assert_array_equal(pool.labels[3], slic_labels(rgb, (8, 12)))
    r, c = pool.row[3], pool.col[3]
    np.testing.assert_allclose(target, scene.cube[:, r : r + 32, c : c + 32] * pool.exposure[3], rtol=1e-6)
    rgbs, targets, labels = pool.batch([0, 3], [scene], renderer, np.random.default_rng(1))
    assert rgbs.shape == (2, 3, 32, 32) and targets.shape == (2, 31, 32, 32) and labels.shape == (2, 2, 32, 32)


def test_fixed_fraction_one_renders_the_fixed_camera_plus_noise(shared_data: Path) -> None:
    cameras = load_cameras(shared_data / "srf")
    cube = load_scene("moffett", VNIR31, shared_data).cube
    renderer = RGBRenderer(InputConvention(camera="ntire2020_cie1964"), VNIR31, cameras, (), 1.0, 0.01)
    noisy = renderer.training(cube, np.random.default_rng(0))
    clean = render_rgb(cube, cameras["ntire2020_cie1964"].on_grid(VNIR31))
    assert 0.008 < np.std(noisy - clean) < 0.012


def test_pool_round_trips_through_npz(shared_data: Path, tmp_path: Path) -> None:
    scene = load_scene("moffett", VNIR31, shared_data)
    renderer = RGBRenderer(InputConvention(rgb_bands=(20, 12, 4)), VNIR31)
    pool = PatchPool.build([scene], renderer, 3, 16, (8,), (1.0, 1.0), np.random.default_rng(0))
    pool.save(tmp_path / "pool.npz")
    again = PatchPool.load(tmp_path / "pool.npz")
    for name in pool.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(again, name), getattr(pool, name))


def test_a_cube_s_mask_marks_pixels_without_data(shared_data: Path) -> None:
    scene = load_scene("muufl_sub", VNIR31, shared_data)
    mask = load_shared("muufl_sub", shared_data).extras["mask"]
    np.testing.assert_array_equal(scene.valid, mask == 1)
    assert scene.spectra().shape == (31, int(mask.sum()))


def test_pixel_weights_share_patches_by_valid_pixels(shared_data: Path) -> None:
    """``"pixels"``: each scene gets patches in proportion to its valid pixels; ``"positions"`` favours large scenes."""
    scenes = [load_scene(name, VNIR31, shared_data, edge_clamp_nm=19.0) for name in ("moffett", "jasper_ridge")]
    renderer = RGBRenderer(InputConvention(rgb_bands=(20, 12, 4)), VNIR31)
    pixels = np.array([s.valid.sum() for s in scenes], np.float64)
    shares = {}
    for weights in ("pixels", "positions"):
        pool = PatchPool.build(scenes, renderer, 4000, 40, (), (1.0, 1.0), np.random.default_rng(0), weights)
        shares[weights] = np.bincount(pool.scene, minlength=2) / 4000
    np.testing.assert_allclose(shares["pixels"], pixels / pixels.sum(), atol=0.02)
    assert shares["positions"][0] < 0.05  # moffett has 121 of 3842 40 x 40 positions


def test_input_response_is_what_fixed_renders(shared_data: Path) -> None:
    scene = load_scene("moffett", VNIR31, shared_data)
    cameras = load_cameras(shared_data / "srf")
    camera = RGBRenderer(InputConvention(camera="ntire2020_cie1964"), VNIR31, cameras)
    response = camera.input_response()
    assert response.shape == (3, 31)
    np.testing.assert_allclose(response.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.einsum("cb,bhw->chw", response, scene.cube), camera.fixed(scene.cube), atol=1e-6)
    bands = RGBRenderer(InputConvention(rgb_bands=(20, 12, 4)), VNIR31).input_response()
    np.testing.assert_array_equal(np.einsum("cb,bhw->chw", bands, scene.cube), scene.cube[[19, 11, 3]])


def test_spectral_tilt_changes_target_and_rgb_together(shared_data: Path) -> None:
    """A tilted patch is the plain patch times one smooth factor per band, and its RGB is rendered from it."""
    cameras = load_cameras(shared_data / "srf")
    scene = load_scene("samson", VNIR31, shared_data, fwhm=10.0, edge_clamp_nm=2.0)
    renderer = RGBRenderer(InputConvention(camera="ntire2020_cie1964"), VNIR31, cameras)
    plain = PatchPool.build([scene], renderer, 8, 32, (), (1.0, 1.0), np.random.default_rng(0))
    tilted = PatchPool.build([scene], renderer, 8, 32, (), (1.0, 1.0), np.random.default_rng(0), tilt=0.3)
    assert not plain.tilt.any() and 0.1 < tilted.tilt.std() < 0.6
    i = 2
    (rgb0, target0), (rgb1, target1) = plain.patch(i, [scene], renderer), tilted.patch(i, [scene], renderer)
    factor = target1 / target0
    np.testing.assert_allclose(factor, factor[:, :1, :1] * np.ones_like(factor), rtol=1e-5)  # one factor per band
    x = np.linspace(-1.0, 1.0, 31)
    expected = np.exp(tilted.tilt[i, 0] * x + tilted.tilt[i, 1] * (x**2 - 1.0 / 3.0))
    np.testing.assert_allclose(factor[:, 0, 0], expected, rtol=1e-5)
    np.testing.assert_allclose(rgb1, render_rgb(target1, cameras["ntire2020_cie1964"].on_grid(VNIR31)), rtol=1e-5, atol=1e-7)
    assert not np.allclose(rgb1, rgb0)


def test_no_scene_with_a_whole_patch_is_a_data_file_error(shared_data: Path) -> None:
    """A patch larger than every scene: the one-line DataFileError its docstring names (not a NameError)."""
    scene = load_scene("samson", VNIR31, shared_data, fwhm=10.0, edge_clamp_nm=2.0)
    renderer = RGBRenderer(InputConvention(rgb_bands=(25, 15, 5)), VNIR31)
    size = max(scene.valid.shape) + 1
    with pytest.raises(DataFileError, match=f"no training scene has a {size}x{size} window with data"):
        PatchPool.build([scene], renderer, 3, size, (), (1.0, 1.0), np.random.default_rng(0))
