"""One run per output (hprn_geo.io.lock): a live run's lock refuses a second run, a dead run's is taken over."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import textwrap
import time

import numpy as np
import psutil
import pytest
import rasterio
from click.testing import CliRunner

from hprn_geo.cli import main
from hprn_geo.errors import OutputError, OutputLockedError, StaleLockWarning
from hprn_geo.io import CubeSpec, open_writer
from hprn_geo.io.lock import OutputLock, Owner, lock_path

T = rasterio.Affine(30.0, 0, 500000, 0, -30.0, 4000000)
SPEC = CubeSpec(40, 30, [450.0, 550.0, 650.0], "EPSG:32618", T)

# A real run holding an output: opens a writer, writes a strip, and waits until its stdin closes.
HOLDER = textwrap.dedent('''
    import sys
    import numpy as np
    from affine import Affine
    from hprn_geo.io import CubeSpec, open_writer

    spec = CubeSpec(40, 30, [450.0, 550.0, 650.0], "EPSG:32618", Affine(30.0, 0, 500000, 0, -30.0, 4000000))
    writer = open_writer(sys.argv[1], spec, overwrite=True)
    writer.write_strip(0, 0, np.zeros((3, 40, 30), np.float32))
    print("WRITING", flush=True)
    sys.stdin.read()
    writer.abort()
''')


@pytest.fixture
def holder(tmp_path, child_python):
    """``start(target) -> Popen``: a live run writing ``target`` (stopped at teardown)."""
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    procs = []

    def start(target):
        python, env = child_python
        proc = subprocess.Popen([python, str(script), str(target)], env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "WRITING", proc.communicate(timeout=30)[1][-2000:]
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            stream.close()


def _write(writer) -> None:
    writer.write_strip(0, 0, np.full((3, 40, 30), 0.5, np.float32))
    writer.commit()


def _lock_owner(target) -> dict:
    return json.loads(lock_path(target).read_text())


@pytest.mark.parametrize("name", ["cube.tif", "cube.zarr"])
def test_a_second_writer_on_a_live_runs_output_is_refused(tmp_path, holder, name):
    target = tmp_path / name
    proc = holder(target)
    partial = tmp_path / (name + ".partial")
    journal = (tmp_path / (name + ".journal.json")).read_text()
    assert _lock_owner(target)["pid"] == proc.pid
    for resume in (False, True):
        with pytest.raises(OutputLockedError) as info:
            open_writer(target, SPEC, overwrite=True, resume=resume)
        message = str(info.value)
        assert "\n" not in message and f"pid {proc.pid} on {socket.gethostname()}" in message
    assert partial.exists() and (tmp_path / (name + ".journal.json")).read_text() == journal  # the live run's files
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    assert not lock_path(target).exists()
    _write(open_writer(target, SPEC))  # free again once the run is over


def test_cli_predict_into_a_live_runs_output_fails_with_one_line(tmp_path, holder, crop, tiny_checkpoint):
    target = tmp_path / "cube.tif"
    proc = holder(target)
    result = CliRunner().invoke(main, ["predict", str(crop), "-o", str(target), "--weights", str(tiny_checkpoint),
                                       "--tile", "64", "--overlap", "8", "--overwrite", "-q"])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if not line.startswith("hprn-geo: warning")]
    assert errors == [f"Error: cannot write {target}: another run (pid {proc.pid} on {socket.gethostname()}, "
                      f"started {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(psutil.Process(proc.pid).create_time()))}) "
                      f"is writing it; wait for it to finish, or delete cube.tif.lock after stopping it"]
    assert _lock_owner(target)["pid"] == proc.pid


def test_the_lock_of_a_killed_run_is_taken_over_and_the_run_resumed(tmp_path, holder):
    target = tmp_path / "cube.tif"
    proc = holder(target)
    os.kill(proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while psutil.Process(proc.pid).status() != psutil.STATUS_ZOMBIE:  # dead, not yet reaped by its parent (us)
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert _lock_owner(target)["pid"] == proc.pid  # left behind
    with pytest.warns(StaleLockWarning, match=f"stale lock cube.tif.lock of a run that is gone \\(pid {proc.pid} "):
        writer = open_writer(target, SPEC, resume=True)
    proc.wait(timeout=30)
    assert writer.done_strips() == {0}  # the killed run's strip
    assert _lock_owner(target)["pid"] == os.getpid()
    writer.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.tif", "holder.py"]


def _plant(target, pid: int, host: str, started: float) -> None:
    lock_path(target).write_text(json.dumps({"pid": pid, "host": host, "started": started}))


def test_a_recycled_pid_does_not_keep_a_stale_lock(tmp_path):
    target = tmp_path / "cube.tif"
    _plant(target, os.getpid(), socket.gethostname(), psutil.Process().create_time() - 3600)  # same pid, earlier life
    with pytest.warns(StaleLockWarning):
        _write(open_writer(target, SPEC))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.tif"]


def test_this_process_is_a_live_owner(tmp_path):
    target = tmp_path / "cube.tif"
    with OutputLock(target), pytest.raises(OutputLockedError, match=f"pid {os.getpid()} "):
        open_writer(target, SPEC)


def test_another_hosts_lock_is_never_taken_over(tmp_path):
    target = tmp_path / "cube.tif"
    _plant(target, 1, "elsewhere.invalid", 0.0)
    with pytest.raises(OutputLockedError, match="on elsewhere.invalid.*delete cube.tif.lock if that run is gone"):
        open_writer(target, SPEC)
    assert lock_path(target).exists()


def test_an_unreadable_lock_is_refused(tmp_path):
    target = tmp_path / "cube.tif"
    lock_path(target).write_text("")
    with pytest.raises(OutputLockedError, match="cube.tif.lock cannot be read"):
        open_writer(target, SPEC)


def test_a_stale_lock_replaced_by_a_new_owner_meanwhile_is_put_back(tmp_path):
    # The race: two runs judged one lock stale; the first took it over before the second moved it aside.
    target = tmp_path / "cube.tif"
    stale = Owner(12345, socket.gethostname(), 0.0)
    with OutputLock(target):
        live = _lock_owner(target)
        with pytest.raises(OutputLockedError, match="another run took over its stale lock first"):
            OutputLock(target)._remove_stale(stale)
        assert _lock_owner(target) == live
    assert list(tmp_path.iterdir()) == []


def test_a_lock_that_cannot_be_created_is_an_output_error(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match="cannot create its lock cube.tif.lock") as info:
        OutputLock(tmp_path / "afile" / "cube.tif").acquire()
    assert "\n" not in str(info.value)
