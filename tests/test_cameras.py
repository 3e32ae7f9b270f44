"""Tests of hprn_geo.cameras on the real camera responses."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from hprn_geo.cameras import Camera, PhotoDegradation, augment_rgb, load_cameras
from hprn_geo.errors import RasterReadError
from hprn_geo.spectral import render_rgb

GRID = np.arange(400.0, 701.0, 10.0)


@pytest.fixture(scope="module")
def cameras(shared_data: Path) -> dict[str, Camera]:
    return load_cameras(shared_data / "srf")


@pytest.fixture(scope="module")
def nikon_d5100() -> Camera:
    """The measured Nikon D5100 response shipped by colour-science (no shared data needed)."""
    import colour

    sensitivities = colour.MSDS_CAMERA_SENSITIVITIES["Nikon 5100 (NPL)"]
    return Camera("Nikon 5100 (NPL)", np.asarray(sensitivities.wavelengths), np.asarray(sensitivities.values))


def test_all_32_cameras_load_with_their_grids(cameras: dict[str, Camera]) -> None:
    assert len(cameras) == 32
    assert {"Canon 5DMarkII", "Nikon D700", "SONY NEX-5N", "ntire2020_cie1964", "ntire2020_nikon_d40",
            "cave_nikon_d700", "ntire2022_qe"} <= set(cameras)  # fmt: skip
    assert "wavelengths" not in cameras
    assert cameras["Canon 5DMarkII"].response.shape == (33, 3)
    np.testing.assert_array_equal(cameras["Canon 5DMarkII"].wavelengths, np.arange(400.0, 721.0, 10.0))
    np.testing.assert_array_equal(cameras["ntire2020_nikon_d40"].wavelengths, GRID)
    np.testing.assert_array_equal(cameras["cave_nikon_d700"].wavelengths, GRID)
    np.testing.assert_array_equal(cameras["ntire2022_qe"].wavelengths, np.arange(360.0, 751.0, 1.0))
    for camera in cameras.values():
        assert camera.response.shape == (camera.wavelengths.size, 3)
        assert camera.response.min() >= 0.0


def test_columns_are_red_green_blue(cameras: dict[str, Camera]) -> None:
    for camera in cameras.values():
        red, green, blue = camera.wavelengths[np.argmax(camera.response, axis=0)]
        assert red >= 570 and 490 <= green <= 570 and blue <= 490, camera.name


def test_ntire2022_green_is_the_mean_of_its_two_greens(shared_data: Path, cameras: dict[str, Camera]) -> None:
    with open(shared_data / "srf" / "ntire2022_rgb_camera_qe.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    row = rows[550 - 360]
    assert float(row["Wavelength[nm]"]) == 550.0
    expected = [float(row["R"]), (float(row["G1"]) + float(row["G2"])) / 2, float(row["B"])]
    np.testing.assert_allclose(cameras["ntire2022_qe"].response[550 - 360], expected)


def test_cave_negative_lobes_are_clipped_and_the_rest_kept(shared_data: Path, cameras: dict[str, Camera]) -> None:
    raw = scipy.io.loadmat(shared_data / "srf" / "cave_nikon_d700_response.mat")["iniA"].T
    assert raw.min() < -0.2
    np.testing.assert_array_equal(cameras["cave_nikon_d700"].response, np.clip(raw, 0.0, None))


@pytest.mark.parametrize("grid", [GRID, np.linspace(367.7, 1043.4, 72)], ids=["400-700", "muufl"])
def test_every_camera_renders_white_to_one(cameras: dict[str, Camera], grid: np.ndarray) -> None:
    white = np.ones((grid.size, 2, 3), dtype=np.float32)
    for camera in cameras.values():
        np.testing.assert_allclose(render_rgb(white, camera.on_grid(grid)), 1.0, atol=1e-6, err_msg=camera.name)


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(RasterReadError, match="camspec_jiang2013_28cams.npz"):
        load_cameras(tmp_path)


def test_augment_without_exposure_or_noise_is_the_plain_render(nikon_d5100: Camera) -> None:
    cube = np.random.default_rng(0).uniform(0.0, 0.6, size=(31, 8, 9)).astype(np.float32)
    rgb = augment_rgb(cube, GRID, [nikon_d5100], np.random.default_rng(1), exposure=(1.0, 1.0), noise_std=0.0)
    np.testing.assert_allclose(rgb, render_rgb(cube, nikon_d5100.on_grid(GRID)), atol=1e-7)


def test_augment_exposure_range_and_noise_level(nikon_d5100: Camera) -> None:
    white = np.ones((31, 64, 64), dtype=np.float32)
    rng = np.random.default_rng(2)
    levels = [augment_rgb(white, GRID, [nikon_d5100], rng, noise_std=0.0)[0, 0, 0] for _ in range(50)]
    assert 0.7 <= min(levels) < 0.8 and 1.2 < max(levels) <= 1.3
    noisy = augment_rgb(white, GRID, [nikon_d5100], rng, exposure=(1.0, 1.0), noise_std=0.02)
    assert noisy.dtype == np.float32
    assert noisy.mean() == pytest.approx(1.0, abs=0.002)
    assert noisy.std() == pytest.approx(0.02, rel=0.05)


def test_ntire2020_nikon_d40_is_camspec_canon_40d_with_channel_gains(cameras: dict[str, Camera]) -> None:
    ratio = cameras["ntire2020_nikon_d40"].response / cameras["Canon 40D"].response[:31]
    np.testing.assert_allclose(ratio / ratio[0], 1.0, rtol=1e-6)
    assert np.ptp(cameras["ntire2020_nikon_d40"].response / cameras["Nikon D40"].response[:31], axis=0).min() > 100


def test_augment_is_reproducible_and_uses_every_camera(cameras: dict[str, Camera]) -> None:
    cube = np.random.default_rng(3).uniform(0.0, 1.0, size=(31, 4, 4)).astype(np.float32)
    chosen = list(cameras.values())
    first = augment_rgb(cube, GRID, chosen, np.random.default_rng(7))
    np.testing.assert_array_equal(first, augment_rgb(cube, GRID, chosen, np.random.default_rng(7)))
    renders = {
        tuple(np.round(augment_rgb(cube, GRID, chosen, np.random.default_rng(seed), (1.0, 1.0), 0.0)[:, 0, 0], 6))
        for seed in range(400)
    }
    assert len(renders) == len(cameras) - 1  # two files hold the same camera (test above)


def test_augment_needs_a_camera() -> None:
    with pytest.raises(ValueError, match="at least one camera"):
        augment_rgb(np.ones((31, 2, 2)), GRID, [], np.random.default_rng(0))


def test_photo_degradation_off_is_the_identity(shared_data: Path, cameras: dict[str, Camera]) -> None:
    rgb = render_rgb(_samson_crop(shared_data), cameras["ntire2020_cie1964"].on_grid(GRID))
    off = PhotoDegradation()
    assert not off.active
    np.testing.assert_array_equal(off(rgb, np.random.default_rng(0)), rgb)


def test_photo_degradation_white_balance_is_one_gain_per_channel(shared_data: Path, cameras: dict[str, Camera]) -> None:
    rgb = render_rgb(_samson_crop(shared_data), cameras["ntire2020_cie1964"].on_grid(GRID))
    gains = []
    for seed in range(200):
        out = PhotoDegradation(white_balance_std=0.1)(rgb, np.random.default_rng(seed))
        ratio = out / rgb
        np.testing.assert_allclose(ratio, ratio[:, :1, :1] * np.ones_like(ratio), rtol=1e-5)
        gains.append(np.log(ratio[:, 0, 0]))
    assert 0.08 < np.std(gains) < 0.12 and abs(np.mean(gains)) < 0.02


def test_photo_degradation_quantises_to_8_bit_srgb(shared_data: Path, cameras: dict[str, Camera]) -> None:
    """Quantised images hold at most 256 levels per channel, each an sRGB-decoded 8-bit code, within one code."""
    import colour

    rgb = render_rgb(_samson_crop(shared_data), cameras["ntire2020_cie1964"].on_grid(GRID))
    out = PhotoDegradation(quantize_fraction=1.0)(rgb, np.random.default_rng(0))
    codes = colour.models.eotf_inverse_sRGB(out.astype(np.float64)) * 255.0
    np.testing.assert_allclose(codes, np.round(codes), atol=1e-3)
    assert np.abs(codes - colour.models.eotf_inverse_sRGB(np.clip(rgb, 0, 1).astype(np.float64)) * 255).max() <= 0.5 + 1e-3
    assert len(np.unique(out[1])) < len(np.unique(rgb[1]))


def test_photo_degradation_blur_keeps_the_mean_and_smooths(shared_data: Path, cameras: dict[str, Camera]) -> None:
    rgb = render_rgb(_samson_crop(shared_data), cameras["ntire2020_cie1964"].on_grid(GRID))
    ratios = []
    for seed in range(20):
        out = PhotoDegradation(blur_sigma=2.0)(rgb, np.random.default_rng(seed))
        np.testing.assert_allclose(out.mean(axis=(1, 2)), rgb.mean(axis=(1, 2)), rtol=1e-2)
        ratios.append(np.abs(np.diff(out, axis=2)).mean() / np.abs(np.diff(rgb, axis=2)).mean())
    assert max(ratios) <= 1.0 + 1e-6 and np.mean(ratios) < 0.8


def _samson_crop(shared_data: Path) -> np.ndarray:
    """A real (31, 40, 40) Samson reflectance crop on GRID."""
    from hprn_geo.scenes import load_scene

    return load_scene("samson", GRID, shared_data, fwhm=10.0, edge_clamp_nm=2.0).cube[:, :40, :40]
