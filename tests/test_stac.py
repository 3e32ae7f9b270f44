"""STAC front door: derived Items with every field, pipes of ItemCollections, clean failures."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
from click.testing import CliRunner, Result
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from hprn_geo import __version__
from hprn_geo.io.rgb import write_rgb
from hprn_geo.registry import ModelCard
from hprn_geo.cli.stac_commands import stac
from hprn_geo.stac import PixelGrid, band_objects, derive_item

pytestmark = pytest.mark.filterwarnings("ignore::hprn_geo.errors.UntrainedModelWarning")

EXTENSIONS = {
    "https://stac-extensions.github.io/eo/v2.0.0/schema.json",
    "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
    "https://stac-extensions.github.io/processing/v1.2.0/schema.json",
}
COG = "image/tiff; application=geotiff; profile=cloud-optimized"
WINDOW = Window(300, 300, 160, 128)  # 128 rows x 160 columns of valid Landsat pixels


def _write_scene(folder: Path, shared_data: Path) -> Path:
    """``folder`` with a 128 x 160 crop of the real RGB scene (CRS and transform kept) and nothing else."""
    folder.mkdir()
    with rasterio.open(shared_data / "geo" / "RGB.byte.tif") as src:
        write_rgb(folder / "crop.tif", src.read(window=WINDOW), src.crs, src.window_transform(WINDOW), nodata=0)
    return folder


@pytest.fixture()
def scene(tmp_path: Path, shared_data: Path) -> Path:
    return _write_scene(tmp_path / "scene", shared_data)


def _item(scene: Path, item_id: str = "landsat-crop", href: str = "./crop.tif") -> pystac.Item:
    """A source Item over the crop, its RGB asset ``visual`` at ``href`` (relative to the scene folder)."""
    with rasterio.open(scene / "crop.tif") as crop:
        west, south, east, north = transform_bounds(crop.crs, "EPSG:4326", *crop.bounds)
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    item = pystac.Item(item_id, {"type": "Polygon", "coordinates": [ring]}, [west, south, east, north],
                       datetime(2021, 6, 1, 15, 30, tzinfo=timezone.utc), {"platform": "landsat-7"})
    item.add_asset("visual", pystac.Asset(href, media_type=pystac.MediaType.GEOTIFF, roles=["visual"]))
    item.add_asset("metadata", pystac.Asset("./crop.xml", media_type=pystac.MediaType.XML, roles=["metadata"]))
    return item


def _save_item(scene: Path) -> Path:
    """The source Item saved as scene/item.json without a self link, asset href relative."""
    path = scene / "item.json"
    path.write_text(json.dumps(_item(scene).to_dict(include_self_link=False)))
    return path


@pytest.fixture()
def item_file(scene: Path) -> Path:
    return _save_item(scene)


def _invoke(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(stac, list(args), input=stdin)


def _error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@dataclass
class Run:
    """One ``hprn-geo stac scene/item.json --asset visual -o out`` and what it wrote."""

    scene: Path
    out: Path
    result: Result
    item: pystac.Item  # the derived Item, read back with pystac
    data: dict  # its JSON


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, shared_data: Path, tiny_checkpoint: Path) -> Run:
    scene = _write_scene(tmp_path_factory.mktemp("stac") / "scene", shared_data)
    out = scene.parent / "out"
    result = _invoke(str(_save_item(scene)), "--asset", "visual", "-o", str(out), "--weights", str(tiny_checkpoint),
                     "-q")
    assert result.exit_code == 0, result.output
    path = out / "landsat-crop-hprn.json"
    return Run(scene, out, result, pystac.Item.from_file(path), json.loads(path.read_text()))


def test_derived_item_keeps_id_geometry_and_time(run: Run) -> None:
    source = pystac.Item.from_file(run.scene / "item.json")
    assert run.item.id == "landsat-crop-hprn"
    assert run.item.geometry == source.geometry and run.item.bbox == source.bbox
    assert run.item.datetime == source.datetime
    assert set(run.data["stac_extensions"]) == EXTENSIONS


def test_derived_asset_is_the_cube_with_bands_in_micrometres(run: Run) -> None:
    asset = run.data["assets"]["reflectance"]
    assert asset["href"] == "./landsat-crop-hprn.tif"  # relative in the file, resolved by pystac
    assert run.item.assets["reflectance"].get_absolute_href() == str(run.out / "landsat-crop-hprn.tif")
    assert asset["type"] == COG and asset["roles"] == ["data"]
    assert asset["data_type"] == "float32" and asset["nodata"] == "nan"
    centres = [band["eo:center_wavelength"] for band in asset["bands"]]
    assert centres == pytest.approx(np.linspace(0.45, 0.8, 8), abs=1e-9)  # the card's 450-800 nm, in micrometres
    assert asset["bands"][0]["name"] == "450 nm"
    assert all("eo:full_width_half_max" not in band for band in asset["bands"])  # the card gives no FWHM
    with rasterio.open(run.out / "landsat-crop-hprn.tif") as cube:
        assert cube.count == 8 and cube.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"


def test_derived_asset_projection_matches_the_cube(run: Run) -> None:
    asset = run.data["assets"]["reflectance"]
    with rasterio.open(run.scene / "crop.tif") as crop, rasterio.open(run.out / "landsat-crop-hprn.tif") as cube:
        assert cube.crs == crop.crs and cube.transform == crop.transform
        assert asset["proj:code"] == "EPSG:32618"
        assert asset["proj:shape"] == [128, 160] == [cube.height, cube.width]
        assert asset["proj:transform"] == pytest.approx(list(cube.transform)[:6])


def test_derived_item_has_processing_fields_and_derived_from(run: Run) -> None:
    properties = run.data["properties"]
    assert properties["processing:software"] == {"hprn-geo": __version__}
    assert properties["processing:level"] == "L4"
    assert "'visual'" in properties["processing:lineage"] and "'tiny8'" in properties["processing:lineage"]
    assert "uint8: divided by 255" in properties["processing:lineage"]
    assert "processing:datetime" in properties
    links = [link for link in run.item.links if link.rel == "derived_from"]
    assert len(links) == 1 and links[0].get_absolute_href() == str(run.scene / "item.json")  # no self link there
    assert links[0].media_type == "application/geo+json"


def test_stdout_is_an_item_collection_of_the_derived_items(run: Run) -> None:
    collection = pystac.ItemCollection.from_dict(json.loads(run.result.stdout))
    assert [item.id for item in collection] == ["landsat-crop-hprn"]
    assert collection.items[0].assets["reflectance"].href == str(run.out / "landsat-crop-hprn.tif")  # absolute


def test_derived_item_validates(run: Run) -> None:
    pytest.importorskip("jsonschema", reason="pystac[validation] (jsonschema) is not installed")
    from pystac.validation import validate_dict
    from pystac.validation.stac_validator import GetSchemaError

    core = copy.deepcopy(run.data)
    core["stac_extensions"] = []  # the core STAC 1.1 schemas ship with pystac: checked offline
    validate_dict(core)
    try:
        run.item.validate()
    except GetSchemaError as exc:
        pytest.skip(f"the extension schemas (eo, projection, processing) must be downloaded: {exc.__cause__}")


def test_run_options_are_those_of_predict() -> None:
    result = CliRunner().invoke(stac, ["--help"])
    for flag in ("--asset", "--format", "--suffix", "--weights", "--rgb-bands", "--scale", "--batch", "--device",
                 "--precision", "--overwrite", "--quiet"):
        assert flag in result.output, flag


def test_band_objects_give_widths_in_micrometres() -> None:
    bands = band_objects(np.array([450.0, 401.13]), np.array([10.0, 12.5]))
    assert bands == [
        {"name": "450 nm", "eo:center_wavelength": 0.45, "eo:full_width_half_max": 0.01},
        {"name": "401.13 nm", "eo:center_wavelength": 0.40113, "eo:full_width_half_max": 0.0125},
    ]


def test_crs_without_a_code_gets_wkt2_and_widths_when_the_card_has_them(scene: Path, shared_data: Path) -> None:
    with rasterio.open(shared_data / "geo" / "rgb1.tif") as src:  # UTM 18N on an unnamed datum: no EPSG code
        grid = PixelGrid(src.crs, src.transform, src.height, src.width)
    card = ModelCard("card", (450.0, 550.0), "compact", "test", fwhm=(20.0, 25.0))
    item = derive_item(_item(scene), "visual", scene / "cube.tif", card, grid)
    asset = item.assets["reflectance"].to_dict()
    assert asset["proj:code"] is None and asset["proj:wkt2"].startswith("PROJCRS[")
    assert asset["proj:shape"] == [400, 400]
    assert [band["eo:full_width_half_max"] for band in asset["bands"]] == [0.02, 0.025]


def test_zarr_format(item_file: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    result = _invoke(str(item_file), "-o", str(tmp_path / "out"), "--format", "zarr",
                     "--weights", str(tiny_checkpoint), "-q")
    assert result.exit_code == 0, result.output
    asset = json.loads(result.stdout)["features"][0]["assets"]["reflectance"]
    assert asset["type"] == "application/vnd+zarr"
    assert Path(asset["href"]).is_dir() and asset["href"].endswith("landsat-crop-hprn.zarr")


@pytest.mark.slow
def test_item_collection_through_a_pipe(scene: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    """cat items | hprn-geo stac - | a STAC reader: relative hrefs resolve against the current folder."""
    with_self = _item(scene, "with-self")
    with_self.set_self_href(str(scene / "with-self.json"))
    without_self = _item(scene, "without-self")
    collection = pystac.ItemCollection([with_self, without_self])
    (scene / "items.json").write_text(json.dumps(collection.to_dict()))
    out = tmp_path / "out"
    reader = ("import json, sys, pystac; c = pystac.ItemCollection.from_dict(json.load(sys.stdin)); "
              "print(*(f\"{i.id} {i.assets['reflectance'].href}\" for i in c), sep='\\n')")
    producer = subprocess.Popen(["cat", "items.json"], cwd=scene, stdout=subprocess.PIPE)
    hprn = subprocess.Popen([sys.executable, "-c", "from hprn_geo.cli.stac_commands import stac; stac()", "-", "-o", str(out),
                             "--weights", str(tiny_checkpoint), "-q"],
                            cwd=scene, stdin=producer.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    consumer = subprocess.run([sys.executable, "-c", reader], stdin=hprn.stdout, capture_output=True, text=True)
    producer.stdout.close()
    hprn.stdout.close()
    assert hprn.wait() == 0, hprn.stderr.read().decode()
    assert consumer.returncode == 0, consumer.stderr
    lines = dict(line.split(" ") for line in consumer.stdout.strip().splitlines())
    assert lines == {"with-self-hprn": str(out / "with-self-hprn.tif"),
                     "without-self-hprn": str(out / "without-self-hprn.tif")}
    derived_from = {pystac.Item.from_file(out / f"{name}-hprn.json").get_single_link("derived_from").href
                    for name in ("with-self", "without-self")}
    assert derived_from == {str(scene / "with-self.json"), str(out / "without-self-hprn.source.json")}
    assert pystac.Item.from_file(out / "without-self-hprn.source.json").id == "without-self"


def test_stac_task_payload_keeps_its_process_block(scene: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    item = _item(scene, href=str(scene / "crop.tif"))  # an absolute href
    process = {"upload_options": {"path_template": "/data/${id}"}, "tasks": {"hprn-geo": {}}}
    payload = {"type": "FeatureCollection", "id": "job-1", "process": process,
               "features": [item.to_dict(include_self_link=False)]}
    result = _invoke("-", "-o", str(tmp_path / "out"), "--weights", str(tiny_checkpoint), "-q",
                     stdin=json.dumps(payload))
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    assert output["process"] == process and output["id"] == "job-1"
    assert [feature["id"] for feature in output["features"]] == ["landsat-crop-hprn"]


def test_missing_asset(item_file: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    line = _error_line(_invoke(str(item_file), "--asset", "rendered_preview", "-o", str(tmp_path / "out"),
                               "--weights", str(tiny_checkpoint)))
    assert "'landsat-crop' has no asset 'rendered_preview'" in line and "visual, metadata" in line
    assert not (tmp_path / "out").exists()


def test_asset_that_is_not_a_raster(item_file: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    line = _error_line(_invoke(str(item_file), "--asset", "metadata", "-o", str(tmp_path / "out"),
                               "--weights", str(tiny_checkpoint)))
    assert "not a raster" in line and "application/xml" in line
    assert not (tmp_path / "out").exists()


def test_raster_asset_gdal_cannot_read(scene: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    (scene / "broken.tif").write_bytes(b"II*\x00" + bytes(range(256)) * 4)
    item_file = scene / "broken.json"
    item_file.write_text(json.dumps(_item(scene, "broken", "./broken.tif").to_dict(include_self_link=False)))
    line = _error_line(_invoke(str(item_file), "-o", str(tmp_path / "out"), "--weights", str(tiny_checkpoint)))
    assert "'broken'" in line and "broken.tif" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("source", ["missing.json", "http://127.0.0.1:9/item.json"])
def test_item_not_found(source: str, tiny_checkpoint: Path, tmp_path: Path) -> None:
    line = _error_line(_invoke(source, "-o", str(tmp_path / "out"), "--weights", str(tiny_checkpoint)))
    assert "cannot read STAC document" in line and source.split("/")[-1] in line
    assert not (tmp_path / "out").exists()


def test_not_a_stac_document(tmp_path: Path, tiny_checkpoint: Path) -> None:
    line = _error_line(_invoke("-", "-o", str(tmp_path / "out"), "--weights", str(tiny_checkpoint),
                               stdin='{"type": "Catalog"}'))
    assert "not a STAC Item, ItemCollection or stac-task payload" in line


def test_one_bad_item_stops_the_run_before_anything_is_written(scene: Path, tiny_checkpoint: Path,
                                                               tmp_path: Path) -> None:
    good, bad = (_item(scene, name, str(scene / "crop.tif")) for name in ("good", "bad"))
    del bad.assets["visual"]
    collection = pystac.ItemCollection([good, bad])
    line = _error_line(_invoke("-", "-o", str(tmp_path / "out"), "--weights", str(tiny_checkpoint),
                               stdin=json.dumps(collection.to_dict())))
    assert "'bad' has no asset 'visual'" in line
    assert not (tmp_path / "out").exists()


def test_existing_outputs_need_overwrite(run: Run, tiny_checkpoint: Path) -> None:
    cube = run.out / "landsat-crop-hprn.tif"
    before = sorted(run.out.iterdir()), cube.read_bytes()
    line = _error_line(_invoke(str(run.scene / "item.json"), "-o", str(run.out), "--weights", str(tiny_checkpoint)))
    assert "landsat-crop-hprn" in line and "--overwrite" in line
    assert (sorted(run.out.iterdir()), cube.read_bytes()) == before


# -- satellite Items: Sentinel-2 L2A as three single-band COGs ---------------------------------------------

S2_VARIANTS = {  # name: (DN offset written, Item properties, the assets' raster:bands)
    "raster-bands": (1000, {}, [{"scale": 1e-4, "offset": -0.1, "nodata": 0, "data_type": "uint16"}]),
    "baseline-05.10": (1000, {"s2:processing_baseline": "05.10"}, None),
    "baseline-02.14": (0, {"s2:processing_baseline": "02.14"}, None),
    "scale-and-baseline": (1000, {"s2:processing_baseline": "04.00"}, [{"scale": 1e-4, "nodata": 0}]),
}


@pytest.fixture(scope="module")
def s2_scene(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> tuple[Path, np.ndarray, Path]:
    """(folder, (3, 50, 50) B04/B03/B02 reflectance of a real cube, a checkpoint taking Sentinel-2 input)."""
    from sensor_inputs import sensor_checkpoint, sentinel2_reflectance

    folder = tmp_path_factory.mktemp("s2")
    return folder, sentinel2_reflectance(shared_data), sensor_checkpoint(folder / "weights")


def _s2_item(folder: Path, reflectance: np.ndarray, variant: str) -> Path:
    """A Sentinel-2 L2A Item (platform sentinel-2b) with B04, B03, B02 as uint16 COGs and a TCI ``visual``."""
    from sensor_inputs import TRANSFORM, write_raster

    dn_offset, properties, raster_bands = S2_VARIANTS[variant]
    folder.mkdir()
    item = pystac.Item(f"S2B_{variant}", {"type": "Point", "coordinates": [-122.05, 37.41]},
                       [-122.05, 37.41, -122.05, 37.41], datetime(2023, 7, 1, 19, 0, tzinfo=timezone.utc),
                       {"platform": "sentinel-2b", **properties})
    for key, common, band in (("B04", "red", reflectance[0]), ("B03", "green", reflectance[1]),
                              ("B02", "blue", reflectance[2])):
        write_raster(folder / f"{key}.tif", (np.round(band * 10000) + dn_offset).astype(np.uint16)[None], cog=True,
                     nodata=0)
        fields = {"eo:bands": [{"name": key, "common_name": common}]}
        fields.update({"raster:bands": raster_bands} if raster_bands else {})
        item.add_asset(key, pystac.Asset(f"./{key}.tif", media_type=COG, roles=["data"], extra_fields=fields))
    tci = np.clip(np.round(reflectance * 1275), 0, 255).astype(np.uint8)
    write_raster(folder / "TCI.tif", tci, cog=True)
    item.add_asset("visual", pystac.Asset("./TCI.tif", media_type=COG, roles=["visual"]))
    assert TRANSFORM  # the COGs share the test grid
    path = folder / "item.json"
    path.write_text(json.dumps(item.to_dict(include_self_link=False)))
    return path


@pytest.fixture(scope="module")
def s2_reference(s2_scene: tuple[Path, np.ndarray, Path]) -> np.ndarray:
    """The cube of the same reflectance (as the uint16 products quantise it) handed over as a float32 GeoTIFF."""
    from sensor_inputs import write_raster

    folder, reflectance, weights = s2_scene
    quantised = (np.round(reflectance * 10000) / 10000).astype(np.float32)
    write_raster(folder / "reflectance.tif", quantised)
    item = pystac.Item("float-reflectance", {"type": "Point", "coordinates": [-122.05, 37.41]},
                       [-122.05, 37.41, -122.05, 37.41], datetime(2023, 7, 1, 19, 0, tzinfo=timezone.utc), {})
    item.add_asset("visual", pystac.Asset("./reflectance.tif", media_type=pystac.MediaType.GEOTIFF))
    (folder / "float.json").write_text(json.dumps(item.to_dict(include_self_link=False)))
    result = _invoke(str(folder / "float.json"), "-o", str(folder / "float-out"), "--weights", str(weights), "-q")
    assert result.exit_code == 0, result.output
    with rasterio.open(folder / "float-out" / "float-reflectance-hprn.tif") as dataset:
        return dataset.read()


@pytest.mark.parametrize("variant", list(S2_VARIANTS))
def test_sentinel2_l2a_band_cogs_give_the_cube_of_their_reflectance(variant: str, s2_scene: tuple,
                                                                    s2_reference: np.ndarray) -> None:
    """B04, B03, B02 as separate uint16 COGs, scaled by the Item's raster:bands or by its processing baseline,
    give the cube of the float32 reflectance; the sensor comes from the platform, and the command says so."""
    folder, reflectance, weights = s2_scene
    item = _s2_item(folder / variant, reflectance, variant)
    assets = "red,green,blue" if variant == "raster-bands" else "B04,B03,B02"  # common names or keys
    result = _invoke(str(item), "--asset", assets, "-o", str(folder / variant / "out"), "--weights", str(weights))
    assert result.exit_code == 0, result.output
    assert f"item 'S2B_{variant}': input sensor sentinel2 (from the Item's platform 'sentinel-2b')" in result.stderr
    derived = folder / variant / "out" / f"S2B_{variant}-hprn"
    with rasterio.open(f"{derived}.tif") as dataset:
        cube = dataset.read()
    np.testing.assert_allclose(cube, s2_reference, atol=2e-4 * np.abs(s2_reference).max())
    lineage = json.loads(Path(f"{derived}.json").read_text())["properties"]["processing:lineage"]
    assert "from the RGB asset 'B04,B03,B02'" in lineage
    assert "input sensor: sentinel2 (from the Item's platform 'sentinel-2b')" in lineage
    said = {"raster-bands": "raster:bands scale/offset of B04, B03, B02",
            "baseline-05.10": "s2:processing_baseline 05.10 (>= 04.00: offset -1000 DN) of B04, B03, B02",
            "baseline-02.14": "s2:processing_baseline 02.14 (< 04.00: no offset) of B04, B03, B02",
            "scale-and-baseline": "raster:bands scale/offset; s2:processing_baseline 04.00 (>= 04.00: offset -1000 DN)"
                                  " of B04, B03, B02"}[variant]
    assert f"(from the Item's {said})" in lineage


def test_sentinel2_tci_is_refused_naming_the_band_assets(s2_scene: tuple, tmp_path: Path) -> None:
    _, reflectance, weights = s2_scene
    item = _s2_item(tmp_path / "tci", reflectance, "raster-bands")
    line = _error_line(_invoke(str(item), "-o", str(tmp_path / "out"), "--weights", str(weights)))
    assert line == ("Error: item 'S2B_raster-bands': asset 'visual' is Sentinel-2's true-colour image (8-bit, "
                    "reflectance x 1275 clipped at 255: anything brighter than 0.2 saturates), not reflectance; "
                    "pass --asset B04,B03,B02")
    assert not (tmp_path / "out").exists()


def test_a_model_that_does_not_take_the_items_sensor_is_refused(s2_scene: tuple, tmp_path: Path) -> None:
    _, reflectance, weights = s2_scene
    item = _s2_item(tmp_path / "s2", reflectance, "baseline-05.10")
    line = _error_line(_invoke(str(item), "--asset", "B04,B03,B02", "-o", str(tmp_path / "out"), "--model", "vnir31"))
    assert line.startswith("Error: model 'vnir31' takes camera:ntire2020_cie1964, not sentinel2 input;")
    line = _error_line(_invoke(str(item), "--asset", "B04,B03,nir", "-o", str(tmp_path / "out"), "--weights",
                               str(weights)))
    assert "has no asset 'nir' nor a single-band asset whose band is called so" in line


def test_the_items_sensor_picks_the_bundled_model_that_takes_it(s2_scene: tuple, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from sensor_inputs import sensor_checkpoint, weights_folder

    from hprn_geo import registry

    _, reflectance, _ = s2_scene
    bundled = sensor_checkpoint(tmp_path / "made", name="sentinel2")
    monkeypatch.setattr(registry, "WEIGHTS", weights_folder(tmp_path / "weights", {
        "sentinel2": bundled, "vnir31": registry.WEIGHTS / "vnir31.pt"}))
    item = _s2_item(tmp_path / "s2", reflectance, "raster-bands")
    result = _invoke(str(item), "--asset", "B04,B03,B02", "-o", str(tmp_path / "out"), "-q")
    assert result.exit_code == 0, result.output
    assert "with model 'sentinel2' (8 bands, UNTRAINED)" in json.loads(
        (tmp_path / "out" / "S2B_raster-bands-hprn.json").read_text())["properties"]["processing:lineage"]


def test_a_model_that_does_not_take_one_items_sensor_is_refused_before_anything_is_written(
        s2_scene: tuple, tmp_path: Path) -> None:
    """Items of two platforms: no one sensor picks the model, so each Item's sensor is checked against the model
    before the first cube is written (the Sentinel-2 Item first, the Landsat one refused)."""
    _, reflectance, weights = s2_scene
    s2 = json.loads(_s2_item(tmp_path / "mixed", reflectance, "raster-bands").read_text())
    landsat = {**s2, "id": "LC08_mixed", "properties": {**s2["properties"], "platform": "landsat-8"}}
    collection = tmp_path / "mixed" / "collection.json"
    collection.write_text(json.dumps({"type": "FeatureCollection", "features": [s2, landsat]}))
    line = _error_line(_invoke(str(collection), "--asset", "red,green,blue", "-o", str(tmp_path / "out"),
                               "--weights", str(weights), "-q"))
    assert not (tmp_path / "out").exists()
    assert line.startswith("Error: item 'LC08_mixed': model 'tiny_s2' takes camera:sentinel2, not landsat input;")


def test_a_declared_scale_that_is_not_a_number_is_one_line(s2_scene: tuple, tmp_path: Path) -> None:
    _, reflectance, weights = s2_scene
    path = _s2_item(tmp_path / "bad", reflectance, "raster-bands")
    item = json.loads(path.read_text())
    item["assets"]["B04"]["raster:bands"] = [{"scale": "0.0001x", "offset": -0.1}]
    path.write_text(json.dumps(item))
    line = _error_line(_invoke(str(path), "--asset", "B04,B03,B02", "-o", str(tmp_path / "out"),
                               "--weights", str(weights)))
    assert line == "Error: item 'S2B_raster-bands': asset 'B04' declares a scale of '0.0001x', not a number"
