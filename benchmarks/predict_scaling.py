"""End-to-end `predict` on mosaics of the real Landsat scene: time, throughput, peak memory against its estimate.

Builds mosaics of ``../shared/data/geo/RGB.byte.tif`` (tiled with mirroring,
window by window, so building them needs no memory) at the asked shapes, then
runs ``Predictor.predict_file`` on each in a fresh child process and reports
wall time, Mpx/s, the child's peak RSS (``wait4`` rusage), the estimate of
:func:`hprn_geo.estimate.peak_memory_bytes` (made in a child of its own, as ``hprn-geo info`` would),
and the share of time in read / SLIC prior / model / blend / write. Memory is
designed to depend on block, tile, batch and bands, never on the scene's width
or height: compare wide (1024 x N) and tall (N x 1024) scenes with a square one.
``--compare DIR`` runs the same children on another checkout (e.g. the main
branch, before block streaming) and prints its peak RSS and estimate beside.

On 2 CPU cores the real models take minutes per megapixel, so the default
model for the scaling runs is ``--model tiny`` (an untrained 8-channel,
1-block HPRN with 31 bands: every stage of the pipeline but a cheap network; ``--bands N`` gives it
N bands); ``--model NAME`` uses a bundled model.

Run:
    python benchmarks/predict_scaling.py [--shapes 1024x1024 1024x8192 8192x1024] [--model tiny|NAME] [--bands 31]
        [--tile 256] [--overlap 32] [--compare ../main] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio

ROOT = Path(__file__).resolve().parents[1]
LANDSAT = ROOT.parent / "shared" / "data" / "geo" / "RGB.byte.tif"
CHILD = """
import json, sys, warnings
warnings.simplefilter("ignore")
import numpy as np, torch
from hprn_geo import estimate
from hprn_geo.model import build_model
from hprn_geo.predict import PredictOptions, Predictor
from hprn_geo.registry import Checkpoint, ModelCard, resolve
src, dst, model, tile, overlap, mode = sys.argv[1:7]
if model.startswith("tiny"):  # "tiny" or "tiny:BANDS"
    bands = int(model.partition(":")[2] or 31)
    torch.manual_seed(0)
    net = build_model("compact", bands, channels=8, blocks=1).eval()
    card = ModelCard("tiny", tuple(np.linspace(400.0, 700.0, bands)), "compact", "benchmark", trained=False)
    checkpoint = Checkpoint(net, card)
else:
    checkpoint = resolve(model=model)
predictor = Predictor(checkpoint, PredictOptions(tile=int(tile), overlap=int(overlap), device="cpu"))
if mode == "estimate":  # in a process of its own: the profiler's probe stays resident (~100 MiB)
    try:
        est = estimate.peak_memory_bytes(predictor)
    except TypeError:  # a checkout before block streaming: peak_memory_bytes(predictor, width)
        import rasterio
        with rasterio.open(src) as scene:
            est = estimate.peak_memory_bytes(predictor, scene.width)
    print(json.dumps({"estimate": est}))
else:
    report = predictor.predict_file(src, dst, overwrite=True)
    print(json.dumps({"seconds": report.seconds, "times": report.times.as_dict(), "tiles": report.tiles_run}))
