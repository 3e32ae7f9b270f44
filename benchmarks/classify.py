"""The paper's classification experiment (Table XI) on the labelled scenes of ``../shared/data``.

For each scene, RGB, HPRN-reconstructed HSI (HPRN fitted on the scene with
the test pixels' spectra never a target) and the real HSI are classified by
the same 11 x 11 patch CNN on the same split (``hprn_geo.classify``); the
table gives OA / AA / kappa of each and the reconstruction's MRAE / SAM on
the test pixels. Repeated ``--seeds`` give the mean and spread. Classes with
fewer than twice ``--train-per-class`` pixels are left unlabelled (printed).
The Pavia
cube is not in the shared data, so the scenes are:

- ``jasper_ridge``: AVIRIS, 100 x 100, 198 bands; classes = argmax of the
  file's abundances (1 tree, 2 water, 3 soil, 4 road).
- ``sentinel2``: Sentinel-2 L1C TOA reflectance, 101 x 100, 13 bands (first
  of the five dates); classes = ``s2_lulc.npy`` (0 = unlabelled).
- ``sandiego_plane``: AVIRIS, 100 x 100, 189 bands (reflectance, as the registry scales it);
  classes = 1 background, 2 plane (the file's anomaly map).

Run from the repository root: ``.venv/bin/python benchmarks/classify.py --help``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hprn_geo.classify import CLASSIFY_FIT, INPUTS, ClassifierConfig, classify_scene, random_split
from hprn_geo.fit.scenefit import STARTS
from hprn_geo.io.cube import Cube
from hprn_geo.io.shared import load_shared

ROOT = Path(__file__).resolve().parents[1]
S2_NM = (443, 490, 560, 665, 705, 740, 783, 842, 865, 945, 1375, 1610, 2190)


def jasper(data: Path) -> tuple[Cube, np.ndarray, tuple[int, int, int] | None]:
    cube = load_shared("jasper_ridge", data)
    return cube, cube.extras["abundances"].argmax(axis=0) + 1, None


def sentinel2(data: Path) -> tuple[Cube, np.ndarray, tuple[int, int, int] | None]:
    scenes = np.load(data / "geo" / "s2_l1c_reference_scenes.npy")
    labels = np.load(data / "geo" / "s2_lulc.npy")[..., 0].astype(np.int64)
    return Cube(np.moveaxis(scenes[0], -1, 0), np.array(S2_NM, float), name="sentinel2"), labels, (4, 3, 2)


def sandiego(data: Path) -> tuple[Cube, np.ndarray, tuple[int, int, int] | None]:
    cube = load_shared("sandiego_plane", data)
    return cube, cube.extras["anomaly_mask"].astype(np.int64) + 1, None


SCENES: dict[str, Callable[[Path], tuple[Cube, np.ndarray, tuple[int, int, int] | None]]] = {
    "jasper_ridge": jasper,
    "sentinel2": sentinel2,
    "sandiego_plane": sandiego,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--scenes", nargs="+", default=list(SCENES), choices=list(SCENES))
    parser.add_argument("--train-per-class", type=int, default=50, help="random split: training pixels per class")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--fit-steps", type=int, default=CLASSIFY_FIT.steps)
    parser.add_argument("--start", default=CLASSIFY_FIT.start, choices=STARTS, help="the scene fit's start")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--json", type=Path, help="write every run's report as JSON")
    args = parser.parse_args()
    print(f"# hprn-geo classification benchmark; load average {os.getloadavg()[0]:.1f}; "
          f"{args.train_per_class} training px per class; "
          f"fit {args.fit_steps} steps from the {args.start} start, classifier {args.epochs} epochs; seeds {args.seeds}")  # fmt: skip
    reports: dict[str, list[dict]] = {}
    for name in args.scenes:
        cube, labels, rgb_bands = SCENES[name](args.data)
        counts = np.bincount(labels.ravel())
        small = [int(c) for c in np.flatnonzero(counts) if c > 0 and counts[c] < 2 * args.train_per_class]
        if small:
            print(f"  {name}: classes {small} have < {2 * args.train_per_class} px; left unlabelled")
            labels = np.where(np.isin(labels, small), 0, labels)
        per_class = args.train_per_class
        for seed in args.seeds:
            start = time.perf_counter()
            result = classify_scene(
                cube, random_split(labels, per_class, seed), rgb_bands=rgb_bands,
                fit=CLASSIFY_FIT.replace(steps=args.fit_steps, seed=seed, start=args.start), classifier=ClassifierConfig(epochs=args.epochs, seed=seed),
            )  # fmt: skip
            report = result.to_dict() | {"seconds": time.perf_counter() - start, "unlabelled_classes": small}
            reports.setdefault(name, []).append(report)
            print(f"  {name} seed {seed}: {report['seconds']:.0f} s", flush=True)
            print(table({name: [report]}), flush=True)
            if args.json:  # after every run, so a long benchmark keeps what it has measured
                args.json.write_text(json.dumps(reports, indent=2) + "\n")
    print(table(reports))


def table(reports: dict[str, list[dict]]) -> str:
    """Mean (and min-max over seeds) OA / AA / kappa per scene and input, then the reconstruction error."""
    lines = [f"{'scene':<16}{'input':<15}{'OA':>16}{'AA':>16}{'kappa':>16}   reconstruction (test px)"]
    for name, runs in reports.items():
        for i, kind in enumerate(INPUTS):
            cells = []
            for metric in ("oa", "aa", "kappa"):
                values = np.array([run[kind][metric] for run in runs])
                spread = f" ({values.min():.3f}-{values.max():.3f})" if len(values) > 1 else ""
                cells.append(f"{values.mean():.4f}{spread}".rjust(16))
            extra = ""
            if i == 0:
                rec, split = runs[0]["reconstruction"], runs[0]["split"]
                mrae = np.mean([run["reconstruction"]["mrae"] for run in runs])
                sam = np.mean([run["reconstruction"]["sam"] for run in runs])
                extra = f"   MRAE {mrae:.4f}  SAM {sam:.2f} deg; {split['train']} train / {split['test']} test px, {rec['bands']} bands"
            lines.append(f"{name if i == 0 else '':<16}{kind:<15}{''.join(cells)}{extra}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
