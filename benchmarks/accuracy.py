"""Leave-one-scene-out cross-validation of the training recipes, tile size, and the bundled models.

Every model is a recipe, ``configs/<name>.toml``, whose ``train`` lists every
scene. ``--cv`` trains each fold of each ``--variants`` entry (the recipe with
the overrides of :data:`VARIANTS`) on all scenes but one and scores it, with the
ridge, kNN and flat baselines fitted on the same scenes, on the one held out
(:mod:`hprn_geo.evaluate.crossval`) at every snapshot step, with colour-consistent
output on and off; finished folds are reused. ``--summary`` prints every row's
means and the one :func:`choose` picks (variant, step, colour consistency) with
the command that trains the bundled model (``hprn-geo train --config
configs/<name>.toml --steps <step>``). ``--tiles`` scores the recipe's folds at
that step at several prediction tiles and picks the largest whose mean CV MRAE
is within 1 % of the best. ``--lookup-sweep`` scores the untrained lookup start alone at several table sides and
neighbour counts (:func:`lookup_sweep`), ``--linear-sweep`` the untrained linear start at several floors and
blends with the plain map (:func:`linear_sweep`). ``--seams`` measures how far tiled prediction of a scene larger than a tile
strays from predicting it whole, per overlap (:func:`seam_deviation`), the measurement behind
:data:`BUNDLED_OVERLAP`. ``--write-weights`` bundles ``out/runs/<name>/model.pt`` with the CV table, the
ablation rows, the tile and :data:`BUNDLED_OVERLAP` in its card.

Run from the repository root: ``.venv/bin/python benchmarks/accuracy.py --help``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from hprn_geo.evaluate import evaluate_checkpoint
from hprn_geo.evaluate.crossval import CrossValidation, cross_validate, fold_checkpoints, fold_config, load_fold
from hprn_geo.metrics import mrae, sam
from hprn_geo.model import build_model, linear_init, lookup_init
from hprn_geo.registry import ModelCard, load_checkpoint, save_checkpoint, sha256
from hprn_geo.scenes import load_scene, scene_name, training_pairs
from hprn_geo.train import TrainConfig, load_config
from hprn_geo.train.config import ADDED_LATER
from hprn_geo.train.data import renderer_for
from hprn_geo.train.loop import protocol

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "hprn_geo" / "weights"
LANDSAT = ROOT.parent / "shared" / "data" / "geo" / "RGB.byte.tif"
BUNDLED_OVERLAP = 32
"""The bundled cards' overlap: at tile 256 each pixel is computed 1.31 times instead of 2.02 (overlap 76,
the tile-scaled overlap the cards had), and ``--seams`` finds tiled prediction as close to whole-scene
prediction as at 76 (docs/accuracy.md, "Overlap")."""
_CLEAN = {"white_balance_std": 0.0, "gamma_range": (1.0, 1.0), "quantize_fraction": 0.0, "blur_sigma": 0.0}
_SHORT = {"steps": 300, "snapshots": (25, 50, 75, 100, 150, 200, 250)}
_SSRM = {"switches": {}, "init": "linear"}
_LINEAR = {"switches": {"ssrm": False}, "init": "linear"}
_GENTLE = {**_SHORT, **_SSRM, "spectral_tilt": 0.0, "init_floor": 0.0, "fixed_camera_fraction": 1.0}
_FIRST = {**_CLEAN, **_SHORT, **_SSRM, "spectral_tilt": 0.0, "init_floor": 0.0, "lr": 3e-4, "ema": 0.0}
_LONG = {**_LINEAR, "steps": 1000, "snapshots": (100, 200, 300, 500, 700)}
VARIANTS: dict[str, dict] = {
    "recipe": {},
    "first": {
        **_FIRST, "white_balance_std": 0.1, "gamma_range": (0.9, 1.1), "quantize_fraction": 0.3, "blur_sigma": 0.7,
        "fixed_camera_fraction": 0.5,
    },
    "gentle": _GENTLE,
    **{f"relative_{floor}": {**_GENTLE, "init_floor": floor} for floor in (0.01, 0.02, 0.05, 0.1)},
    "cameras": {**_SSRM, "init_floor": 0.02, "fixed_camera_fraction": 0.5, "steps": 600, "snapshots": (25, 50, 100, 150, 200, 250, 300, 400, 500)},
    "ssrm": {**_SHORT, **_SSRM},
    **{f"floor_{floor}": {**_SHORT, **_LINEAR, "init_floor": floor} for floor in (0.015, 0, 0.02, 0.1)},
    "no_tilt": {**_SHORT, **_LINEAR, "spectral_tilt": 0.0, "init_floor": 0.02},
    "long": {**_LONG, "init_floor": 0.02, "snapshots": (100, 200, 300, 400, 500, 600, 800)},
    "fast": {**_LONG, "lr": 5e-4, "init_floor": 0},
    "fast_0.02": {**_LONG, "lr": 5e-4, "init_floor": 0.02},
    "no_tilt_floor_0": {**_SHORT, **_LINEAR, "spectral_tilt": 0.0, "init_floor": 0.0},
    "lookup": {**_SHORT, "switches": {"ssrm": False, "lookup": 128}, "init": "lookup"},
    "nir_lookup": {**_SHORT, "switches": {"ssrm": False, "lookup": 128, "in_channels": 4}, "init": "lookup", "init_floor": 0.0},
    "nir_linear": {**_SHORT, "switches": {"ssrm": False, "in_channels": 4}, "init": "linear", "init_floor": 0.02},
    "blend_0.005_0.5": {**_SHORT, **_LINEAR, "init_floor": 0.005, "init_plain": 0.5},
    "no_mrae": {**_SHORT, **_SSRM, "init_floor": 0.02, "mrae_weight": 0.0},
    "no_ssrm": {**_SHORT, **_LINEAR},
    "compact": {**_SHORT, **_SSRM, "preset": "compact"},
    "previous": {
        **_SHORT, **_SSRM, "spectral_tilt": 0.0, "init_floor": 0.0, "mrae_weight": 0.0, "scene_weights": "positions",
        "lr": 2.5e-4, "warmup": 0, "power": 1.5, "ema": 0.0, "preset": "compact", "patch_size": 40,
    },
}
"""Ablation rows: overrides of the recipe (``configs/<name>.toml``), in the order they were tried.
``first``: the first cross-validated recipe (lr 3e-4, no moving average, plain linear start, photo
degradations); ``gentle``: lr 1e-4 with a moving average of the weights, plain linear start, no
camera augmentation, no tilt; ``relative_<floor>``: ``gentle`` from the relative linear fit;
``cameras``: the recipe with SSRM and half of the patches through the other cameras, 600 steps;
``ssrm``: the recipe with SSRM and its SLIC prior; ``floor_<f>``: the recipe without SSRM from a linear start of
floor f (0: the plain least-squares start; ``floor_0.02``: vnir31's relative start, the first recipe of the
satellite models); ``long``: ``floor_0.02`` for 1000 steps (``fast``: ``floor_0`` for 1000 steps at
lr 5e-4; ``fast_0.02``: and from the relative start); ``no_tilt``: ``floor_0.02`` without the spectral tilt
(``no_tilt_floor_0``: and from the plain least-squares start); ``lookup``: no SSRM, a 128 x 128 chromaticity
lookup table started at the training pixels' kNN (:func:`hprn_geo.model.lookup_init`); ``nir_lookup``, ``nir_linear``
(models with a NIR input channel): ``lookup`` (over R, G, B; the NIR reaches the output through the network only),
and no SSRM from the relative linear start (floor 0.02) of all four channels; ``blend_0.005_0.5``: no SSRM from
the blend ``0.5 * W_plain + 0.5 * W_0.005`` of the plain and the relative least-squares maps (the ``plain`` of
:func:`hprn_geo.model.linear_init`; ``vnir31``'s recipe is the same at plain 0.25, run as ``blend_0.005_0.25``; both
chosen on ``--linear-sweep``, the start alone); ``no_mrae``: ``ssrm``
without the relative-error term; ``no_ssrm``: no SSRM, the relative linear start of the recipe's floor (``vnir31``'s
recipe before the blend, at floor 0.02, and the satellite models' before ``lookup``); ``compact``: ``ssrm`` at the compact preset; ``previous``: the loss, sampling, schedule and preset of the models bundled before
cross-validation. Every row but the recipe sets its start and ``switches`` itself, so it means the same for
every model (``cameras`` and ``no_mrae``, run for ``vnir31`` only, pin the floor 0.02 of its recipe then; ``ssrm``,
``lookup`` and ``no_ssrm`` take the model's recipe floor: ``vnir31``'s ``ssrm`` and ``lookup`` folds were trained
under its ``floor_0.02`` recipe, so rerunning them now needs another ``--out``); all but ``cameras``, ``long`` and ``fast*`` run 300 steps."""


CV_OF = {"vnir31_photo": ("vnir31", "cameras", "camera")}
"""A model whose recipe is another's cross-validated row: model -> (that model, row, the column it is chosen by)."""


