"""Held-out accuracy of the trained models against the classical baselines, and tile size.

For each model (a ``configs/<name>.toml``): the checkpoint (a run folder's
``model.pt``, else the bundled one) and the baselines fitted on the config's
training scenes are scored on its validation scene (used for early stopping)
and its test scenes (never used for training or stopping), with MRAE and SAM
per scene; then the model's MRAE against prediction tile size. The default tile
is the patch size unless another tile has a validation MRAE more than 1 % lower
(the test scene is never used to choose anything). ``--write-weights`` stores the checkpoint, with these scores
and that tile in its card, as a bundled model (``hprn_geo/weights``).
``--ablations`` trains the model without TCRM, without SSRM and with one SLIC
scale, plus the full model, each for ``--ablation-steps`` steps on the same
data, and scores them on the test scenes.

Run from the repository root: ``.venv/bin/python benchmarks/accuracy.py --help``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from hprn_geo.evaluate import Evaluation, evaluate_checkpoint
from hprn_geo.registry import Checkpoint, ModelCard, load_bundled, load_checkpoint, save_checkpoint
from hprn_geo.train import TrainConfig, load_config
from hprn_geo.train.loop import protocol, train

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "hprn_geo" / "weights"
ABLATIONS = {"full": {}, "no_tcrm": {"tcrm": False}, "no_ssrm": {"ssrm": False}, "one_scale": {"scales": [12]}}


def checkpoint_for(name: str, runs: Path) -> tuple[Checkpoint, str]:
    """The run's best checkpoint when it exists, else the bundled model; and where it came from."""
    path = runs / name / "model.pt"
    return (load_checkpoint(path), str(path)) if path.is_file() else (load_bundled(name), f"bundled {name}")


def held_out(checkpoint: Checkpoint, config: TrainConfig, scenes: tuple[str, ...], **kwargs: object) -> Evaluation:
    """The model (and, unless told otherwise, the baselines fitted on the training scenes) on ``scenes``."""
    kwargs.setdefault("baseline_data", list(config.train))
    return evaluate_checkpoint(
        checkpoint, scenes, config.data_dir, srf_dir=config.srf_dir, edge_clamp_nm=config.edge_clamp_nm, **kwargs
    )


def tile_sweep(checkpoint: Checkpoint, config: TrainConfig, tiles: list[int]) -> dict[int, dict[str, float]]:
    """tile -> scene -> the model's MRAE, on the validation and test scenes."""
    scenes = config.validation + config.test
    sweep = {}
    for tile in tiles:
        overlap = fitting_overlap(checkpoint.card.overlap, tile)
        evaluation = held_out(checkpoint, config, scenes, baseline_data=[], tile=tile, overlap=overlap)
        sweep[tile] = {scene: scores["hprn"]["mrae"] for scene, scores in evaluation.scores.items()}
    return sweep


