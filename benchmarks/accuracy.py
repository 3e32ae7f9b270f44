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
VARIANTS: dict[str, dict] = {
    "recipe": {},
    "clean": {**_CLEAN, "fixed_camera_fraction": 1.0},
    "previous": {**_CLEAN, "mrae_weight": 0.0, "scene_weights": "positions", "lr": 2.5e-4, "warmup": 0, "power": 1.5},
    "no_mrae": {"mrae_weight": 0.0},
    "no_ssrm": {"switches": {"ssrm": False}},
    "compact": {"preset": "compact"},
}
"""Ablation rows: overrides of the recipe. ``clean``: no camera or photo augmentation (the model's
own convention only); ``previous``: the loss, augmentation, scene sampling and learning-rate schedule
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
