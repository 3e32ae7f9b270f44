"""Held-out accuracy of the bundled models with each semantic prior method and precision.

Issue 7 asks that the torch SLIC prior become the default only if held-out
MRAE/SAM with it is within 1 % of scikit-image's labels, and that bf16 output
be within 1 % held-out MRAE of fp32. For each bundled model, its validation
and test scenes (from its card's protocol) are predicted whole by
``Predictor`` on the CPU at the card's tile and overlap, with every prior
method x precision; the table gives MRAE and SAM per scene, their mean, and
the mean's relative change against ``skimage``/``fp32``.

Run from the repository root: ``.venv/bin/python benchmarks/prior_accuracy.py [--data ../shared/data]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
from pathlib import Path

import numpy as np

from hprn_geo.evaluate import evaluate_checkpoint
from hprn_geo.model.prior import PRIOR_METHODS
from hprn_geo.registry import load_bundled

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--models", nargs="+", default=["vnir31", "rosis103"])
    parser.add_argument("--priors", nargs="+", default=list(PRIOR_METHODS), choices=PRIOR_METHODS)
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    print(f"# held-out MRAE / SAM by prior and precision (CPU); load average {os.getloadavg()[0]:.1f}")
    results = {}
    for name in args.models:
        checkpoint = load_bundled(name)
        protocol = checkpoint.card.scores["protocol"]
        scenes = list(protocol["validation"]) + list(protocol["test"])
        print(f"\n== {name}: {', '.join(f'{s} ({role})' for s, role in zip(scenes, ['validation'] * len(protocol['validation']) + ['test'] * len(protocol['test'])))}")
        print(f"{'prior':<17}{'prec':<6}" + "".join(f"{s + ' MRAE':>18}{'SAM':>7}" for s in scenes) + f"{'mean MRAE':>11}{'vs ref':>9}")
        reference = None
        for prior, precision in itertools.product(args.priors, args.precisions):
            evaluation = evaluate_checkpoint(checkpoint, scenes, args.data, baseline_data=[], prior=prior, precision=precision)
            scores = {scene: evaluation.scores[scene]["hprn"] for scene in scenes}
            mean = float(np.mean([s["mrae"] for s in scores.values()]))
            reference = mean if reference is None else reference
            results[f"{name}/{prior}/{precision}"] = scores
            cells = "".join(f"{scores[s]['mrae']:>18.4f}{scores[s]['sam']:>7.2f}" for s in scenes)
            print(f"{prior:<17}{precision:<6}{cells}{mean:>11.4f}{100 * (mean / reference - 1):>+8.2f}%", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