def variant(config: TrainConfig, name: str) -> TrainConfig:
    """The recipe with one row's overrides; a row other than the recipe keeps the fields added after the rows
    were written (:data:`~hprn_geo.train.config.ADDED_LATER`, e.g. ``init_plain``) at their old value unless it sets them."""
    return dataclasses.replace(config, **{**({} if name == "recipe" else ADDED_LATER), **VARIANTS[name]})


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


def choose(rows: list[dict], column: str = "own") -> dict:
    """The rule, fixed before the folds were scored: the lowest mean CV MRAE (the mean of the
    own-convention and held-out-camera MRAEs where both exist) among rows whose own-convention
    SAM is no worse than the best baseline's by MRAE. With ``column="camera"`` (a model for
    photographs from unknown cameras): the lowest held-out-camera MRAE among rows whose
    held-out-camera SAM is no worse than the best baseline's there."""
    baselines = [r for r in rows if r["variant"] == "baselines"]
    best_baseline = min(baselines, key=lambda r: r[column]["mrae"])
    models = [r for r in rows if r["variant"] != "baselines" and column in r]
    candidates = [r for r in models if r[column]["sam"] <= best_baseline[column]["sam"]] or models

    def score(row: dict) -> float:
        if column != "own":
            return float(row[column]["mrae"])
        return float(np.mean([row["own"]["mrae"]] + ([row["camera"]["mrae"]] if "camera" in row else [])))

    return min(candidates, key=score)


