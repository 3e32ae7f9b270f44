"""The xarray accessor on a real GeoTIFF: laziness, geometry, nodata, scaling, equality with the CLI, Zarr."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import rioxarray
import xarray as xr
from dask.callbacks import Callback

import hprn_geo  # noqa: F401  (registers .hprn)
from hprn_geo.distributed import cached_checkpoint, model_loads
from hprn_geo.errors import BandCountError, UnsupportedDtypeError
from hprn_geo.predict import pick_device

pytestmark = pytest.mark.filterwarnings("ignore::hprn_geo.errors.UntrainedModelWarning")

from reference_crop import OVERLAP, TILE  # tests/ is on sys.path (rootdir conftest)


def _nodata(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return (src.read_masks() == 0).any(axis=0)


def test_reconstruct_is_lazy_and_equals_the_cli(crop: Path, reference: np.ndarray, tiny_checkpoint: Path) -> None:
    model = cached_checkpoint(None, str(tiny_checkpoint.resolve()), None, str(pick_device("auto"))).model
    calls: list[int] = []
    hook = model.register_forward_pre_hook(lambda module, args: calls.append(1))
    loads = model_loads()
    tasks: list[object] = []
    try:
        with Callback(pretask=lambda key, dsk, state: tasks.append(key)):
            rgb = rioxarray.open_rasterio(crop, chunks={"y": 56})
            cube = rgb.hprn.reconstruct(model=tiny_checkpoint, tile=TILE, overlap=OVERLAP)
        assert (tasks, calls) == ([], [])
        assert cube.chunks[1] == (56, 56, 88)  # whole strips (56-row stride), at least 56 rows a block
        values = cube.values
    finally:
        hook.remove()
    assert calls and model_loads() == loads  # it ran, on the model this process had already loaded
    assert cube.dims == ("wavelength", "y", "x") and cube.dtype == np.float32
    assert np.allclose(cube["wavelength"], np.linspace(450, 800, 8)) and cube["wavelength"].attrs["units"] == "nm"
    assert cube.rio.crs == rgb.rio.crs and cube.rio.transform() == rgb.rio.transform()
    assert cube.attrs["hprn_model"] == "tiny8" and '"tile": 128' in cube.attrs["hprn_model_card"]
    assert np.array_equal(np.isnan(values).any(axis=0), _nodata(crop))
    assert np.array_equal(values, reference, equal_nan=True), np.nanmax(np.abs(values - reference))


def test_numpy_and_decoded_float_inputs_agree(crop: Path, tiny_checkpoint: Path) -> None:
    rows = {"y": slice(0, 64)}
    raw = rioxarray.open_rasterio(crop).isel(rows)  # uint8, numpy, nodata 0
    decoded = rioxarray.open_rasterio(crop, mask_and_scale=True, chunks={"y": 32}).isel(rows)  # float32, NaN
    eager = raw.hprn.reconstruct(model=tiny_checkpoint, tile=TILE, overlap=OVERLAP)
    lazy = decoded.hprn.reconstruct(model=tiny_checkpoint, tile=TILE, overlap=OVERLAP)
    assert eager.chunks is None and lazy.chunks is not None
    assert eager.attrs["hprn_input_scaling"] == lazy.attrs["hprn_input_scaling"] == "uint8: divided by 255"
    assert np.allclose(eager, lazy.values, atol=1e-6, equal_nan=True)
    assert np.isnan(eager.values).any()


def test_input_scaling_follows_the_cli(crop: Path) -> None:
    from hprn_geo.accessor import input_scaling

    raw = rioxarray.open_rasterio(crop)
    reflectance = (raw / 255).astype(np.float32)
    int16 = raw.astype(np.int16).assign_attrs(scale_factor=1e-4, add_offset=0.0)
    assert input_scaling(raw).factor == pytest.approx(1 / 255)
    assert input_scaling(rioxarray.open_rasterio(crop, mask_and_scale=True)).factor == pytest.approx(1 / 255)
    assert input_scaling(reflectance).factor == 1
    assert input_scaling(int16).factor == pytest.approx(1e-4)
    assert input_scaling(raw, scale=0.5).factor == 0.5


def test_dataset_picks_the_rgb_variables(crop: Path, tiny_checkpoint: Path) -> None:
    bands = rioxarray.open_rasterio(crop, chunks={"y": 64}).isel(y=slice(0, 64))
    ds = xr.Dataset({name: bands.sel(band=i + 1, drop=True) for i, name in enumerate(["Red", "Green", "Blue"])})
    out = ds.assign(alpha=ds["Red"]).hprn.reconstruct(model=tiny_checkpoint, tile=TILE, overlap=OVERLAP)
    assert list(out.data_vars) == ["reflectance"] and out["reflectance"].chunks is not None
    expected = bands.hprn.reconstruct(model=tiny_checkpoint, tile=TILE, overlap=OVERLAP)
    assert out["reflectance"].rio.crs == bands.rio.crs
    assert np.array_equal(out["reflectance"], expected, equal_nan=True)


def test_bad_inputs_raise_before_loading_anything(crop: Path, tiny_checkpoint: Path) -> None:
    rgb = rioxarray.open_rasterio(crop, chunks={"y": 64})
    four = xr.concat([rgb, rgb.isel(band=[0])], dim="band")
    with pytest.raises(BandCountError, match="rgb_bands"):
        four.hprn.reconstruct(model=tiny_checkpoint)
    with pytest.raises(BandCountError, match="1..4"):
        four.hprn.reconstruct(model=tiny_checkpoint, rgb_bands=(1, 2, 5))
    with pytest.raises(BandCountError, match="band, y, x"):
        rgb.isel(band=0).hprn.reconstruct(model=tiny_checkpoint)
    pair = xr.Dataset({"a": rgb.sel(band=1, drop=True), "b": rgb.sel(band=2, drop=True)})
    with pytest.raises(BandCountError, match="red, green and blue"):
        pair.hprn.reconstruct(model=tiny_checkpoint)
    mixed = pair.assign(c=rgb.sel(band=3, drop=True).astype(np.uint16))
    with pytest.raises(UnsupportedDtypeError):
        mixed.hprn.reconstruct(model=tiny_checkpoint)
    picked = four.hprn.reconstruct(model=tiny_checkpoint, rgb_bands=(3, 2, 1), tile=TILE, overlap=OVERLAP)
    assert picked.shape == (8, 200, 200) and picked.chunks is not None


def test_to_zarr_writes_the_cli_layout(
    crop: Path, reference: np.ndarray, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    rgb = rioxarray.open_rasterio(crop, chunks={"y": 64})
    cube = rgb.hprn.reconstruct(model=tiny_checkpoint, tile=TILE, overlap=OVERLAP).copy(data=reference)
    cube.hprn.to_zarr(tmp_path / "cube.zarr")
    stored = xr.open_dataset(tmp_path / "cube.zarr", engine="zarr", decode_coords="all")
    back = stored["reflectance"]
    assert back.rio.crs == rgb.rio.crs and back.rio.transform() == rgb.rio.transform()
    assert stored.attrs["hprn_model"] == "tiny8" and back.dims == ("wavelength", "y", "x")
    assert np.array_equal(back.values, reference, equal_nan=True)
    with pytest.raises(ValueError, match="chunks"):  # 200 rows make one 208-row chunk: no region inside it
        cube.isel(y=slice(100, 200)).hprn.to_zarr(tmp_path / "cube.zarr", region={"y": slice(100, 200)})
    with pytest.raises(OSError, match="exists"):
        cube.hprn.to_zarr(tmp_path / "cube.zarr")


def test_photo_options_travel_as_in_the_cli(crop: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    from hprn_geo.errors import CheckpointError
    from hprn_geo.predict import PredictOptions, Predictor
    from hprn_geo.registry import load_checkpoint

    options = {"encoding": "srgb", "white_balance": "gray-world"}
    cli = PredictOptions(tile=TILE, overlap=OVERLAP, device="cpu", **options)
    Predictor(load_checkpoint(tiny_checkpoint), cli).predict_file(crop, tmp_path / "cli.tif")
    with rasterio.open(tmp_path / "cli.tif") as src:
        expected, tags = src.read(), src.tags()
    lazy = rioxarray.open_rasterio(crop, chunks={"y": 56}).hprn.reconstruct(
        model=tiny_checkpoint, tile=TILE, overlap=OVERLAP, **options)
    eager = rioxarray.open_rasterio(crop).hprn.reconstruct(model=tiny_checkpoint, tile=TILE, overlap=OVERLAP,
                                                            **options)
    assert lazy.attrs["hprn_white_balance"] == eager.attrs["hprn_white_balance"]
    assert lazy.attrs["hprn_white_balance"].startswith("gray-world: gains")
    assert lazy.attrs["hprn_input_encoding"] == tags["hprn_input_encoding"] == "srgb: given"
    np.testing.assert_array_equal(lazy.values, eager.values)
    np.testing.assert_array_equal(eager.values, expected)  # 200 x 200: the same sample
    with pytest.raises(CheckpointError, match="no input_response"):
        rioxarray.open_rasterio(crop).hprn.reconstruct(model=tiny_checkpoint, colour_consistent=True)


def test_input_encoding_follows_the_cli(crop: Path) -> None:
    from hprn_geo.accessor import input_encoding

    raw = rioxarray.open_rasterio(crop)
    assert input_encoding(raw).name == "srgb"
    assert input_encoding(rioxarray.open_rasterio(crop, mask_and_scale=True)).name == "srgb"
    assert input_encoding((raw / 255).astype(np.float32)).name == "linear"
    assert input_encoding(raw.astype(np.int16).assign_attrs(scale_factor=1e-4)).name == "linear"
    assert input_encoding(raw, "linear").name == "linear"


def test_an_srgb_photo_turns_colour_consistency_off_in_every_door(crop: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    """A card that asks for colour-consistent output: on for linear input, off for an sRGB photo
    (its camera is not the card's), the same through the CLI path and the accessor, lazy or eager."""
    import dataclasses

    from hprn_geo.predict import PredictOptions, Predictor
    from hprn_geo.registry import load_checkpoint, save_checkpoint

    tiny = load_checkpoint(tiny_checkpoint)
    response = np.zeros((3, tiny.card.bands))
    response[[0, 1, 2], [6, 3, 0]] = 1.0
    card = dataclasses.replace(tiny.card, input_response=tuple(map(tuple, response)), colour_consistent=True)
    weights = tmp_path / "consistent.pt"
    save_checkpoint(weights, tiny.model, card)
    for encoding, expected in (("srgb", "false"), ("linear", "true")):
        predictor = Predictor(load_checkpoint(weights), PredictOptions(tile=TILE, overlap=OVERLAP, device="cpu"))
        predictor.predict_file(crop, tmp_path / f"{encoding}.tif", PredictOptions(encoding=encoding))
        with rasterio.open(tmp_path / f"{encoding}.tif") as src:
            assert src.tags()["hprn_colour_consistent"] == expected
        assert predictor.colour_consistent  # the photo's choice held for that file only
        for chunks in (None, {"y": 56}):
            cube = rioxarray.open_rasterio(crop, chunks=chunks).hprn.reconstruct(
                model=weights, tile=TILE, overlap=OVERLAP, encoding=encoding)
            assert cube.attrs["hprn_colour_consistent"] == expected
    forced = rioxarray.open_rasterio(crop).hprn.reconstruct(model=weights, tile=TILE, overlap=OVERLAP, encoding="srgb",
                                                            colour_consistent=True)
    assert forced.attrs["hprn_colour_consistent"] == "true"
