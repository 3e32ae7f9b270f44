"""Leave-one-scene-out cross-validation of a training recipe against the baselines (docs/accuracy.md).

A recipe is a :class:`~hprn_geo.train.TrainConfig` whose ``train`` lists every scene. Fold *k* trains on
all scenes but scene *k* with a fixed schedule (no validation scene), then scores the model (at every
snapshot and at the end) and the baselines fitted on the same training scenes on scene *k*. Each fold
lives in ``runs/<scene>/`` (a normal, resumable run folder) with its ``scores.json``; a finished fold is
not trained again.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hprn_geo.evaluate.harness import MODEL, evaluate_checkpoint
from hprn_geo.errors import ConfigError
from hprn_geo.registry import Checkpoint, load_checkpoint
from hprn_geo.scenes import scene_name
from hprn_geo.train.config import TrainConfig, load_config
from hprn_geo.train.data import renderer_for
from hprn_geo.train.loop import train

__all__ = ["CrossValidation", "cross_validate", "fold_checkpoints", "fold_config", "load_fold", "score_fold"]


def fold_config(config: TrainConfig, scene: str) -> TrainConfig:
    """The fold that holds ``scene`` out: trained on the other scenes of ``config.train``, no validation."""
    if scene not in config.train:
        raise ValueError(f"{scene!r} is not one of the recipe's scenes {list(config.train)}")
    others = tuple(s for s in config.train if s != scene)
    return dataclasses.replace(config, name=f"{config.name}-cv-{scene_name(scene)}", train=others, validation=(), test=(scene,))


def _check_fold(run_dir: Path, fold: TrainConfig) -> None:
    """Refuse a fold folder that another configuration trained (it would be scored as this recipe's)."""
    written = run_dir / "config.json"
    if written.is_file() and load_config(None, **json.loads(written.read_text())).to_dict() != fold.to_dict():
        raise ConfigError(f"{run_dir} holds a fold of another configuration; remove it or choose another --out")


def fold_checkpoints(run_dir: Path, fold: TrainConfig) -> dict[int, Path]:
    """step -> checkpoint file of a finished fold (snapshots and the last step)."""
    found = {step: run_dir / f"model-{step}.pt" for step in fold.snapshots if step < fold.steps}
    return {**found, fold.steps: run_dir / "model.pt"}


def load_fold(config: TrainConfig, path: Path) -> Checkpoint:
    """A fold's checkpoint with the recipe's input response on its card (for colour-consistent
    scoring: folds trained before cards carried the response lack it)."""
    checkpoint = load_checkpoint(path)
    response = tuple(map(tuple, renderer_for(config).input_response().tolist()))
    return Checkpoint(checkpoint.model, dataclasses.replace(checkpoint.card, input_response=response))


def score_fold(
    config: TrainConfig, scene: str, run_dir: Path, device: str = "auto", camera: str | None = None, **predict: Any
) -> dict[str, dict[str, float]]:
    """Scores of a trained fold on its held-out scene: ``method -> metric -> value``.

    Methods: ``hprn@<step>`` for every snapshot and the last step, ``hprn``
    (the last step), the same with colour-consistent output (``hprn-cc@<step>``,
    ``hprn-cc``; the response is the recipe's input convention) and the baselines
    fitted on the fold's training scenes.

    Args:
        config: the recipe.
        scene: the held-out scene (its fold must be trained in ``run_dir``).
        run_dir: the fold's run folder.
        device: where the model runs (``"auto"``: CUDA when present).
        camera: render the held-out scene's RGB through this camera (one the model never saw,
            ``holdout_cameras``) instead of the model's convention; the baselines are still fitted on
            the model's convention, so neither side knows the camera.
        **predict: further :func:`~hprn_geo.evaluate.evaluate_checkpoint` options (``tile``, ``overlap``, ``prior``).
    """
    fold = fold_config(config, scene)
    scores: dict[str, dict[str, float]] = {}
    for step, path in sorted(fold_checkpoints(run_dir, fold).items()):
        checkpoint = load_fold(config, path)
        for consistent, name in ((False, MODEL), (True, f"{MODEL}-cc")):
            last = step == fold.steps and not consistent
            evaluation = evaluate_checkpoint(
                checkpoint, [scene], config.data_dir, srf_dir=config.srf_dir, edge_clamp_nm=config.edge_clamp_nm,
                baseline_data=list(fold.train) if last else [], device=device, camera=camera,
                baselines_see_card=camera is not None, colour_consistent=consistent, **predict,
            )  # fmt: skip
            methods = evaluation.scores[evaluation.scenes[0].name]
            scores[f"{name}@{step}"] = methods[MODEL]
            if step == fold.steps:
                scores[name] = methods[MODEL]
            if last:
                scores.update({m: v for m, v in methods.items() if m != MODEL})
    return scores


def _step(method: str) -> int:
    """The step of ``hprn@<step>`` (0 for other methods)."""
    return int(method.rpartition("@")[2]) if "@" in method else 0


@dataclass
class CrossValidation:
    """Per-scene scores of a recipe and the baselines over its folds.

    Attributes:
        recipe: the recipe's name.
        scores: scene -> method -> metric -> value.
        info: the protocol (scenes, steps, seconds per fold).
    """

    recipe: str
    scores: dict[str, dict[str, dict[str, float]]]
    info: dict[str, Any]

    @property
    def methods(self) -> list[str]:
        """Methods scored on every fold, the model first."""
        common = set.intersection(*(set(m) for m in self.scores.values()))
        return sorted(common, key=lambda m: (not m.startswith(MODEL), "@" in m, _step(m), "-cc" in m, m))

    def mean(self) -> dict[str, dict[str, float]]:
        """method -> metric -> mean over folds."""
        return {
            method: {
                metric: float(np.mean([self.scores[s][method][metric] for s in self.scores]))
                for metric in next(iter(self.scores.values()))[method]
            }
            for method in self.methods
        }

    def table(self, methods: Sequence[str] | None = None) -> str:
        """MRAE / SAM per held-out scene and the mean, one column per method."""
        methods = list(methods or self.methods)
        rows = [f"{'held-out scene':<22}" + "".join(f"{m:>20}" for m in methods)]
        for scene, scores in [*self.scores.items(), ("mean", self.mean())]:
            cells = "".join(f"{scores[m]['mrae']:>12.4f} /{scores[m]['sam']:>5.2f}°" for m in methods)
            rows.append(f"{scene:<22}" + cells)
        return "\n".join(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the protocol, per-scene scores and their means."""
        return {"recipe": self.recipe, **self.info, "scenes": self.scores, "mean": self.mean()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CrossValidation:
        """Inverse of :meth:`to_dict` (the means are recomputed)."""
        info = {k: v for k, v in data.items() if k not in ("recipe", "scenes", "mean")}
        return cls(data["recipe"], data["scenes"], info)


def cross_validate(
    config: TrainConfig,
    runs: str | Path,
    scenes: Sequence[str] | None = None,
    device: str = "auto",
    progress: bool = True,
    camera: str | None = None,
    **predict: Any,
) -> CrossValidation:
    """Train (or reuse) every fold of ``config`` and score it; see the module docstring.

    Args:
        config: the recipe; ``config.train`` lists every scene of the cross-validation.
        runs: folder of the fold run folders.
        scenes: the folds to run (default: every scene).
        device: where the model is scored, ``"auto"``: CUDA when present (training runs on the CPU).
        progress: a progress bar per fold.
        camera: score through this camera instead of the model's convention (:func:`score_fold`).
        **predict: further options of :func:`score_fold`.

    Returns:
        The per-scene scores of the folds run.
    """
    runs = Path(runs)
    scores, seconds = {}, {}
    for scene in scenes or config.train:
        name = scene_name(scene)
        run_dir = runs / name
        fold = fold_config(config, scene)
        _check_fold(run_dir, fold)
        if not (run_dir / "model.pt").is_file():
            result = train(fold, run_dir, resume=(run_dir / "state.pt").is_file(), progress=progress)
            (run_dir / "seconds.txt").write_text(f"{result.seconds:.1f}\n")
        scores[name] = score_fold(config, scene, run_dir, device, camera, **predict)
        timing = run_dir / "seconds.txt"
        seconds[name] = float(timing.read_text()) if timing.is_file() else None
        (run_dir / (f"scores-{camera}.json" if camera else "scores.json")).write_text(json.dumps(scores[name], indent=2) + "\n")
    info = {
        "scenes": list(scores), "steps": config.steps, "snapshots": list(config.snapshots), "train_seconds": seconds,
        "rgb": f"camera:{camera} (never seen in training)" if camera else "the model's input convention",
    }  # fmt: skip
    return CrossValidation(config.name, scores, info)