"""


def build_mosaic(path: Path, height: int, width: int) -> Path:
    """Mirror-tile the Landsat scene to ``height x width`` (same CRS, pixel size), strip by strip."""
    with rasterio.open(LANDSAT) as src:
        scene = src.read()
        profile = src.profile | {"height": height, "width": width, "tiled": True, "blockxsize": 256,
                                 "blockysize": 256, "compress": "deflate"}
    tile_h, tile_w = scene.shape[1:]
    rows = np.arange(height) % (2 * tile_h)
    rows = np.where(rows < tile_h, rows, 2 * tile_h - 1 - rows)
    cols = np.arange(width) % (2 * tile_w)
    cols = np.where(cols < tile_w, cols, 2 * tile_w - 1 - cols)
    with rasterio.open(path, "w", **profile) as dst:
        for top in range(0, height, 256):
            block = scene[:, rows[top : top + 256]][:, :, cols]
            dst.write(block, window=((top, top + block.shape[1]), (0, width)))
    return path


def child(src: Path, dst: Path, model: str, tile: int, overlap: int, mode: str, checkout: Path) -> tuple[dict, float]:
    """Run CHILD (``mode`` "predict" or "estimate") in a fresh process importing ``checkout``:
    its JSON report and its peak RSS in MiB (``wait4``)."""
    env = os.environ | {"PYTHONPATH": str(checkout)}
    process = subprocess.Popen([sys.executable, "-c", CHILD, str(src), str(dst), model, str(tile), str(overlap), mode],
                               stdout=subprocess.PIPE, text=True, cwd=checkout, env=env)
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"child failed on {src} (status {status})")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss / 1024


def run_child(src: Path, dst: Path, model: str, tile: int, overlap: int, checkout: Path = ROOT) -> dict:
    """Predict in a fresh process importing ``checkout``, and estimate in another: the prediction's
    report plus wall time, peak RSS (MiB) and the estimate (MiB)."""
    start = time.perf_counter()
    report, rss = child(src, dst, model, tile, overlap, "predict", checkout)
    wall = time.perf_counter() - start
    estimate, _ = child(src, dst, model, tile, overlap, "estimate", checkout)
    return report | {"wall": wall, "rss_mib": rss, "estimate_mib": estimate["estimate"] / 2**20}


def shape(text: str) -> tuple[int, int]:
    """``"1024x8192"`` -> (1024, 8192): height x width."""
    height, width = text.lower().split("x")
    return int(height), int(width)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", type=shape, nargs="+", default=[(1024, 1024), (1024, 8192), (8192, 1024)])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--bands", type=int, default=31, help="bands of the tiny model")
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--compare", type=Path, help="another checkout to run beside this one (e.g. ../main)")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="hprn-bench-"))
    if args.model == "tiny":
        args.model = f"tiny:{args.bands}"
    print(f"model {args.model}, tile {args.tile}, overlap {args.overlap}, CPU threads {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    old = f" {'old RSS':>8} {'old est':>8}" if args.compare else ""
    print(f"{'scene':>13} {'Mpx':>6} {'wall s':>7} {'Mpx/s':>6} {'RSS MiB':>8} {'est MiB':>8} {'est/RSS':>7}{old}  "
          + " ".join(f"{s:>6}" for s in ("read", "prior", "model", "blend", "write")))
    rss = {}
    for height, width in args.shapes:
        src = build_mosaic(workdir / f"mosaic_{height}x{width}.tif", height, width)
        report = run_child(src, workdir / "cube.tif", args.model, args.tile, args.overlap)
        rss[height, width] = report["rss_mib"]
        line = (f"{height:>6}x{width:<6} {height * width / 1e6:>6.1f} {report['wall']:>7.1f} "
                f"{height * width / 1e6 / report['wall']:>6.3f} {report['rss_mib']:>8.0f} {report['estimate_mib']:>8.0f} "
                f"{report['estimate_mib'] / report['rss_mib']:>7.2f}")
        if args.compare:
            before = run_child(src, workdir / "cube.tif", args.model, args.tile, args.overlap, args.compare.resolve())
            line += f" {before['rss_mib']:>8.0f} {before['estimate_mib']:>8.0f}"
        times = report["times"]
        total = sum(times.values())
        print(line + "  " + " ".join(f"{100 * times[s] / total:>5.1f}%" for s in times), flush=True)
        (workdir / "cube.tif").unlink(missing_ok=True)
    base = rss.get((1024, 1024))
    if base:
        print("peak RSS over 1024x1024: " + ", ".join(f"{h}x{w} {r / base:.2f}" for (h, w), r in rss.items()))
    print("est = hprn_geo.estimate.peak_memory_bytes, made in a child of its own (as `hprn-geo info` does); "
          "stage times overlap (the prior runs in a worker thread).")


if __name__ == "__main__":
    main()
