"""Per-tile forward speed of HPRN against its compute floor, and the cost of the SLIC prior.

For each preset x tile size x precision x device this times one forward pass of
the model (labels precomputed, so SLIC is not in the model time) and, in the
same run and the same precision and memory layout, "the compute floor": a
plain stack of bias-free, zero-padded 3x3 convolutions with the model's conv
shapes (head 3 -> C, 4 * blocks + 1 convs C -> C, C -> B) and nothing else.
``% of floor`` = floor time / model time (100 % = the model runs as fast as its
convolutions). The SLIC prior (4 scales, scikit-image, CPU) is timed per tile
separately; ``SLIC adds`` is its time as a share of the model time.

Precisions: ``fp32`` (NCHW, TF32 off) and ``bf16`` (autocast, model and input
in ``channels_last``). Times are medians of ``--repeats`` runs after one
(CPU) or three (CUDA) warm-up runs, under ``torch.inference_mode``.

Run:
    python benchmarks/model_speed.py [--sizes 128 256 512] [--presets paper compact]
        [--bands 31] [--repeats N] [--device cpu|cuda|all] [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from skimage.data import astronaut
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout as well
from hprn_geo.model import HPRN, build_model, semantic_prior

PRECISIONS = ("fp32", "bf16")
CPU_REPEATS = {"paper": (3, 2, 1), "compact": (10, 5, 3)}
"""Default CPU repeats per preset for tiles of <= 128², <= 256² and larger."""
CUDA_REPEATS = 20


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--presets", nargs="+", default=["paper", "compact"])
    parser.add_argument("--bands", type=int, default=31)
    parser.add_argument("--repeats", type=int, help="timed runs per case (default: by size)")
    parser.add_argument("--device", choices=["cpu", "cuda", "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="smoke run: 128² and 256², 1 repeat")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes = [s for s in args.sizes if s <= 256] or [128]
        args.repeats = 1
    return args


def machine_info() -> dict[str, str | int]:
    """Torch version, intra-op threads, CPU model name, GPU name (if any) and 1-min load average."""
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "none"
    return {
        "torch": torch.__version__, "threads": torch.get_num_threads(), "cpu": cpu, "gpu": gpu,
        "load": f"{os.getloadavg()[0]:.2f}",
    }


def compute_floor(model: HPRN) -> nn.Sequential:
    """The model's backbone convolutions as a plain zero-padded, bias-free 3x3 conv stack."""
    c, b = model.config.channels, model.config.bands
    shapes = [(3, c)] + [(c, c)] * (4 * model.config.blocks + 1) + [(c, b)]
    return nn.Sequential(*(nn.Conv2d(i, o, 3, padding=1, bias=False) for i, o in shapes))


def macs_per_pixel(floor: nn.Sequential) -> int:
    """Multiply-accumulates per pixel of a stack of stride-1 "same" convolutions."""
    return sum(conv.weight.numel() for conv in floor)


def test_image(size: int) -> torch.Tensor:
    """A natural RGB tile (scikit-image's astronaut, resampled): (1, 3, size, size) in [0, 1]."""
    rgb = torch.from_numpy(astronaut()).permute(2, 0, 1)[None].float() / 255.0
    mode = "area" if size <= rgb.shape[-1] else "bilinear"
    return F.interpolate(rgb, size=(size, size), mode=mode).clamp(0.0, 1.0)


def median_times(
    fns: Sequence[Callable[[], object]], repeats: int, warmup: int, device: str
) -> list[float]:
    """Median wall seconds of each of ``fns`` over ``repeats`` rounds after ``warmup`` rounds.

    The functions run in turn within each round, so load from other processes
    on the machine slows them alike and their ratio stays fair.
    """
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    times: list[list[float]] = [[] for _ in fns]
    for round_ in range(warmup + repeats):
        for fn, fn_times in zip(fns, times):
            sync()
            start = time.perf_counter()
            fn()
            sync()
            if round_ >= warmup:
                fn_times.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


@contextlib.contextmanager
def precision_context(precision: str, device: str) -> Iterator[None]:
    """``inference_mode``, plus bf16 autocast for ``precision == "bf16"``."""
    with torch.inference_mode(), torch.autocast(
        device, dtype=torch.bfloat16, enabled=precision == "bf16"
    ):
        yield


def time_case(
    model: HPRN, floor: nn.Sequential, rgb: torch.Tensor, labels: torch.Tensor,
    precision: str, device: str, repeats: int,
) -> tuple[float, float]:
    """Median (model, floor) seconds per tile in one precision and layout on one device."""
    layout = torch.channels_last if precision == "bf16" else torch.contiguous_format
    model, floor = model.to(device, memory_format=layout), floor.to(device, memory_format=layout)
    rgb = rgb.to(device).contiguous(memory_format=layout)
    labels = labels.to(device)
    warmup = 3 if device == "cuda" else 1
    with precision_context(precision, device):
        model_s, floor_s = median_times(
            [lambda: model(rgb, labels), lambda: floor(rgb)], repeats, warmup, device
        )
    return model_s, floor_s


