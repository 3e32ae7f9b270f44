"""End-to-end `predict` on mosaics of the real Landsat scene: time, throughput, peak memory, stage shares.

Builds mosaics of ``../shared/data/geo/RGB.byte.tif`` (tiled with mirroring,
window by window, so building them needs no memory) at the asked sizes, then
runs ``Predictor.predict_file`` on each in a fresh child process and reports
wall time, Mpx/s, the child's peak RSS (``wait4`` rusage) and the share of
time in read / SLIC prior / model / blend / write. Squares (N x N) and strips
of fixed width (1024 x N) are both run: memory is designed to grow with the
scene width (one row of tiles, all bands) and never with its height.

On 2 CPU cores the real models take minutes per megapixel, so the default
model for the scaling runs is ``--model tiny`` (an untrained 8-channel,
1-block HPRN with 31 bands: every stage of the pipeline but a cheap network);
``--model NAME`` uses a bundled model.

Run:
    python benchmarks/predict_scaling.py [--sizes 1024 2048 4096] [--model tiny|NAME]
        [--tile 256] [--overlap 32] [--workdir DIR]
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
from rasterio.transform import Affine

ROOT = Path(__file__).resolve().parents[1]
LANDSAT = ROOT.parent / "shared" / "data" / "geo" / "RGB.byte.tif"
CHILD = """
import json, sys, warnings
warnings.simplefilter("ignore")
import numpy as np, torch
from hprn_geo.model import build_model
from hprn_geo.predict import Predictor
from hprn_geo.registry import Checkpoint, ModelCard, resolve
src, dst, model, tile, overlap = sys.argv[1:6]
if model == "tiny":
    torch.manual_seed(0)
    net = build_model("compact", 31, channels=8, blocks=1).eval()
    card = ModelCard("tiny", tuple(np.arange(400.0, 701.0, 10.0)), "compact", "benchmark", trained=False)
    checkpoint = Checkpoint(net, card)
else:
    checkpoint = resolve(model=model)
report = Predictor(checkpoint, int(tile), int(overlap), device="cpu").predict_file(src, dst, overwrite=True)
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


def run_child(src: Path, dst: Path, model: str, tile: int, overlap: int) -> dict:
    """Predict in a fresh process; returns its report plus wall time and peak RSS (MiB)."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", CHILD, str(src), str(dst), model, str(tile), str(overlap)],
                               stdout=subprocess.PIPE, text=True, cwd=ROOT)
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"child failed on {src} (status {status})")
    report = json.loads(out.strip().splitlines()[-1])
    report["wall"] = time.perf_counter() - start
    report["rss_mib"] = usage.ru_maxrss / 1024
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="hprn-bench-"))
    print(f"model {args.model}, tile {args.tile}, overlap {args.overlap}, CPU threads {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    header = f"{'scene':>12} {'Mpx':>6} {'wall s':>8} {'Mpx/s':>7} {'RSS MiB':>8}  " + " ".join(
        f"{s:>6}" for s in ("read", "prior", "model", "blend", "write")) + f" {'overhead':>9}"
    print(header)
    rows = []
    for height, width in [(s, s) for s in args.sizes] + [(s, 1024) for s in args.sizes]:
        src = build_mosaic(workdir / f"mosaic_{height}x{width}.tif", height, width)
        report = run_child(src, workdir / "cube.tif", args.model, args.tile, args.overlap)
        times = report["times"]
        total = sum(times.values())
        mpx = height * width / 1e6
        overhead = (total - times["model"]) / times["model"]
        rows.append((height, width, report["rss_mib"]))
        print(f"{height:>5} x {width:<5} {mpx:>6.1f} {report['wall']:>8.1f} {mpx / report['wall']:>7.3f} "
              f"{report['rss_mib']:>8.0f}  " + " ".join(f"{100 * times[s] / total:>5.1f}%" for s in times)
              + f" {100 * overhead:>8.1f}%")
        (workdir / "cube.tif").unlink(missing_ok=True)
    square = {h: r for h, w, r in rows if h == w}
    tall = {h: r for h, w, r in rows if w == 1024}
    small, big = min(args.sizes), max(args.sizes)
    print(f"peak RSS ratio, squares {big}²/{small}²: {square[big] / square[small]:.2f}; "
          f"fixed width 1024, height {big}/{small}: {tall[big] / tall[small]:.2f}")
    print("overhead = (read + prior + blend + write) / model; the prior runs in a worker thread, "
          "so stage times overlap and can exceed wall time.")


if __name__ == "__main__":
    main()
