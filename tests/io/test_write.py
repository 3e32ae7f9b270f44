"""open_writer: format choice, refusals, atomicity, abort and resume (hprn_geo.io.write)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import textwrap
import time

import numpy as np
import pytest
import rasterio
import xarray as xr

from hprn_geo.errors import OutputError
from hprn_geo.io import CubeSpec, open_writer

T = rasterio.Affine(30.0, 0, 500000, 0, -30.0, 4000000)


def _spec(height=600, width=50, **kw) -> CubeSpec:
    return CubeSpec(height, width, [450.0, 550.0, 650.0], "EPSG:32618", T, **kw)


def _read(path) -> np.ndarray:
    if str(path).endswith(".zarr"):
        with xr.open_dataset(path, engine="zarr", mask_and_scale=False) as ds:
            return ds.reflectance.values
    with rasterio.open(path) as ds:
        return ds.read()


# -- refusals before anything is written ---------------------------------------------

@pytest.mark.parametrize("name", ["cube.nc", "cube.tif.gz", "cube"])
def test_unsupported_suffix(tmp_path, name):
    with pytest.raises(OutputError, match=r"use \.tif, \.tiff, \.zarr"):
        open_writer(tmp_path / name, _spec())
    assert list(tmp_path.iterdir()) == []


def test_cog_needs_a_tiff_suffix(tmp_path):
    with pytest.raises(OutputError, match="COG"):
        open_writer(tmp_path / "cube.zarr", _spec(), cog=True)


@pytest.mark.parametrize("name", ["cube.tif", "cube.zarr"])
def test_existing_target_needs_overwrite(tmp_path, name):
    target = tmp_path / name
    target.write_text("precious")
    with pytest.raises(OutputError) as info:
        open_writer(target, _spec())
    assert str(info.value) == f"{target} exists; pass --overwrite to replace it"
    assert target.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_parent_is_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match="is not a directory") as info:
        open_writer(tmp_path / "afile" / "cube.tif", _spec())
    assert "\n" not in str(info.value)


def test_parent_missing(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        open_writer(tmp_path / "no" / "such" / "cube.zarr", _spec())


# -- atomicity -----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["cube.tif", "cube.zarr"])
def test_existing_target_untouched_until_commit(tmp_path, name, make_cube, write_strips):
    target = tmp_path / name
    target.write_text("old")
    cube = make_cube(600, 50, bands=3)
    writer = open_writer(target, _spec(), overwrite=True)
    write_strips(writer, cube, rows=250)
    assert target.read_text() == "old"
    writer.commit()
    np.testing.assert_array_equal(_read(target), cube)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@pytest.mark.parametrize("name", ["cube.tif", "cube.zarr"])
def test_exception_aborts_and_removes_temporaries(tmp_path, name, make_cube):
    target = tmp_path / name
    target.write_text("old")
    cube = make_cube(600, 50, bands=3)
    with pytest.raises(RuntimeError), open_writer(target, _spec(), overwrite=True) as writer:
        writer.write_strip(0, 0, cube[:, :550])
        assert writer.partial.exists()
        raise RuntimeError("model crashed")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_abort_of_a_new_target_leaves_nothing(tmp_path, make_cube):
    writer = open_writer(tmp_path / "cube.tif", _spec(), cog=True)
    writer.write_strip(0, 0, make_cube(600, 50, bands=3))
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_keyboard_interrupt_keeps_partial_for_resume(tmp_path, make_cube, write_strips):
    target = tmp_path / "cube.tif"
    cube = make_cube(1100, 50, bands=3)
    spec = _spec(1100)
    with pytest.raises(KeyboardInterrupt), open_writer(target, spec) as writer:
        write_strips(writer, cube[:, :700], rows=100)  # strips 0-6: block 0 (rows 0-511) done
        raise KeyboardInterrupt
    assert not target.exists()
    journal = json.loads((tmp_path / "cube.tif.journal.json").read_text())
    assert sorted(map(int, journal["strips"])) == [0, 1, 2, 3, 4]
    writer = open_writer(target, spec, resume=True)
    assert writer.done_strips() == {0, 1, 2, 3, 4}
    for i in range(5, 11):
        writer.write_strip(i, i * 100, cube[:, i * 100:(i + 1) * 100])
    writer.commit()
    np.testing.assert_array_equal(_read(target), cube)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.tif"]


def test_resume_with_a_different_spec_is_refused(tmp_path, make_cube):
    target = tmp_path / "cube.zarr"
    writer = open_writer(target, _spec())
    writer.write_strip(0, 0, make_cube(600, 50, bands=3)[:, :600])
    writer.abort(keep_partial=True)
    other = CubeSpec(600, 50, [450.0, 550.0, 660.0], "EPSG:32618", T)
    with pytest.raises(OutputError, match="different wavelengths"):
        open_writer(target, other, resume=True)
    with pytest.raises(OutputError, match="different crs"):
        open_writer(target, CubeSpec(600, 50, [450.0, 550.0, 650.0], "EPSG:32619", T), resume=True)
    assert open_writer(target, _spec(), resume=True).done_strips() == {0}


def test_resume_without_partial_starts_fresh_and_stale_partials_are_dropped(tmp_path, make_cube):
    target = tmp_path / "cube.tif"
    writer = open_writer(target, _spec(), resume=True)
    assert writer.done_strips() == set()
    writer.write_strip(0, 0, make_cube(600, 50, bands=3))
    writer.abort(keep_partial=True)
    fresh = open_writer(target, _spec())  # no resume: the old partial is discarded
    assert fresh.done_strips() == set()
    fresh.abort()
    assert list(tmp_path.iterdir()) == []


def test_corrupt_journal_is_reported(tmp_path, make_cube):
    target = tmp_path / "cube.tif"
    writer = open_writer(target, _spec())
    writer.write_strip(0, 0, make_cube(600, 50, bands=3))
    writer.abort(keep_partial=True)
    (tmp_path / "cube.tif.journal.json").write_text("{not json")
    with pytest.raises(OutputError, match="journal cube.tif.journal.json is unreadable"):
        open_writer(target, _spec(), resume=True)


def test_zarr_overwrite_replaces_a_directory(tmp_path, make_cube, write_strips):
    target = tmp_path / "cube.zarr"
    first, second = make_cube(600, 50, bands=3, seed=1), make_cube(600, 50, bands=3, seed=2)
    for cube in (first, second):
        with open_writer(target, _spec(), overwrite=True) as writer:
            write_strips(writer, cube, rows=600)
    np.testing.assert_array_equal(_read(target), second)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.zarr"]


# -- a real SIGKILL, then resume ------------------------------------------------------

CHILD = textwrap.dedent('''
    import sys, time
    import numpy as np
    from affine import Affine
    from hprn_geo.io import CubeSpec, open_writer

    H, W, B, ROWS = 1100, 300, 3, 100
    N = -(-H // ROWS)

    def make_spec(dtype):
        return CubeSpec(H, W, np.array([450.0, 550.0, 650.0]), "EPSG:32618",
                        Affine(30.0, 0, 500000, 0, -30.0, 4000000), dtype=dtype, scale=10000)

    def strip(i):
        rows = min(ROWS, H - i * ROWS)
        a = np.random.default_rng(i).random((B, rows, W), dtype=np.float32)
        a[:, ::7, ::5] = np.nan
        return a

    if __name__ == "__main__":
        target, dtype, cog, pause = sys.argv[1], sys.argv[2], sys.argv[3] == "1", float(sys.argv[4])
        writer = open_writer(target, make_spec(dtype), cog=cog, overwrite=True)
        print("READY", flush=True)
        for i in range(N):
            writer.write_strip(i, i * ROWS, strip(i))
            time.sleep(pause)
        writer.commit()
''')


def _child_namespace() -> dict:
    ns: dict = {"__name__": "child"}
    exec(CHILD, ns)  # the same strips and spec as the child process
    return ns


def _finish(target, ns, dtype, cog, resume):
    writer = open_writer(target, ns["make_spec"](dtype), cog=cog, overwrite=True, resume=resume)
    done = writer.done_strips()
    for i in range(ns["N"]):
        if i not in done:
            writer.write_strip(i, i * ns["ROWS"], ns["strip"](i))
    writer.commit()
    return done


def _spawn(child_python, script, target, dtype, cog, pause):
    python, env = child_python
    return subprocess.Popen([python, str(script), str(target), dtype, "1" if cog else "0", str(pause)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _journaled(target) -> int:
    try:
        return len(json.loads((target.parent / (target.name + ".journal.json")).read_text())["strips"])
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


@pytest.mark.slow
@pytest.mark.parametrize("name, dtype, cog", [("cube.tif", "float32", False), ("cube.tif", "uint16", True),
                                              ("cube.zarr", "float32", False)])
def test_sigkill_then_resume_equals_uninterrupted(tmp_path, child_python, name, dtype, cog):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    ns = _child_namespace()
    reference = tmp_path / ("ref_" + name)
    _finish(reference, ns, dtype, cog, resume=False)

    target = tmp_path / name
    proc = _spawn(child_python, script, target, dtype, cog, pause=0.3)
    deadline = time.monotonic() + 60
    while _journaled(target) < 1:
        assert proc.poll() is None, f"child exited early: {proc.communicate()[1][-2000:]}"
        assert time.monotonic() < deadline, "no strip was journaled within 60 s"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert not target.exists(), "a killed run must not leave a finished-looking target"

    done = _finish(target, ns, dtype, cog, resume=True)
    assert 1 <= len(done) < ns["N"]
    np.testing.assert_array_equal(_read(target), _read(reference))
    assert not (tmp_path / (name + ".partial")).exists()
    assert not (tmp_path / (name + ".journal.json")).exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cube.tif", "cube.zarr"])
def test_sigkill_at_random_moments(tmp_path, child_python, name):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    ns = _child_namespace()
    reference = tmp_path / ("ref_" + name)
    _finish(reference, ns, "float32", False, resume=False)
    expected = _read(reference)
    rng = np.random.default_rng(7)
    for trial in range(3):
        target = tmp_path / f"t{trial}_{name}"
        proc = _spawn(child_python, script, target, "float32", False, pause=0.01)
        proc.stdout.readline()  # READY: the partial exists
        time.sleep(rng.uniform(0.0, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        _finish(target, ns, "float32", False, resume=True)
        np.testing.assert_array_equal(_read(target), expected)


# -- a real write failure (file size limit), target untouched ---------------------------

FULL = textwrap.dedent('''
    import resource, signal, sys
    import numpy as np
    from affine import Affine
    from hprn_geo.errors import OutputError
    from hprn_geo.io import CubeSpec, open_writer

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
    spec = CubeSpec(700, 600, np.arange(400.0, 700.0, 10.0), "EPSG:32618", Affine(30.0, 0, 0, 0, -30.0, 0))
    try:
        with open_writer(sys.argv[1], spec, overwrite=True) as writer:
            for i in range(7):
                writer.write_strip(i, i * 100, np.random.default_rng(i).random((30, 100, 600), dtype=np.float32))
    except OutputError as e:
        print("OutputError:", e)
''')


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cube.tif", "cube.zarr"])
def test_write_failure_is_a_one_line_output_error(tmp_path, child_python, name):
    if not hasattr(signal, "SIGXFSZ"):
        pytest.skip("needs RLIMIT_FSIZE / SIGXFSZ (POSIX)")
    target = tmp_path / name
    target.write_text("old")
    script = tmp_path / "full.py"
    script.write_text(FULL)
    python, env = child_python
    result = subprocess.run([python, str(script), str(target)], check=False, env=env, capture_output=True, text=True, timeout=120)
    lines = [line for line in result.stdout.splitlines() if line.startswith("OutputError:")]
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(lines) == 1 and str(target) in lines[0], result.stdout
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, "full.py"])


def test_io_does_not_import_torch(child_python):
    python, env = child_python
    code = "import sys, hprn_geo.io; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([python, "-c", code], env=env, check=True, timeout=120)


# -- windows: block columns top to bottom, then resume ------------------------------------

def _block_column_windows(height: int, width: int, cols: int, rows: int) -> list[tuple[int, int, int, int]]:
    """``(row_off, col_off, rows, cols)`` of a scene cut into block columns, each top to bottom."""
    return [(r, c, min(rows, height - r), min(cols, width - c))
            for c in range(0, width, cols) for r in range(0, height, rows)]


@pytest.mark.parametrize("name", ["cube.tif", "cube.zarr"])
def test_windows_written_by_block_columns_hold_only_their_blocks(rgb_byte, tmp_path, make_cube, name):
    with rasterio.open(rgb_byte) as scene:  # 718 x 791, EPSG:32618
        spec = CubeSpec(scene.height, scene.width, [450.0, 550.0, 650.0], scene.crs, scene.transform)
    cube = make_cube(spec.height, spec.width, bands=3)
    target = tmp_path / name
    with open_writer(target, spec) as writer:
        assert (writer.block_rows, writer.block_cols) == (512, 512)
        for r, c, rows, cols in _block_column_windows(spec.height, spec.width, 512, 200):
            writer.write_window(r, c, cube[:, r:r + rows, c:c + cols])
            # never more than the blocks of this block column: two 512 x 512 blocks
            assert sum(buf[0].size for buf, _ in writer._pending.values()) <= 2 * 512 * 512
            bottom_block_ends = min(512 * ((r + rows - 1) // 512 + 1), spec.height)
            assert writer.written(r, c, rows, cols) == (bottom_block_ends <= r + rows)
    np.testing.assert_array_equal(_read(target), cube)
    if name.endswith(".tif"):
        with rasterio.open(target) as ds:
            assert (ds.crs, ds.transform, ds.block_shapes[0]) == (spec.crs, spec.transform, (512, 512))


@pytest.mark.parametrize("name", ["cube.tif", "cube.zarr"])
def test_resume_skips_the_blocks_of_windows_already_written(tmp_path, make_cube, name):
    spec = _spec(height=700, width=1100)
    cube = make_cube(700, 1100, bands=3)
    target = tmp_path / name
    windows = _block_column_windows(700, 1100, 512, 350)
    with pytest.raises(KeyboardInterrupt), open_writer(target, spec) as writer:
        for r, c, rows, cols in windows[:3]:  # block column 0, then the top of block column 1
            writer.write_window(r, c, cube[:, r:r + rows, c:c + cols])
        raise KeyboardInterrupt
    writer = open_writer(target, spec, resume=True)
    assert [writer.written(*w) for w in windows] == [True, True, False, False, False, False]
    for r, c, rows, cols in windows:
        if not writer.written(r, c, rows, cols):
            writer.write_window(r, c, cube[:, r:r + rows, c:c + cols])
    writer.commit()
    np.testing.assert_array_equal(_read(target), cube)


def test_a_window_outside_the_cube_is_refused(tmp_path):
    with open_writer(tmp_path / "c.tif", _spec(height=20, width=10)) as writer:
        with pytest.raises(ValueError, match="window columns 5..15 outside"):
            writer.write_window(0, 5, np.zeros((3, 20, 10), np.float32))
        writer.write_window(0, 0, np.zeros((3, 20, 10), np.float32))