def fitting_overlap(overlap: int, tile: int) -> int:
    """The card's overlap, reduced where a small tile needs it (tile must exceed twice the overlap)."""
    return min(overlap, (tile - 1) // 2)


def best_tile(sweep: dict[int, dict[str, float]], config: TrainConfig, margin: float = 0.01) -> int:
    """The patch size, unless another tile beats it by more than ``margin`` (relative) in mean validation MRAE.

    The patch size is what the model was trained and validated at; a smaller
    tile costs many more tiles per scene, so it must earn its place.
    """
    def score(tile: int) -> float:
        return float(np.mean([sweep[tile][scene] for scene in config.validation]))

    best = min(sweep, key=score)
    if config.patch_size in sweep and score(best) >= (1 - margin) * score(config.patch_size):
        return config.patch_size
    return best


def table(title: str, evaluation: Evaluation) -> str:
    """Per-scene MRAE and SAM of every method, the model first."""
    methods = evaluation.methods
    lines = [title, f"{'scene':<20}" + "".join(f"{m + ' MRAE':>13}{m + ' SAM':>12}" for m in methods)]
    for scene, scores in [*evaluation.scores.items(), ("mean", evaluation.mean())]:
        lines.append(f"{scene:<20}" + "".join(f"{scores[m]['mrae']:>13.4f}{scores[m]['sam']:>12.2f}" for m in methods))
    return "\n".join(lines)


def bundle(checkpoint: Checkpoint, card: ModelCard) -> str:
    """Write ``<name>.pt`` and ``<name>.json`` into ``hprn_geo/weights`` and register their sha256."""
    path = WEIGHTS / f"{card.name}.pt"
    digest = save_checkpoint(path.with_suffix(".tmp"), checkpoint.model, card)
    os.replace(path.with_suffix(".tmp"), path)
    path.with_suffix(".json").write_text(json.dumps(card.to_dict(), indent=2) + "\n")
    index_path = WEIGHTS / "index.json"
    index = json.loads(index_path.read_text()) if index_path.is_file() else {}
    index[card.name] = {"file": path.name, "card": path.with_suffix(".json").name, "sha256": digest}
    index_path.write_text(json.dumps(dict(sorted(index.items())), indent=2) + "\n")
    return digest


def ablations(config: TrainConfig, runs: Path, steps: int) -> str:
    """Train every variant of :data:`ABLATIONS` for ``steps`` steps (resuming finished ones) and score them."""
    rows = [f"ablations of {config.name}: {steps} steps each, same data and seed; test scenes {', '.join(config.test)}"]
    for variant, switches in ABLATIONS.items():
        variant_config = dataclasses.replace(config, name=f"{config.name}-{variant}", switches=switches, steps=steps)
        run_dir = runs / variant_config.name
        result = train(variant_config, run_dir, resume=(run_dir / "state.pt").is_file(), progress=False)
        evaluation = held_out(load_checkpoint(run_dir / "model.pt"), config, config.test, baseline_data=[])
        scores = evaluation.mean()["hprn"]
        rows.append(
            f"{variant:<12} validation MRAE {result.best_val_mrae:.4f} (step {result.best_step})  "
            f"test MRAE {scores['mrae']:.4f}  test SAM {scores['sam']:.2f}"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["vnir31", "rosis103"], help="configs/<name>.toml to score")
    parser.add_argument("--runs", type=Path, default=ROOT / "out" / "runs", help="folder of run folders <name>/")
    parser.add_argument("--tiles", nargs="+", type=int, default=[32, 48, 64, 128])
    parser.add_argument("--write-weights", action="store_true", help="bundle the checkpoints with their scores")
    parser.add_argument("--ablations", action="store_true", help="train and score the ablations")
    parser.add_argument("--ablation-steps", type=int, default=150)
    parser.add_argument("--json", type=Path, help="write every score as JSON")
    args = parser.parse_args()
    report = {}
    for name in args.models:
        config = load_config(ROOT / "configs" / f"{name}.toml")
        checkpoint, origin = checkpoint_for(name, args.runs)
        sweep = tile_sweep(checkpoint, config, args.tiles)
        tile = best_tile(sweep, config)
        overlap = fitting_overlap(checkpoint.card.overlap, tile)
        validation, test = (
            held_out(checkpoint, config, scenes, tile=tile, overlap=overlap) for scenes in (config.validation, config.test)
        )
        print(f"\n== {name} ({origin}); tile {tile}, overlap {overlap}; baselines fitted on {', '.join(config.train)}")
        print(table("validation scene (used for early stopping and to pick the tile):", validation))
        print(table("test scenes (never used for training, stopping or choices):", test))
        print("MRAE against tile size (tiles >= the scene side predict the scene as one tile):")
        for t, scores in sweep.items():
            print(f"  tile {t:>4}: " + "  ".join(f"{s} {v:.4f}" for s, v in scores.items()))
        print(f"  default tile (patch size unless another is > 1 % better on validation): {tile}")
        scores = {
            **checkpoint.card.scores,
            "protocol": protocol(config),
            "validation": validation.scores,
            "test": test.scores,
            "test_mean": test.mean(),
            "tile_sweep": {str(t): s for t, s in sweep.items()},
        }
        card = dataclasses.replace(checkpoint.card, tile=tile, overlap=overlap, test_data=config.test, scores=scores)
        report[name] = {"origin": origin, "tile": tile, "scores": scores}
        if args.write_weights:
            print(f"  bundled {name}: sha256 {bundle(checkpoint, card)}")
        if args.ablations:
            print(ablations(config, args.runs, args.ablation_steps))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
