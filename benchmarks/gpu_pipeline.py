"""The GPU fast path end to end: `predict_file` stage by stage, scikit-image prior against torch prior.

Builds a mosaic of the real Landsat scene ``../shared/data/geo/RGB.byte.tif``
(mirror-tiled to each ``--sizes`` square, as ``predict_scaling.py`` does), runs
``Predictor.predict_file`` on it once per prior method (``skimage``: SLIC on the
CPU in the worker threads; ``torch``: :mod:`hprn_geo.model.fastslic`, on the GPU
in the main thread when the device is CUDA) and prints, per run, the
throughput of every stage in scene megapixels per second of that stage (read,
prior, model, blend, write; the worker-thread stages overlap the others, so
their times are not additive), end to end, and the peak GPU memory on CUDA.
Beside the model stage, ``floor`` is the same scene's throughput if the model
stage ran at the speed of "the compute floor" (``compute_floor`` from
``model_speed.py``: the model's 3x3 convolutions as a plain stack) on batches
of the same tiles, in the same precision (bf16: autocast + channels_last;
fp32: NCHW, TF32 off) and on the same device.

A second table times the prior alone per tile: scikit-image (one CPU thread,
one tile at a time, as a worker does) against torch on the device (a batch).

Models (untrained, seeded; speed only): ``tiny`` (8 channels, 1 block: every
stage of the pipeline but a cheap network, the CPU default), ``compact``
(64 channels, 4 blocks), ``paper`` (200 channels, 10 blocks); any other name is
looked up in the bundled models.

Run:
    python benchmarks/gpu_pipeline.py [--sizes 512] [--model tiny|compact|paper|NAME]
        [--tile 256] [--overlap 32] [--batch 4] [--device auto|cpu|cuda]
        [--precision auto|fp32|bf16] [--priors skimage torch [torch-connected]] [--workers 1]
        [--threads N] [--repeats 3] [--workdir DIR] [--json FILE]
    # on an H100, paper size:
    python benchmarks/gpu_pipeline.py --device cuda --model paper --sizes 2048 4096 --tile 512 --batch 8
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import rasterio
import torch

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # run from a checkout as well
from model_speed import compute_floor, machine_info, median_times
from predict_scaling import LANDSAT, build_mosaic

from hprn_geo.model import PRESETS, build_model
from hprn_geo.model.fastslic import torch_semantic_prior
from hprn_geo.model.prior import slic_labels
from hprn_geo.predict import PredictOptions, Predictor, pick_device
from hprn_geo.registry import Checkpoint, ModelCard, resolve

STAGES = ("read", "prior", "model", "blend", "write")
BANDS = 31


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512], help="mosaic sides in pixels")
    parser.add_argument("--model", default="tiny", help="tiny, compact, paper or a bundled model name")
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--priors", nargs="+", default=["skimage", "torch"],
                        choices=["skimage", "torch", "torch-connected"])
    parser.add_argument("--workers", type=int, default=1, help="threads reading tiles (and the CPU prior)")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's); 1 on a busy CPU")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of the floor and the prior-alone table")
    parser.add_argument("--workdir", type=Path, help="where the mosaics go (default: a temporary folder)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    return parser.parse_args(argv)


def make_checkpoint(name: str) -> Checkpoint:
    """An untrained, seeded model of a preset (or ``tiny``), or a bundled model by name."""
    if name != "tiny" and name not in PRESETS:
        return resolve(model=name)
    torch.manual_seed(0)
    switches = {"channels": 8, "blocks": 1} if name == "tiny" else {}
    model = build_model("compact" if name == "tiny" else name, BANDS, **switches).eval()
    wavelengths = tuple(float(w) for w in np.linspace(400.0, 700.0, BANDS))
    return Checkpoint(model, ModelCard(name, wavelengths, "compact" if name == "tiny" else name,
                                       "benchmark: untrained", trained=False))


def floor_seconds_per_tile(checkpoint: Checkpoint, predictor: Predictor, repeats: int) -> float:
    """Median seconds per tile of the compute floor on a batch of tiles, in the predictor's precision."""
    device = predictor.device
    layout = torch.channels_last if predictor.precision == "bf16" else torch.contiguous_format
    floor = compute_floor(checkpoint.model).eval().to(device, memory_format=layout)
    rgb = torch.rand(predictor.batch, 3, predictor.tile, predictor.tile, device=device)
    rgb = rgb.contiguous(memory_format=layout)
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16,
                                                enabled=predictor.precision == "bf16"):
        (seconds,) = median_times([lambda: floor(rgb)], repeats, 3 if device.type == "cuda" else 1, device.type)
    return seconds / predictor.batch


def run_pipeline(
    args: argparse.Namespace, checkpoint: Checkpoint, src: Path, size: int, prior: str, floor_per_tile: float
) -> dict:
    """One ``predict_file`` run; returns its stage throughputs and memory."""
    options = PredictOptions(tile=args.tile, overlap=args.overlap, batch=args.batch, device=args.device,
                             precision=args.precision, prior=prior)
    predictor = Predictor(checkpoint, options, workers=args.workers)
    cuda = predictor.device.type == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    report = predictor.predict_file(src, src.with_name("cube.tif"), overwrite=True)
    mpx = size * size / 1e6
    floor_s = floor_per_tile * report.tiles_run  # tiles on block-column edges run twice
    times = report.times.as_dict()
    return {
        "size": size, "device": str(predictor.device), "precision": predictor.precision, "tile": predictor.tile,
        "batch": predictor.batch, "block": predictor.block, "prior_method": prior, "seconds": report.seconds, "stage_seconds": times,
        "mpx_per_s": {s: mpx / times[s] if times[s] > 0 else math.inf for s in STAGES},
        "floor_mpx_per_s": mpx / floor_s, "end_to_end_mpx_per_s": mpx / report.seconds,
        "gpu_peak_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
        "prior_share_of_model": times["prior"] / times["model"] if times["model"] else None,
    }


