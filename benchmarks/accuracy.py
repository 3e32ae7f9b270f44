"""Leave-one-scene-out cross-validation of the training recipes, tile size, and the bundled models.

Every model is a recipe, ``configs/<name>.toml``, whose ``train`` lists every
scene. ``--cv`` trains each fold of each ``--variants`` entry (the recipe with
the overrides of :data:`VARIANTS`) on all scenes but one and scores it, with the
ridge, kNN and flat baselines fitted on the same scenes, on the one held out
(:mod:`hprn_geo.evaluate.crossval`); finished folds are reused. ``--tiles``
scores the recipe's folds at several prediction tiles and picks the largest
whose mean CV MRAE is within 1 % of the best. ``--write-weights`` bundles the
model trained on all scenes (``out/runs/<name>/model.pt``, from
``hprn-geo train --config configs/<name>.toml``) with the recipe's CV table and
the chosen tile in its card.

Run from the repository root: ``.venv/bin/python benchmarks/accuracy.py --help``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from hprn_geo.evaluate.crossval import CrossValidation, cross_validate, score_fold
from hprn_geo.registry import ModelCard, load_checkpoint, save_checkpoint
from hprn_geo.train import TrainConfig, load_config

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "hprn_geo" / "weights"
_CLEAN = {"white_balance_std": 0.0, "gamma_range": (1.0, 1.0), "quantize_fraction": 0.0, "blur_sigma": 0.0}
_GENTLE = {**_CLEAN, "fixed_camera_fraction": 1.0, "lr": 1e-4, "ema": 0.98}
VARIANTS: dict[str, dict] = {
    "recipe": {},
    "clean": {**_CLEAN, "fixed_camera_fraction": 1.0},
    "gentle": {**_GENTLE},
    **{f"relative_{floor}": {**_GENTLE, "init_floor": floor} for floor in (0.01, 0.02, 0.05, 0.1)},
    **{f"cameras_{floor}": {**_GENTLE, "init_floor": floor, "fixed_camera_fraction": 0.5} for floor in (0.01, 0.02)},
    **{f"tilt_{floor}": {**_GENTLE, "init_floor": floor, "spectral_tilt": 0.3} for floor in (0.02, 0.1)},
    "previous": {**_CLEAN, "mrae_weight": 0.0, "scene_weights": "positions", "lr": 2.5e-4, "warmup": 0, "power": 1.5},
    "no_mrae": {"mrae_weight": 0.0},
    "no_ssrm": {"switches": {"ssrm": False}},
    "compact": {"preset": "compact"},
}
"""Ablation rows: overrides of the recipe. ``clean``: no camera or photo augmentation (the model's
own convention only); ``gentle``: ``clean`` at a third of the learning rate, keeping a moving
average of the weights (decay 0.98); ``relative_<floor>``: ``gentle`` from the relative linear fit
(``init_floor``); ``cameras_<floor>``: the same with half of the patches through the other cameras; ``tilt_<floor>``:
the same with a spectral tilt of 0.3;
``previous``: the loss, augmentation, scene sampling and learning-rate schedule
of the models bundled before cross-validation (same scenes, preset and steps)."""


def variant(config: TrainConfig, name: str) -> TrainConfig:
    """The recipe with one row's overrides."""
    return dataclasses.replace(config, **VARIANTS[name])


