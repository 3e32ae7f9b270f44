"""Remote inputs: ``predict`` and ``stac`` read a COG and a STAC Item over HTTP (GDAL /vsicurl/), with retries.

The server (tests/range_server.py) is a real HTTP server on 127.0.0.1 answering
Range requests; it can fail every n-th request, or all of them after a point.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner, Result
from range_server import ServedFolder
from rasterio.shutil import copy as copy_raster
from reference_crop import OVERLAP, TILE, cli_cube

from hprn_geo.cli import main
from hprn_geo.errors import OptionError
from hprn_geo.io.remote import MAX_RETRY, gdal_name

pytestmark = pytest.mark.filterwarnings("ignore::hprn_geo.errors.UntrainedModelWarning")



@pytest.fixture(scope="module")
def cog(crop: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real crop as a Cloud Optimized GeoTIFF: 64 x 64 tiles and overviews, so a run reads it bit by bit."""
    path = tmp_path_factory.mktemp("cog") / "crop.tif"
    copy_raster(crop, path, driver="COG", blocksize=64, overview_resampling="nearest")
    return path


@pytest.fixture(scope="module")
def local_cube(cog: Path, tiny_checkpoint: Path) -> np.ndarray:
    """What ``predict`` makes of the COG read from disk: (8, 200, 200)."""
    return cli_cube(tiny_checkpoint, cog, cog.with_name("local.tif"))


@pytest.fixture
def root(tmp_path: Path, cog: Path, stac_item) -> Path:
    """A folder to serve: the COG and an Item of it."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "crop.tif").write_bytes(cog.read_bytes())
    (root / "item.json").write_text(json.dumps(stac_item("crop.tif")))
    return root


@pytest.fixture
def www(root: Path):
    """A server over ``root`` (on a new port: GDAL's cache of other tests' URLs is not used)."""
    with ServedFolder(root) as served:
        yield served


def _predict(src: str, dst: Path, checkpoint: Path) -> Result:
    return CliRunner().invoke(main, ["predict", src, "-o", str(dst), "--weights", str(checkpoint), "--tile", str(TILE),
                                     "--overlap", str(OVERLAP), "-q"])


def _stac(src: str, out: Path, checkpoint: Path) -> Result:
    return CliRunner().invoke(main, ["stac", src, "-o", str(out), "--weights", str(checkpoint), "--tile", str(TILE),
                                     "--overlap", str(OVERLAP), "-q"])


def _run(door: str, www: ServedFolder, out: Path, checkpoint: Path) -> tuple[Result, Path]:
    """Run ``door`` on the served COG (``predict``) or Item (``stac``) into the new folder ``out``;
    the result and where the cube goes."""
    out.mkdir()
    if door == "predict":
        return _predict(www.url("crop.tif"), out / "cube.tif", checkpoint), out / "cube.tif"
    return _stac(www.url("item.json"), out, checkpoint), out / "crop-hprn.tif"


def _assert_same_cube(path: Path, cog: Path, expected: np.ndarray) -> None:
    with rasterio.open(path) as cube, rasterio.open(cog) as src:
        assert (cube.crs, cube.transform, cube.shape) == (src.crs, src.transform, src.shape)
        np.testing.assert_array_equal(cube.read(), expected)


def test_urls_are_opened_through_vsicurl_with_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GDAL_HTTP_MAX_RETRY", raising=False)
    monkeypatch.delenv("GDAL_HTTP_RETRY_DELAY", raising=False)
    assert gdal_name("scene.tif") == "scene.tif"
    ours = f"/vsicurl?max_retry={MAX_RETRY}&retry_delay=1&url=https%3A%2F%2Fh.example%2Fa%20b.tif"
    assert gdal_name("https://h.example/a b.tif") == gdal_name("/vsicurl/https://h.example/a b.tif") == ours
    monkeypatch.setenv("GDAL_HTTP_MAX_RETRY", "7")
    monkeypatch.setenv("GDAL_HTTP_RETRY_DELAY", "0.25")
    assert gdal_name("http://h.example/a.tif") == "/vsicurl?max_retry=7&retry_delay=0.25&url=http%3A%2F%2Fh.example%2Fa.tif"
    monkeypatch.setenv("GDAL_HTTP_MAX_RETRY", "lots")
    with pytest.raises(OptionError, match="GDAL_HTTP_MAX_RETRY='lots' is not a number"):
        gdal_name("http://h.example/a.tif")


@pytest.mark.parametrize("door", ["predict", "stac"])
def test_a_remote_input_gives_the_local_files_cube(door: str, www: ServedFolder, tmp_path: Path, cog: Path,
                                                   local_cube: np.ndarray, tiny_checkpoint: Path) -> None:
    result, cube = _run(door, www, tmp_path / "out", tiny_checkpoint)
    assert result.exit_code == 0, result.output
    _assert_same_cube(cube, cog, local_cube)
    assert www.stats()["requests"] > 0


@pytest.mark.parametrize("door", ["predict", "stac"])
def test_a_server_failing_every_other_request_is_retried(door: str, www: ServedFolder, tmp_path: Path, cog: Path,
                                                         local_cube: np.ndarray, tiny_checkpoint: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GDAL_HTTP_MAX_RETRY", raising=False)  # our default number of retries
    monkeypatch.setenv("GDAL_HTTP_RETRY_DELAY", "0.05")  # a fast test
    www.set(fail_every=2)
    result, cube = _run(door, www, tmp_path / "out", tiny_checkpoint)
    assert result.exit_code == 0, result.output
    assert www.stats()["failures"] >= 3
    _assert_same_cube(cube, cog, local_cube)


@pytest.mark.parametrize("door", ["predict", "stac"])
@pytest.mark.parametrize("when", ["at once", "at the last request"])
def test_a_server_that_goes_down_fails_with_one_line_and_no_output(
    door: str, when: str, root: Path, tmp_path: Path, tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GDAL_HTTP_MAX_RETRY", "1")
    monkeypatch.setenv("GDAL_HTTP_RETRY_DELAY", "0.05")
    down_after = 0
    if when != "at once":
        with ServedFolder(root) as www:  # count the requests of a whole run, then fail the last one
            assert _run(door, www, tmp_path / "counted", tiny_checkpoint)[0].exit_code == 0
            down_after = www.stats()["requests"] - 1
    with ServedFolder(root) as www:
        www.set(down_after=down_after)
        result, _ = _run(door, www, tmp_path / "out", tiny_checkpoint)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if not line.startswith("hprn-geo: warning")]
    assert len(lines) == 1 and lines[0].startswith("Error: cannot ") and "vsicurl?" not in lines[0], result.output
    if when != "at once":
        assert " at rows " in lines[0]  # it failed mid-run, with the cube's partial open
    assert list((tmp_path / "out").iterdir()) == []