def prior_alone(args: argparse.Namespace, device: torch.device) -> list[dict]:
    """ms per tile of the prior: scikit-image (1 CPU thread) and torch on ``device`` (a batch)."""
    rows = []
    image = build_tile(args.tile)
    batch = torch.from_numpy(np.stack([image] * args.batch)).to(device)
    threads = torch.get_num_threads()
    cases = [("skimage", "cpu", 1, lambda: slic_labels(image))]
    cases += [(m, device.type, args.batch, lambda m=m: torch_semantic_prior(batch, connectivity=m != "torch"))
              for m in args.priors if m != "skimage"]
    for method, where, n, fn in cases:
        if method == "skimage":
            torch.set_num_threads(1)
        (seconds,) = median_times([fn], args.repeats, 1, where)
        torch.set_num_threads(threads)
        rows.append({"method": method, "device": where, "tile": args.tile, "batch": n,
                     "ms_per_tile": 1e3 * seconds / n, "mpx_per_s": n * args.tile**2 / seconds / 1e6})
    return rows


def build_tile(side: int) -> np.ndarray:
    """A (3, side, side) float32 crop from the middle of the Landsat scene in [0, 1], mirrored if too small."""
    with rasterio.open(LANDSAT) as src:
        scene = src.read()[:3]
    h, w = scene.shape[1:]
    top, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
    crop = scene[:, top : top + side, left : left + side]
    pad = ((0, 0), (0, side - crop.shape[1]), (0, side - crop.shape[2]))
    return np.ascontiguousarray(np.pad(crop, pad, mode="symmetric"), dtype=np.float32) / 255.0


def format_row(row: dict) -> str:
    """One line of the pipeline table."""
    rates = " ".join(f"{row['mpx_per_s'][s]:>8.3f}" for s in STAGES)
    memory = "" if row["gpu_peak_gib"] is None else f"{row['gpu_peak_gib']:>8.2f}"
    share = f"{100 * row['prior_share_of_model']:>11.0f} %" if row["prior_share_of_model"] is not None else ""
    return (f"{row['size']:>5}² {row['device']:<7}{row['precision']:<5}{row['tile']:>5}{row['batch']:>4} "
            f"{row['prior_method']:<16}{rates}{row['floor_mpx_per_s']:>9.3f}{row['end_to_end_mpx_per_s']:>9.3f}"
            f"{share}{memory:>9}")


def main(argv: list[str] | None = None) -> None:
    """Build the mosaics, run every prior on each, print the tables and optionally write JSON."""
    args = parse_args(argv)
    device = pick_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    warnings.simplefilter("ignore")  # untrained-model and no-CRS warnings
    checkpoint = make_checkpoint(args.model)
    info = machine_info()
    print(f"torch {info['torch']}  threads {info['threads']}  CPU {info['cpu']}  GPU {info['gpu']}")
    print(f"load average (1 min) before the run: {info['load']} (other processes skew CPU times)")
    print(f"model {args.model} ({checkpoint.model.config.channels} channels, {checkpoint.model.config.blocks} "
          f"blocks, {checkpoint.card.bands} bands), overlap {args.overlap}, workers {args.workers}")
    print("Mpx/s = scene megapixels / seconds spent in that stage; floor = the model stage at the speed of "
          "its plain conv stack; prior/model = prior seconds / model seconds")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="hprn-gpu-bench-"))
    header = (f"{'scene':>6} {'device':<7}{'prec':<5}{'tile':>5}{'bat':>4} {'prior':<16}"
              + " ".join(f"{s:>8}" for s in STAGES) + f"{'floor':>9}{'end2end':>9}{'prior/model':>13}"
              + (f"{'GPU GiB':>9}" if device.type == "cuda" else ""))
    rows = []
    warm = build_mosaic(workdir / "warmup.tif", args.tile, args.tile)
    for prior in args.priors:  # first calls: CUDA context, cuDNN autotuning, SLIC import
        predictor = Predictor(checkpoint, PredictOptions(tile=args.tile, overlap=args.overlap, batch=args.batch,
                                                         device=args.device, precision=args.precision, prior=prior))
        predictor.predict_file(warm, workdir / "cube.tif", overwrite=True)
    floor_per_tile = floor_seconds_per_tile(checkpoint, predictor, args.repeats)
    print(header, flush=True)
    for size in args.sizes:
        src = build_mosaic(workdir / f"mosaic_{size}.tif", size, size)
        for prior in args.priors:
            start = time.perf_counter()
            rows.append(run_pipeline(args, checkpoint, src, size, prior, floor_per_tile))
            rows[-1]["wall"] = time.perf_counter() - start
            print(format_row(rows[-1]), flush=True)
        (workdir / "cube.tif").unlink(missing_ok=True)
    alone = prior_alone(args, device)
    print(f"\nprior alone, 4 scales, per {args.tile}² tile (skimage: 1 CPU thread, 1 tile; torch: a batch)")
    print(f"{'method':<16}{'device':<7}{'batch':>6}{'ms/tile':>10}{'Mpx/s':>9}")
    for r in alone:
        print(f"{r['method']:<16}{r['device']:<7}{r['batch']:>6}{r['ms_per_tile']:>10.1f}{r['mpx_per_s']:>9.3f}")
    print(f"load average (1 min) after the run: {os.getloadavg()[0]:.2f}")
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "args": {k: str(v) for k, v in vars(args).items()},
                                         "pipeline": rows, "prior_alone": alone}, indent=2))


if __name__ == "__main__":
    main()