def default_repeats(preset: str, size: int, device: str) -> int:
    """Repeats that keep the default run near 10 minutes on 2 CPU cores."""
    if device == "cuda":
        return CUDA_REPEATS
    small, medium, large = CPU_REPEATS.get(preset, CPU_REPEATS["paper"])
    return small if size <= 128 else medium if size <= 256 else large


def run(
    args: argparse.Namespace, devices: list[str],
    models: dict[str, HPRN], floors: dict[str, nn.Sequential],
) -> dict:
    """Time every case, printing each row as it completes; returns SLIC times and the rows."""
    scales = models[args.presets[0]].config.scales
    result: dict = {"scales": list(scales), "slic": [], "rows": []}
    for size in args.sizes:
        rgb = test_image(size)
        labels = semantic_prior(rgb, scales)  # also warms SLIC up
        slic_repeats = args.repeats or default_repeats("paper", size, "cpu")
        (slic_s,) = median_times([lambda: semantic_prior(rgb, scales)], slic_repeats, 0, "cpu")
        result["slic"].append(
            {"size": size, "seconds": slic_s, "mpx_per_s": size * size / slic_s / 1e6}
        )
        for preset in args.presets:
            for device in devices:
                repeats = args.repeats or default_repeats(preset, size, device)
                for precision in PRECISIONS:
                    model_s, floor_s = time_case(
                        models[preset], floors[preset], rgb, labels, precision, device, repeats
                    )
                    row = {
                        "preset": preset, "size": size, "precision": precision, "device": device,
                        "repeats": repeats, "model_s": model_s, "floor_s": floor_s,
                        "model_mpx_per_s": size * size / model_s / 1e6,
                        "floor_mpx_per_s": size * size / floor_s / 1e6,
                        "pct_of_floor": 100.0 * floor_s / model_s,
                        "slic_adds_pct": 100.0 * slic_s / model_s,
                    }
                    result["rows"].append(row)
                    print(format_row(row), flush=True)
    return result


HEADER = (
    f"{'preset':<8}{'tile':>6} {'prec':<5}{'device':<7}{'n':>3}"
    f"{'model ms':>11}{'Mpx/s':>8}{'floor ms':>11}{'Mpx/s':>8}{'% of floor':>12}{'SLIC adds':>11}"
)


def format_row(row: dict) -> str:
    """One line of the main table."""
    return (
        f"{row['preset']:<8}{row['size']:>5}² {row['precision']:<5}{row['device']:<7}"
        f"{row['repeats']:>3}"
        f"{row['model_s'] * 1e3:>11.1f}{row['model_mpx_per_s']:>8.3f}"
        f"{row['floor_s'] * 1e3:>11.1f}{row['floor_mpx_per_s']:>8.3f}"
        f"{row['pct_of_floor']:>11.0f} %{row['slic_adds_pct']:>9.0f} %"
    )


def print_preamble(info: dict[str, str | int], floors: dict[str, nn.Sequential]) -> None:
    """Machine description and each preset's floor, printed before the table."""
    print(f"torch {info['torch']}  threads {info['threads']}  CPU {info['cpu']}  GPU {info['gpu']}")
    print(f"load average (1 min) before the run: {info['load']} (other processes skew CPU times)")
    for preset, floor in floors.items():
        macs = macs_per_pixel(floor) / 1e6
        print(f"{preset}: floor = {len(floor)} 3x3 convs, {macs:.2f} MMAC/px")
    print("fp32 = NCHW, TF32 off; bf16 = autocast + channels_last; n = timed runs (median)")
    print("% of floor = floor ms / model ms; SLIC adds = SLIC ms (same tile) / model ms")
    print(HEADER, flush=True)


def print_slic(slic: list[dict], scales: list[int]) -> None:
    """The SLIC table: one row per tile size."""
    print(f"\nSLIC prior, scikit-image on CPU, scales {scales}, per tile")
    print(f"{'tile':>6}{'ms':>11}{'Mpx/s':>8}")
    for s in slic:
        print(f"{s['size']:>5}²{s['seconds'] * 1e3:>11.1f}{s['mpx_per_s']:>8.3f}")


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark, print the tables and optionally write JSON."""
    args = parse_args(argv)
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    devices = [d for d in devices if d == "cpu" or torch.cuda.is_available()]
    if not devices:
        raise SystemExit("--device cuda: CUDA is not available")
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    models = {p: build_model(p, args.bands).eval() for p in args.presets}
    floors = {p: compute_floor(m).eval() for p, m in models.items()}
    info = machine_info()
    print_preamble(info, floors)
    result = {"machine": info, **run(args, devices, models, floors)}
    print_slic(result["slic"], result["scales"])
    print(f"load average (1 min) after the run: {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
