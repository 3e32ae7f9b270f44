"""A worker process or the client killed mid-run on a real dask.distributed LocalCluster (``predict --dask-scheduler``).

The scheduler runs the lost blocks again on the other worker (and on the one
its nanny restarts): the cube equals the uninterrupted run's. When the
scheduler allows no failure, the run stops with one line and leaves nothing; so
does a scheduler address where nothing answers. A client (``hprn-geo predict``)
SIGKILLed mid-run is continued with ``--resume``, which computes only the rows
its journal does not list.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import dask
import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from distributed import Client, LocalCluster
from reference_crop import OVERLAP, TILE

from hprn_geo.cli import main
from hprn_geo.distributed import PredictorSpec, predict_on_cluster
from hprn_geo.io import open_scene, open_writer
from hprn_geo.predict import PredictOptions, colour_request

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300),
              pytest.mark.filterwarnings("ignore::hprn_geo.errors.UntrainedModelWarning")]

CHUNK_ROWS = 56  # 4 blocks of the 200-row crop on 2 one-thread workers


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, Client(cluster) as client:
        yield client


def _read(path: Path) -> np.ndarray:
    name = f'ZARR:"{path}":/reflectance' if path.suffix == ".zarr" else path
    with rasterio.open(name) as cube:
        return cube.read()


def _kill_a_busy_worker(client: Client, run: Future) -> int:
    """SIGKILL the process of a worker while it holds one of the run's blocks; its pid."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not run.done():
        busy = [address for address, keys in client.processing().items() if any("file_block" in str(k) for k in keys)]
        if busy:
            pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            return pid
        time.sleep(0.005)
    raise AssertionError("no block was running on a worker to kill")


def _run_and_kill(client: Client, run) -> tuple[object, int]:
    """``run()`` in a thread, one busy worker killed meanwhile; (what it returned, the killed pid)."""
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(run)
        pid = _kill_a_busy_worker(client, future)
        result = future.result(timeout=240)
    client.wait_for_workers(2, timeout=60)  # the nanny's restarted worker, for the next test
    return result, pid


@pytest.mark.parametrize("suffix", [".zarr", ".tif"])
def test_a_worker_killed_mid_run_leaves_the_cube_unchanged(
    client: Client, crop: Path, tiny_checkpoint: Path, reference: np.ndarray, tmp_path: Path, suffix: str
) -> None:
    def run(dst: Path):
        return predict_on_cluster(crop, dst, client.scheduler.address, weights=tiny_checkpoint, tile=TILE,
                                  overlap=OVERLAP, chunk_rows=CHUNK_ROWS)

    run(tmp_path / f"uninterrupted{suffix}")
    workers = set(client.scheduler_info()["workers"])
    report, pid = _run_and_kill(client, lambda: run(tmp_path / f"cube{suffix}"))
    assert report.path == tmp_path / f"cube{suffix}"
    assert set(client.scheduler_info()["workers"]) != workers  # the killed one is gone
    np.testing.assert_array_equal(_read(tmp_path / f"cube{suffix}"), _read(tmp_path / f"uninterrupted{suffix}"))
    assert np.allclose(_read(tmp_path / f"cube{suffix}"), reference, atol=1e-5, equal_nan=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"cube{suffix}", f"uninterrupted{suffix}"])


@pytest.fixture
def no_failures_allowed(client: Client) -> Iterator[None]:
    """The scheduler gives up on a block the first time a worker dies running it."""
    before = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures)

    def allow(n: int) -> None:
        client.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, "allowed_failures", n))

    allow(0)
    yield
    allow(before)


@pytest.mark.parametrize("suffix", [".zarr", ".tif"])
def test_a_run_the_cluster_gives_up_on_fails_with_one_line_and_no_output(
    client: Client, no_failures_allowed: None, crop: Path, tiny_checkpoint: Path, tmp_path: Path, suffix: str
) -> None:
    dst = tmp_path / f"cube{suffix}"
    args = ["predict", str(crop), "-o", str(dst), "--weights", str(tiny_checkpoint), "--tile", str(TILE),
            "--overlap", str(OVERLAP), "-q", "--dask-scheduler", client.scheduler.address]
    result, _ = _run_and_kill(client, lambda: CliRunner().invoke(main, args))
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if "UNTRAINED" not in line]
    assert len(lines) == 1 and lines[0].startswith(f"Error: cannot write {dst}: every worker of "), result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("address", ["closed port", "nonsense"])
def test_a_scheduler_that_cannot_be_reached_is_one_line(
    crop: Path, tiny_checkpoint: Path, tmp_path: Path, address: str
) -> None:
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        if address == "closed port":
            address = f"tcp://127.0.0.1:{closed.getsockname()[1]}"
        with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
            result = CliRunner().invoke(main, ["predict", str(crop), "-o", str(tmp_path / "cube.zarr"), "--weights",
                                               str(tiny_checkpoint), "-q", "--dask-scheduler", address])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if "UNTRAINED" not in line]
    assert len(lines) == 1 and lines[0].startswith(f"Error: cannot reach the dask scheduler at {address}: "), lines
    assert list(tmp_path.iterdir()) == []


TALL_ROWS, TALL_COLS = 2100, 48  # five rows of the writer's 512-row blocks, one block column