def run_cv(config: TrainConfig, name: str, out: Path, device: str, camera: str | None = None) -> CrossValidation:
    """Cross-validate one variant, print its table and write ``out/<model>/<variant>[-<camera>].json``."""
    result = cross_validate(variant(config, name), out / config.name / name, device=device, progress=False, camera=camera)
    seen = f"through {camera}, a camera it never saw" if camera else "through its own input convention"
    print(f"\n== {config.name}, {name}: leave-one-scene-out, MRAE / SAM on the held-out scene, RGB {seen}")
    print(result.table())
    suffix = f"-{camera}" if camera else ""
    (out / config.name / f"{name}{suffix}.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    return result


def summary(name: str, out: Path) -> list[dict]:
    """Every cross-validated variant x step x colour consistency of a model, with its mean CV scores.

    Each row: ``variant``, ``method`` (``hprn@<step>`` or ``hprn-cc@<step>``), ``own`` (mean MRAE
    and SAM through the model's input convention) and, where scored, ``camera`` (the same through
    its held-out camera); the baselines' means come as rows of variant ``baselines``.
    """
    rows = []
    for path in sorted((out / name).glob("*.json")):
        variant, _, camera = path.stem.partition("-")
        if camera:
            continue
        own = CrossValidation.from_dict(json.loads(path.read_text())).mean()
        others = sorted((out / name).glob(f"{variant}-*.json"))
        seen = CrossValidation.from_dict(json.loads(others[0].read_text())).mean() if others else {}
        for method, scores in own.items():
            if "@" not in method and method.startswith("hprn"):
                continue
            row = {"variant": variant if method.startswith("hprn") else "baselines", "method": method, "own": scores}
            if method in seen:
                row["camera"] = seen[method]
            if row["variant"] != "baselines" or not any(r["method"] == method for r in rows):
                rows.append(row)
    return rows


def choose(rows: list[dict]) -> dict:
    """The rule, fixed before the folds were scored: the lowest mean CV MRAE (the mean of the
    own-convention and held-out-camera MRAEs where both exist) among rows whose own-convention
    SAM is no worse than the best baseline's by MRAE."""
    baselines = [r for r in rows if r["variant"] == "baselines"]
    best_baseline = min(baselines, key=lambda r: r["own"]["mrae"])
    allowed = [r for r in rows if r["variant"] != "baselines" and r["own"]["sam"] <= best_baseline["own"]["sam"]]
    candidates = allowed or [r for r in rows if r["variant"] != "baselines"]

    def score(row: dict) -> float:
        return float(np.mean([row["own"]["mrae"]] + ([row["camera"]["mrae"]] if "camera" in row else [])))

    return min(candidates, key=score)


def print_summary(name: str, rows: list[dict]) -> dict:
    """The ablation table of a model and the row the rule chooses."""
    print(f"\n== {name}: mean over the held-out scenes (own convention | held-out camera)")
    for row in rows:
        camera = f"   {row['camera']['mrae']:.4f} / {row['camera']['sam']:5.2f}°" if "camera" in row else ""
        print(f"  {row['variant']:<10} {row['method']:<14} {row['own']['mrae']:.4f} / {row['own']['sam']:5.2f}°{camera}")
    chosen = choose(rows)
    print(f"  chosen: {chosen['variant']} {chosen['method']}")
    return chosen


def tile_sweep(config: TrainConfig, out: Path, tiles: list[int], device: str) -> dict[int, float]:
    """tile -> mean CV MRAE of the recipe's folds (last step) predicted at that tile."""
    sweep = {}
    for tile in tiles:
        overlap = min(config.overlap * tile // config.patch_size, (tile - 1) // 2)
        folds = [
            score_fold(config, scene, out / config.name / "recipe" / scene.rstrip("*_?"), device, tile=tile, overlap=overlap)
            for scene in config.train
        ]
        sweep[tile] = float(np.mean([fold["hprn"]["mrae"] for fold in folds]))
        print(f"  tile {tile:>4} (overlap {overlap:>3}): mean CV MRAE {sweep[tile]:.4f}")
    return sweep


def largest_good_tile(sweep: dict[int, float], margin: float = 0.01) -> int:
    """The largest tile whose mean CV MRAE is within ``margin`` (relative) of the best."""
    best = min(sweep.values())
    return max(tile for tile, value in sweep.items() if value <= (1 + margin) * best)


def bundle(config: TrainConfig, cv: dict, tile: int, runs: Path) -> str:
    """Write the model trained on all scenes as ``hprn_geo/weights/<name>.pt`` + ``.json``, register its sha256."""
    checkpoint = load_checkpoint(runs / config.name / "model.pt")
    overlap = min(config.overlap * tile // config.patch_size, (tile - 1) // 2)
    scores = {**checkpoint.card.scores, "cv": cv}
    card: ModelCard = dataclasses.replace(checkpoint.card, tile=tile, overlap=overlap, scores=scores)
    path = WEIGHTS / f"{card.name}.pt"
    digest = save_checkpoint(path.with_suffix(".tmp"), checkpoint.model, card)
    os.replace(path.with_suffix(".tmp"), path)
    path.with_suffix(".json").write_text(json.dumps(card.to_dict(), indent=2) + "\n")
    index_path = WEIGHTS / "index.json"
    index = json.loads(index_path.read_text()) if index_path.is_file() else {}
    index[card.name] = {"file": path.name, "card": path.with_suffix(".json").name, "sha256": digest}
    index_path.write_text(json.dumps(dict(sorted(index.items())), indent=2) + "\n")
    return digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["vnir31", "rosis103"], help="configs/<name>.toml")
    parser.add_argument("--cv", action="store_true", help="cross-validate the --variants")
    parser.add_argument("--variants", nargs="+", default=["recipe"], choices=list(VARIANTS))
    parser.add_argument("--summary", action="store_true", help="print every variant's mean scores and the chosen one")
    parser.add_argument("--tiles", nargs="*", type=int, help="score the recipe's folds at these tiles")
    parser.add_argument("--write-weights", action="store_true", help="bundle out/runs/<name>/model.pt with its CV table")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "cv", help="folder of the folds")
    parser.add_argument("--runs", type=Path, default=ROOT / "out" / "runs", help="folder of the final runs <name>/")
    parser.add_argument("--device", default="cpu", help="where the folds are scored: cpu, cuda, auto")
    args = parser.parse_args()
    for name in args.models:
        config = load_config(ROOT / "configs" / f"{name}.toml")
        if args.cv:
            for row in args.variants:
                run_cv(config, row, args.out, args.device)
                for camera in config.holdout_cameras:
                    run_cv(config, row, args.out, args.device, camera)
        if args.summary:
            print_summary(name, summary(name, args.out))
        tile = config.patch_size
        if args.tiles:
            print(f"\n== {name}: recipe's folds against prediction tile")
            tile = largest_good_tile(tile_sweep(config, args.out, args.tiles, args.device))
            print(f"  default tile (largest within 1 % of the best mean CV MRAE): {tile}")
        if args.write_weights:
            cv = json.loads((args.out / name / "recipe.json").read_text())
            print(f"  bundled {name}: sha256 {bundle(config, cv, tile, args.runs)}")


if __name__ == "__main__":
    main()
