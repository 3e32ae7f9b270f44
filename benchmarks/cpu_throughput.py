"""End-to-end CPU throughput of ``hprn-geo predict`` beside the model alone, a conv floor and MST++.

On a mirror-tiled mosaic of the real Landsat scene (``../shared/data/geo/RGB.byte.tif``, ``--size`` square,
2048 by default), each model runs as a user runs it: ``hprn-geo predict mosaic.tif [--model NAME | --bands N]
-o cube.tif`` in a fresh process, on the CPU, with the card's tile and overlap and every default (start-up,
reading, prior, model, blending and the compressed GeoTIFF write included). Beside each, in the same run:

- ``model Mpx/s``: the model's forward pass alone on one batch of the predictor's tiles (median of
  ``--repeats``, prior precomputed), in tile pixels; end to end also computes each overlap more than once
  (``recompute`` = tile pixels run / scene pixels);
- ``floor Mpx/s``: a plain stack of zero-padded 3x3 convolutions of the model's width with the model's
  multiply-accumulates per pixel (every convolution of the model counted), the same batch and layout;
- with ``--compare DIR``: the same command importing another checkout's package (e.g. before a change);
- with ``--mstpp PATH/MST_Plus_Plus.py`` (MST++'s published architecture file, Cai et al. 2022; not part
  of this repository, it needs ``einops``): a bare MST++ forward pass (31 bands, untrained) on the same
  batch of tiles as the default model, and the ratio of the default model's end-to-end throughput to it.

Run:
    python benchmarks/cpu_throughput.py [--size 2048] [--models default 103] [--mstpp PATH] [--compare DIR]
        [--repeats 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_speed import median_times
from predict_scaling import build_mosaic

from hprn_geo.predict import PredictOptions, Predictor
from hprn_geo.registry import resolve

HPRN_GEO = Path(sys.executable).with_name("hprn-geo")


def run_cli(args: list[str], checkout: Path | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of ``hprn-geo ARGS`` in a fresh process (importing ``checkout``'s
    package when given)."""
    env = os.environ | ({"PYTHONPATH": str(checkout)} if checkout else {})
    start = time.perf_counter()
    process = subprocess.Popen([str(HPRN_GEO), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env=env)
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"hprn-geo {' '.join(args)} failed:\n{err}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def conv_macs_per_pixel(model: nn.Module) -> int:
    """Multiply-accumulates per output pixel of every (stride-1) convolution in ``model``."""
    return sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Conv2d))


def conv_floor(channels: int, macs: int) -> nn.Sequential:
    """3 -> C, then C -> C 3x3 convolutions, as many as make ``macs`` per pixel (at least one)."""
    count = max(1, round((macs - 27 * channels) / (9 * channels * channels)))
    return nn.Sequential(nn.Conv2d(3, channels, 3, padding=1, bias=False),
                         *(nn.Conv2d(channels, channels, 3, padding=1, bias=False) for _ in range(count)))


def tiles_of(mosaic: Path, predictor: Predictor) -> torch.Tensor:
    """One batch of the predictor's tiles cut from the mosaic's top-left corner: (n, 3, t, t) in [0, 1]."""
    t, n = predictor.tile, predictor.batch
    with rasterio.open(mosaic) as src:
        block = src.read([1, 2, 3], window=((0, t), (0, n * t))).astype(np.float32) / 255.0
    tiles = np.stack([block[:, :, i * t : (i + 1) * t] for i in range(n)])
    return torch.from_numpy(tiles).contiguous(memory_format=predictor.memory_format)