def print_summary(name: str, rows: list[dict], column: str = "own") -> dict:
    """The ablation table of a model and the row the rule chooses."""
    print(f"\n== {name}: mean over the held-out scenes (own convention | held-out camera)")
    for row in rows:
        camera = f"   {row['camera']['mrae']:.4f} / {row['camera']['sam']:5.2f}°" if "camera" in row else ""
        print(f"  {row['variant']:<10} {row['method']:<14} {row['own']['mrae']:.4f} / {row['own']['sam']:5.2f}°{camera}")
    chosen = choose(rows, column)
    print(f"  chosen: {chosen['variant']} {chosen['method']}")
    return chosen


def chosen_step(chosen: dict) -> tuple[int, bool]:
    """(step, colour-consistent) of a chosen row's method ``hprn[-cc]@<step>``."""
    name, _, step = chosen["method"].partition("@")
    return int(step), name.endswith("-cc")


def scaled_overlap(config: TrainConfig, tile: int) -> int:
    """The config's overlap scaled with the tile (patch -> tile), below half the tile."""
    return min(config.overlap * tile // config.patch_size, (tile - 1) // 2)


def tile_sweep(config: TrainConfig, folds: Path, tiles: list[int], step: int, consistent: bool, device: str) -> dict[int, float]:
    """tile -> mean CV MRAE of the folds in ``folds`` at ``step`` predicted at that tile (overlap scaled with it)."""
    sweep = {}
    for tile in tiles:
        overlap = scaled_overlap(config, tile)
        scores = []
        for scene in config.train:
            path = fold_checkpoints(folds / scene_name(scene), fold_config(config, scene))[step]
            checkpoint = load_fold(config, path)
            evaluation = evaluate_checkpoint(
                checkpoint, [scene], config.data_dir, srf_dir=config.srf_dir, edge_clamp_nm=config.edge_clamp_nm,
                baseline_data=[], tile=tile, overlap=overlap, colour_consistent=consistent, device=device,
            )  # fmt: skip
            scores.append(evaluation.mean()["hprn"]["mrae"])
        sweep[tile] = float(np.mean(scores))
        print(f"  tile {tile:>4} (overlap {overlap:>3}): mean CV MRAE {sweep[tile]:.4f}")
    return sweep


def start_folds(config: TrainConfig) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per held-out scene of the recipe: the training pixels' rgb (C, N) and spectra (B, N) of the
    other scenes, and the held-out scene's valid pixels, rgb (C, M) and truth (B, M), which ``--cv`` scores."""
    renderer = renderer_for(config)
    scenes = {s: load_scene(s, config.wavelengths, config.data_dir, config.fwhm, config.edge_clamp_nm) for s in config.train}
    for held in config.train:
        rgb, spectra = training_pairs([scenes[s] for s in config.train if s != held], renderer)
        yield rgb, spectra, renderer.fixed(scenes[held].cube)[:, scenes[held].valid], scenes[held].spectra()


def lookup_sweep(config: TrainConfig, sides: list[int], neighbours: list[int]) -> dict[tuple[int, int], list[float]]:
    """(table side, neighbours) -> mean CV [MRAE, SAM] of the untrained lookup start alone
    (:func:`hprn_geo.model.lookup_init`, no training): each fold's table filled from its training
    scenes, scored on the valid pixels of the held-out scene."""
    scores: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for rgb, spectra, held, truth in start_folds(config):
        image = torch.from_numpy(held[None, :3, :, None]).float()  # (1, 3, M, 1)
        for side in sides:
            model = build_model(config.preset, config.bands, ssrm=False, lookup=side)
            for k in neighbours:
                lookup_init(model, rgb, spectra, k)
                with torch.no_grad():
                    out = model.lookup(image)[0, :, :, 0].numpy()  # type: ignore[misc]
                scores.setdefault((side, k), []).append((mrae(out, truth), sam(out, truth)))
    sweep = {key: np.mean(values, axis=0).tolist() for key, values in scores.items()}
    for (side, k), (error, angle) in sweep.items():
        print(f"  side {side:>4}, {k:>2} neighbours: mean CV MRAE {error:.4f} / SAM {angle:5.2f}°")
    return sweep


def linear_sweep(config: TrainConfig, floors: list[float], plains: list[float]) -> dict[tuple[float, float], list[float]]:
    """(floor, plain) -> mean CV [MRAE, SAM] of the untrained linear start alone
    (:func:`hprn_geo.model.linear_init` with ``floor`` and ``plain``, no training), scored as :func:`lookup_sweep`."""
    model = build_model(config.preset, config.bands, **{**config.switches, "ssrm": False})
    scores: dict[tuple[float, float], list[tuple[float, float]]] = {}
    for rgb, spectra, held, truth in start_folds(config):
        for floor in floors:
            for plain in plains:
                out = linear_init(model, rgb, spectra, floor, plain).T @ held
                scores.setdefault((floor, plain), []).append((mrae(out, truth), sam(out, truth)))
    sweep = {key: np.mean(values, axis=0).tolist() for key, values in scores.items()}
    for (floor, plain), (error, angle) in sweep.items():
        print(f"  floor {floor:<6} plain {plain:<5}: mean CV MRAE {error:.4f} / SAM {angle:5.2f}°")
    return sweep


def largest_good_tile(sweep: dict[int, float], margin: float = 0.01) -> int:
    """The largest tile whose mean CV MRAE is within ``margin`` (relative) of the best."""
    best = min(sweep.values())
    return max(tile for tile, value in sweep.items() if value <= (1 + margin) * best)


def seam_deviation(name: str, overlaps: list[int], size: int = 768) -> dict[int, tuple[float, float]]:
    """overlap -> (mean, 99th percentile) relative deviation of bundled model ``name`` tiled at its card's tile
    from the same model run on the whole scene as one tile, on the real Landsat scene's top-left
    ``size`` x ``size`` (8-bit DN / 255 x 0.6, its nodata collar excluded)."""
    import rasterio

    from hprn_geo.predict import PredictOptions, Predictor
    from hprn_geo.registry import resolve

    with rasterio.open(LANDSAT) as src:
        rgb = src.read(window=((0, size), (0, size))).astype(np.float32) / 255.0 * 0.6
    valid = (rgb > 0).all(axis=0)
    tile = resolve(model=name).card.tile

    def predict(tile: int, overlap: int) -> np.ndarray:
        return Predictor(resolve(model=name), PredictOptions(tile=tile, overlap=overlap, device="cpu")).predict_array(rgb, valid)

    whole = predict(max(rgb.shape[1:]), 0)[:, valid]
    deviation = {}
    for overlap in overlaps:
        rel = np.abs(predict(tile, overlap)[:, valid] - whole) / np.maximum(np.abs(whole), 1e-3)
        deviation[overlap] = (float(rel.mean()), float(np.percentile(rel, 99)))
        print(f"  {name} tile {tile} overlap {overlap:>3}: mean {deviation[overlap][0]:.2e}, p99 {deviation[overlap][1]:.2e}")
    return deviation


def cv_record(name: str, out: Path, chosen: dict, rows: list[dict], column: str) -> dict:
    """What the card keeps: the chosen method's and the baselines' per-scene CV scores (own convention and,
    where scored, the held-out camera), their means, and every ablation row's means."""
    method, keep = chosen["method"], {chosen["method"], "ridge", "knn", "flat"}
    record = {"recipe": chosen["variant"], "method": method, "chosen_by": column, "rule": " ".join(choose.__doc__.split())}
    for label, suffix in (("own", ""), ("camera", "-*")):
        paths = sorted((out / name).glob(f"{chosen['variant']}{suffix}.json"))
        if paths:
            data = CrossValidation.from_dict(json.loads(paths[0].read_text()))
            record[label] = {
                "rgb": data.info.get("rgb"),
                "scenes": {scene: {m: v for m, v in scores.items() if m in keep} for scene, scores in data.scores.items()},
                "mean": {m: v for m, v in data.mean().items() if m in keep},
            }
    record["ablation"] = [{"variant": r["variant"], "method": r["method"], "own": r["own"], "camera": r.get("camera")} for r in rows]
    return record


def bundle(config: TrainConfig, record: dict, tile: int, sweep: dict, runs: Path) -> str:
    """Write the model trained on all scenes as ``hprn_geo/weights/<name>.pt`` + ``.json``, register both sha256."""
    checkpoint = load_checkpoint(runs / config.name / "model.pt")
    step, consistent = chosen_step(record)
    if checkpoint.card.scores["protocol"] != json.loads(json.dumps(protocol(config.replace(steps=step)))):
        raise SystemExit(f"{runs / config.name} was not trained by configs/{config.name}.toml with --steps {step}")
    overlap = min(BUNDLED_OVERLAP, (tile - 1) // 2)
    scores = {**checkpoint.card.scores, "cv": record, "tile_sweep": {str(t): v for t, v in sweep.items()}}
    card: ModelCard = dataclasses.replace(
        checkpoint.card, tile=tile, overlap=overlap, scores=scores, colour_consistent=consistent
    )
    path = WEIGHTS / f"{card.name}.pt"
    digest = save_checkpoint(path.with_suffix(".tmp"), checkpoint.model, card)
    os.replace(path.with_suffix(".tmp"), path)
    card_path = path.with_suffix(".json")
    card_path.write_text(json.dumps(card.to_dict(), indent=2) + "\n")
    index_path = WEIGHTS / "index.json"
    index = json.loads(index_path.read_text()) if index_path.is_file() else {}
    index[card.name] = {"file": path.name, "card": card_path.name, "sha256": digest, "card_sha256": sha256(card_path)}
    index_path.write_text(json.dumps(dict(sorted(index.items())), indent=2) + "\n")
    return digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["vnir31", "rosis103"], help="configs/<name>.toml")
    parser.add_argument("--cv", action="store_true", help="cross-validate the --variants")
    parser.add_argument("--variants", nargs="+", default=["recipe"], choices=list(VARIANTS))
    parser.add_argument("--summary", action="store_true", help="print every variant's mean scores and the chosen one")
    parser.add_argument("--tiles", nargs="*", type=int, help="score the recipe's folds at these tiles")
    parser.add_argument("--seams", nargs="*", type=int, help="tiled vs whole-scene deviation at these overlaps")
    parser.add_argument("--lookup-sweep", nargs="*", type=int, help="score the untrained lookup start at these table sides")
    parser.add_argument("--linear-sweep", nargs="*", type=float, help="score the untrained linear start at these floors")
    parser.add_argument("--write-weights", action="store_true", help="bundle out/runs/<name>/model.pt with its CV table")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "cv", help="folder of the folds")
    parser.add_argument("--runs", type=Path, default=ROOT / "out" / "runs", help="folder of the final runs <name>/")
    parser.add_argument("--device", default="auto", help="where the folds are scored: auto (CUDA when present), cpu, cuda")
    args = parser.parse_args()
    for name in args.models:
        config = load_config(ROOT / "configs" / f"{name}.toml")
        if args.cv:
            for row in args.variants:
                run_cv(config, row, args.out, args.device)
                for camera in config.holdout_cameras:
                    run_cv(config, row, args.out, args.device, camera)
        if args.seams:
            seam_deviation(name, args.seams)
        if args.lookup_sweep:
            print(f"\n== {name}: the lookup start alone (no training), leave-one-scene-out")
            lookup_sweep(config, args.lookup_sweep, [3, 5, 10])
        if args.linear_sweep:
            print(f"\n== {name}: the linear start alone (no training), leave-one-scene-out")
            linear_sweep(config, args.linear_sweep, [0.0, 0.25, 0.5, 0.75, 1.0])
        if not (args.summary or args.tiles or args.write_weights):
            continue
        source, row, column = CV_OF.get(name, (name, "recipe", "own"))
        rows = [r for r in summary(source, args.out) if source == name or r["variant"] in (row, "baselines")]
        chosen = print_summary(name, rows, column)
        if chosen["variant"] != row and (args.tiles or args.write_weights):
            raise SystemExit(f"{name}: the rule chose row {chosen['variant']!r}; make it configs/{name}.toml's recipe first")
        step, consistent = chosen_step(chosen)
        print(f"  train the bundled model: hprn-geo train --config configs/{name}.toml --out out/runs/{name} --steps {step}")
        tile, sweep = config.patch_size, {}
        if args.tiles:
            print(f"\n== {name}: the recipe's folds at step {step} against prediction tile")
            sweep = tile_sweep(config, args.out / source / row, args.tiles, step, consistent, args.device)
            tile = largest_good_tile(sweep)
            print(f"  default tile (largest within 1 % of the best mean CV MRAE): {tile}")
        if args.write_weights:
            record = cv_record(source, args.out, chosen, rows, column)
            print(f"  bundled {name}: sha256 {bundle(config, record, tile, sweep, args.runs)}")


if __name__ == "__main__":
    main()