@pytest.fixture(scope="module")
def tall(crop: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2100 x 48 GeoTIFF made of 48-column strips of the real crop, stacked (flipped every other time)."""
    with rasterio.open(crop) as src:
        profile, rgb = src.profile, src.read()
    strips = [rgb[:, :, 76:124] if k % 2 == 0 else rgb[:, ::-1, 76:124] for k in range(-(-TALL_ROWS // 200))]
    profile.update(height=TALL_ROWS, width=TALL_COLS, tiled=False)
    path = tmp_path_factory.mktemp("tall") / "tall.tif"
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.concatenate(strips, axis=1)[:, :TALL_ROWS])
    return path


def _journaled(journal: Path) -> set[int]:
    """The blocks a journal lists (empty while it is missing or being replaced)."""
    try:
        return set(json.loads(journal.read_text())["blocks"])
    except (OSError, ValueError):
        return set()


def _wait_idle(client: Client) -> None:
    """Until no worker runs a task (those a killed client left running finish first)."""
    deadline = time.monotonic() + 60
    while any(client.run(lambda dask_worker: dask_worker.state.executing_count).values()):
        assert time.monotonic() < deadline, "the workers kept running"
        time.sleep(0.1)


def _note(output: str, start: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(start))


@pytest.mark.parametrize("suffix", [".zarr", ".tif"])
def test_a_killed_client_is_resumed_computing_only_what_is_missing(
    client: Client, tall: Path, tiny_checkpoint: Path, tmp_path: Path, suffix: str
) -> None:
    def args(dst: Path) -> list[str]:
        return ["predict", str(tall), "-o", str(dst), "--weights", str(tiny_checkpoint), "--tile", str(TILE),
                "--overlap", str(OVERLAP), "--dask-scheduler", client.scheduler.address]

    whole = CliRunner().invoke(main, args(tmp_path / f"uninterrupted{suffix}"))
    assert whole.exit_code == 0, whole.output
    dst = tmp_path / f"cube{suffix}"
    journal = dst.with_name(dst.name + ".journal.json")
    run = subprocess.Popen([sys.executable, "-m", "hprn_geo.cli", *args(dst), "-q"], stderr=subprocess.PIPE)
    deadline, total = time.monotonic() + 120, -(-TALL_ROWS // 512)
    # the workers may finish the short last row first: resuming only it would compute as much as a whole run
    while not _journaled(journal) - {total - 1} and run.poll() is None:
        assert time.monotonic() < deadline, "no block was journaled"
        time.sleep(0.002)
    run.send_signal(signal.SIGKILL)
    stderr = run.communicate()[1].decode()
    done = _journaled(journal)
    assert run.returncode == -signal.SIGKILL, stderr
    assert not dst.exists() and 0 < len(done) < total, done
    stamps = _chunk_times(dst.with_name(dst.name + ".partial"), done) if suffix == ".zarr" else {}
    _wait_idle(client)

    resumed = CliRunner().invoke(main, [*args(dst), "--resume"])
    assert resumed.exit_code == 0, resumed.output
    np.testing.assert_array_equal(_read(dst), _read(tmp_path / f"uninterrupted{suffix}"))
    assert _note(resumed.output, "hprn-geo: resumed: ") == (
        f"hprn-geo: resumed: {len(done)} of {total} rows of 512-row blocks were already written")
    assert _tiles(resumed.output) < _tiles(whole.output), done  # the rows on disk were not computed again
    if suffix == ".zarr":  # nor written again: their chunk files are the first run's
        assert len(stamps) == len(done) and _chunk_times(dst, done) == stamps
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"cube{suffix}", f"uninterrupted{suffix}"])


def _chunk_times(store: Path, rows: set[int]) -> dict[str, int]:
    """Modification times (ns) of the chunk files ``<band>.<row>.<col>`` of a Zarr store's ``rows``."""
    return {c.name: c.stat().st_mtime_ns for c in (store / "reflectance").iterdir()
            if c.name[0].isdigit() and int(c.name.split(".")[1]) in rows}


def _tiles(output: str) -> int:
    """The number of tiles a run reports (``hprn-geo: wrote cube.zarr (H x W, N tiles on ...)``)."""
    return int(_note(output, "hprn-geo: wrote ").split(", ")[-1].split()[0])


def test_a_journal_with_holes_is_resumed_on_the_cluster(
    client: Client, tall: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    """Rows 0 and 2 of five on disk (as a local run's writer journals them): the cluster writes the other three."""
    def run(dst: Path, resume: bool = False):
        return predict_on_cluster(tall, dst, client.scheduler.address, weights=tiny_checkpoint, tile=TILE,
                                  overlap=OVERLAP, resume=resume)

    whole = _read(run(tmp_path / "uninterrupted.zarr").path)
    with open_scene(tall) as scene:
        options = PredictOptions(tile=TILE, overlap=OVERLAP, colour_consistent=colour_request(None, scene.encoding.name))
        spec = PredictorSpec(weights=str(tiny_checkpoint), options=options).plan().cube_spec(scene)
    dst = tmp_path / "cube.zarr"
    writer = open_writer(dst, spec)
    for row in (0, 1024):
        writer.write_window(row, 0, whole[:, row:row + 512])
    writer.abort(keep_partial=True)
    stamps = _chunk_times(dst.with_name(dst.name + ".partial"), {0, 2})

    report = run(dst, resume=True)
    np.testing.assert_array_equal(_read(dst), whole)
    assert "resumed: 2 of 5 rows of 512-row blocks were already written" in report.notes
    assert len(stamps) == 2 and _chunk_times(dst, {0, 2}) == stamps
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.zarr", "uninterrupted.zarr"]