def model_row(label: str, cli: list[str], mosaic: Path, out: Path, repeats: int, compare: Path | None) -> dict:
    """End-to-end and model-alone figures for one model choice (``cli``: the flags naming it, none for the
    default)."""
    flags = dict(zip(cli[::2], cli[1::2]))
    checkpoint = resolve(model=flags.get("--model"), bands=int(flags["--bands"]) if "--bands" in flags else None)
    predictor = Predictor(checkpoint, PredictOptions(device="cpu"))
    rgb = tiles_of(mosaic, predictor)
    labels = predictor.model.prior(rgb, method=predictor.prior)
    macs = conv_macs_per_pixel(predictor.model)
    floor = conv_floor(predictor.model.config.channels, macs).eval().to(memory_format=predictor.memory_format)
    with torch.inference_mode():  # model and floor in turn each round (model_speed.median_times)
        model_s, floor_s = median_times([lambda: predictor._forward(rgb, labels), lambda: floor(rgb)], repeats, 1, "cpu")
    tile_mpx = rgb.shape[0] * rgb.shape[2] * rgb.shape[3] / 1e6
    command = ["predict", str(mosaic), *cli, "--device", "cpu", "-o", str(out), "--overwrite"]
    wall, rss = run_cli(command)
    before = run_cli(command, compare)[0] if compare else None
    with rasterio.open(mosaic) as src:
        scene_mpx = src.width * src.height / 1e6
        grid = predictor.grid(src.height, src.width)
    tiles = grid.n_rows * grid.n_cols
    return {
        "label": label, "model": checkpoint.card.name, "bands": checkpoint.card.bands, "tile": predictor.tile,
        "overlap": predictor.overlap, "batch": predictor.batch, "wall": wall, "rss": rss,
        "e2e": scene_mpx / wall, "model_mpx": tile_mpx / model_s, "floor_mpx": tile_mpx / floor_s, "macs": macs,
        "recompute": tiles * predictor.tile**2 / 1e6 / scene_mpx, "size_mib": out.stat().st_size / 2**20,
        "rgb": rgb, "before": None if before is None else scene_mpx / before,
    }


def mstpp_mpx(path: Path, rgb: torch.Tensor, repeats: int) -> float:
    """Mpx/s of a bare forward pass of MST++ (``MST_Plus_Plus()`` from ``path``, untrained) on ``rgb``."""
    spec = importlib.util.spec_from_file_location("mst_plus_plus", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(0)
    model = module.MST_Plus_Plus().eval()
    x = rgb.contiguous()
    with torch.inference_mode():
        (seconds,) = median_times([lambda: model(x)], repeats, 1, "cpu")
    return x.shape[0] * x.shape[2] * x.shape[3] / 1e6 / seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048, help="side of the square mosaic")
    parser.add_argument("--models", nargs="+", default=["default", "103"],
                        help="'default' (no flag), a band count (--bands N) or a bundled name (--model NAME)")
    parser.add_argument("--mstpp", type=Path, help="MST++'s architecture file (MST_Plus_Plus.py)")
    parser.add_argument("--compare", type=Path, help="another checkout whose end-to-end run goes beside each")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        mosaic = build_mosaic(Path(tmp) / "mosaic.tif", args.size, args.size)
        rows = []
        for choice in args.models:
            cli = [] if choice == "default" else ["--bands", choice] if choice.isdigit() else ["--model", choice]
            label = " ".join(cli) or "default"
            rows.append(model_row(label, cli, mosaic, Path(tmp) / "cube.tif", args.repeats, args.compare))
        print(f"{args.size} x {args.size} mosaic of the Landsat scene, CPU, torch threads {torch.get_num_threads()}, "
              f"load average {os.getloadavg()[0]:.1f}")
        print(f"{'model':<14}{'bands':>6}{'tile/ov':>9}{'batch':>6}{'wall s':>8}{'e2e Mpx/s':>11}{'recompute':>10}"
              f"{'model Mpx/s':>12}{'floor Mpx/s':>12}{'MACs/px':>9}{'RSS MiB':>9}{'cube MiB':>9}")
        for r in rows:
            print(f"{r['label']:<14}{r['bands']:>6}{r['tile']:>5}/{r['overlap']:<3}{r['batch']:>6}{r['wall']:>8.1f}"
                  f"{r['e2e']:>11.3f}{r['recompute']:>10.2f}{r['model_mpx']:>12.3f}{r['floor_mpx']:>12.3f}"
                  f"{r['macs']:>9}{r['rss']:>9.0f}{r['size_mib']:>9.0f}")
            if r["before"] is not None:
                print(f"{'':<14}{args.compare}: e2e {r['before']:.3f} Mpx/s; this checkout {r['e2e'] / r['before']:.2f}x")
        if args.mstpp:
            default = next((r for r in rows if r["label"] == "default"), rows[0])
            mst = mstpp_mpx(args.mstpp, default["rgb"], args.repeats)
            print(f"MST++ bare forward ({default['rgb'].shape[0]} tiles of {default['tile']}², NCHW fp32): "
                  f"{mst:.3f} Mpx/s; {default['label']} end to end / MST++ forward = {default['e2e'] / mst:.2f}")
    print("model/floor: tile pixels per second; e2e: scene pixels per second of the whole command, start-up included")


if __name__ == "__main__":
    main()
