"""The training loop: SOPC (+ relative error) loss, Adam with polynomial decay, scene-level validation, resume.

:func:`train` writes into its run folder ``state.pt`` (to ``--resume`` from), ``pool-<digest>.npz``,
``log.csv``, ``training.png``, ``model.pt`` + ``model.json`` (the best checkpoint, with its card) and
``model-<step>.pt`` at the config's ``snapshots``; see docs/training.md.
"""

from __future__ import annotations

import copy
import csv
import functools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from hprn_geo.errors import CheckpointError
from hprn_geo.figures import pyplot, save_figure
from hprn_geo.io.publish import published
from hprn_geo.metrics import mrae
from hprn_geo.model import HPRN, build_model, linear_init, lookup_init, relative_l1, sopc_loss
from hprn_geo.predict import PredictOptions, Predictor
from hprn_geo.registry import Checkpoint, ModelCard, save_checkpoint
from hprn_geo.train.config import TrainConfig
from hprn_geo.scenes import RGBRenderer, Scene, load_scene, training_pairs
from hprn_geo.train.data import PatchPool, renderer_for

__all__ = ["TrainResult", "Trainer", "config_scenes", "lr_factor", "model_card", "plot_log", "protocol", "train"]

_LOG_FIELDS = ("step", "loss", "lr", "val_mrae", "seconds")


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced.

    Attributes:
        checkpoint: the best model (registry format, card beside it as ``.json``).
        best_step: the step of the best validation MRAE.
        best_val_mrae: that MRAE (mean over validation scenes).
        steps_run: the last step trained.
        stopped_early: True when patience ran out before ``steps``.
        seconds: wall time of this call.
    """

    checkpoint: Path
    best_step: int
    best_val_mrae: float
    steps_run: int
    stopped_early: bool
    seconds: float


def model_card(config: TrainConfig, renderer: RGBRenderer, scores: dict | None = None) -> ModelCard:
    """The card of a model trained by ``config`` (tile = patch size: the size it was validated at)."""
    return ModelCard(
        name=config.name,
        wavelengths=tuple(float(w) for w in config.wavelengths),
        preset=config.preset,
        input=renderer.convention.describe(),
        patch_size=config.patch_size,
        tile=config.patch_size,
        overlap=config.overlap,
        fwhm=None if config.fwhm is None else (float(config.fwhm),) * config.bands,
        training_data=config.train,
        validation_data=config.validation,
        test_data=config.test,
        scores={"protocol": protocol(config), **(scores or {})},
        trained=True,
        input_response=tuple(map(tuple, renderer.input_response().tolist())),
        colour_consistent=True,
    )


_PROTOCOL_FIELDS = (
    "validation", "test", "edge_clamp_nm", "augment_cameras", "fixed_camera_fraction", "exposure", "noise_std",
    "holdout_cameras", "white_balance_std", "gamma_range", "quantize_fraction", "blur_sigma", "mrae_weight", "preset",
    "switches", "patch_size", "scene_weights", "spectral_tilt", "steps", "batch_size", "lr", "warmup", "power", "ema",
    "seed", "init", "init_floor", "init_plain",
)
"""The :class:`TrainConfig` fields of :func:`protocol`, in the card's order."""


def protocol(config: TrainConfig) -> dict:
    """How a model was trained and is to be scored (stored with its scores in the card)."""
    values = config.recorded()
    return {**{name: values[name] for name in _PROTOCOL_FIELDS if name in values}, "hardware": "CPU"}


class Schedule(Protocol):
    """What :func:`lr_factor` reads of a training configuration (:class:`TrainConfig`, a scene fit's)."""

    steps: int
    warmup: int
    power: float


def lr_factor(config: Schedule, step: int) -> float:
    """The learning rate at ``step`` over ``config.lr``: a linear warm-up over ``config.warmup`` steps,
    times the polynomial decay ``(1 - step / steps) ** power``."""
    warm = min(1.0, (step + 1) / config.warmup) if config.warmup else 1.0
    return warm * max(0.0, 1.0 - step / config.steps) ** config.power


class Trainer:
    """One training run over prepared scenes; :func:`train` is the usual entry.

    Args:
        config: the run's configuration.
        run_dir: folder for state, log, plot and the best checkpoint.
        scenes: training scenes on the output grid.
        validation: validation scenes on the output grid.
        renderer: RGB input convention and augmentation.
    """

    def __init__(
        self,
        config: TrainConfig,
        run_dir: Path,
        scenes: Sequence[Scene],
        validation: Sequence[Scene],
        renderer: RGBRenderer,
    ) -> None:
        self.config, self.run_dir, self.scenes, self.renderer = config, run_dir, list(scenes), renderer
        torch.manual_seed(config.seed)
        self.model: HPRN = build_model(config.preset, config.bands, **config.switches)
        if config.init == "linear":
            linear_init(self.model, *training_pairs(self.scenes, renderer), config.init_floor, config.init_plain)
        elif config.init == "lookup":
            lookup_init(self.model, *training_pairs(self.scenes, renderer))
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr, betas=config.betas)
        self.average = (
            AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(config.ema), use_buffers=True) if config.ema else None
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, functools.partial(lr_factor, config))
        self.rng = np.random.default_rng([config.seed, 2])
        self.step, self.best_step, self.bad_rounds = 0, 0, 0
        self.best_mrae, self.best_state = float("inf"), copy.deepcopy(self.model.state_dict())
        self.validation = [(scene, renderer.fixed(scene.cube)) for scene in validation]
        self.pool = self._pool()

    @property
    def kept(self) -> HPRN:
        """The model that is validated and saved: the weights' moving average with ``ema``, else the weights."""
        return self.model if self.average is None else self.average.module  # type: ignore[return-value]

    @property
    def card(self) -> ModelCard:
        """The card of the model being trained."""
        return model_card(self.config, self.renderer)

    def _pool(self) -> PatchPool:
        path = self.run_dir / f"pool-{self.config.digest()}.npz"
        if path.is_file():
            return PatchPool.load(path)
        scales = self.model.config.scales if self.model.config.ssrm else ()
        rng = np.random.default_rng([self.config.seed, 1])
        c = self.config
        pool = PatchPool.build(
            self.scenes, self.renderer, c.pool_size, c.patch_size, scales, c.exposure, rng, c.scene_weights, c.spectral_tilt
        )
        pool.save(path)
        return pool

    def train_step(self) -> float:
        """One optimiser step on a random batch; returns the loss."""
        indices = self.rng.integers(len(self.pool), size=self.config.batch_size)
        rgb, target, labels = (torch.from_numpy(a) for a in self.pool.batch(indices, self.scenes, self.renderer, self.rng))
        self.model.train()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.config.bf16):
            pred = self.model(rgb, labels if self.model.config.ssrm else None)
        loss = sopc_loss(pred.float(), target, self.config.tau)
        if self.config.mrae_weight:
            loss = loss + self.config.mrae_weight * relative_l1(pred, target)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.average is not None:
            self.average.update_parameters(self.model)
        self.scheduler.step()
        self.step += 1
        return loss.item()

    def validate(self) -> float:
        """Mean MRAE over the validation scenes, predicted whole as ``predict`` would."""
        options = PredictOptions(tile=self.config.patch_size, overlap=self.config.overlap, device="cpu")
        predictor = Predictor(Checkpoint(self.kept, self.card), options)
        scores = []
        for scene, rgb in self.validation:
            pred = predictor.predict_array(rgb, scene.valid)
            scores.append(mrae(pred[:, scene.valid], scene.cube[:, scene.valid]))
        return float(np.mean(scores))

    def observe(self, val_mrae: float) -> bool:
        """Record a validation score; True when patience has run out."""
        if val_mrae < self.best_mrae:
            self.best_mrae, self.best_step, self.bad_rounds = val_mrae, self.step, 0
            self.best_state = copy.deepcopy(self.kept.state_dict())
        else:
            self.bad_rounds += 1
        return self.bad_rounds >= self.config.patience

    def state(self, stopped: bool) -> dict:
        """Everything needed to continue (plain containers: loadable with ``weights_only=True``)."""
        return {
            "config_digest": self.config.digest(),
            "step": self.step,
            "stopped": stopped,
            "model": self.model.state_dict(),
            "average": None if self.average is None else self.average.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "numpy_rng": json.dumps(self.rng.bit_generator.state),
            "torch_rng": torch.get_rng_state(),
            "best": {"mrae": self.best_mrae, "step": self.best_step, "bad_rounds": self.bad_rounds, "state": self.best_state},
        }

    def save_state(self, stopped: bool = False) -> None:
        """Write ``state.pt`` atomically."""
        with published(self.run_dir / "state.pt") as partial:
            torch.save(self.state(stopped), partial)

    def load_state(self) -> bool:
        """Continue from ``state.pt``; returns whether that run had already stopped.

        Raises:
            CheckpointError: no state, or one written by a different configuration.
        """
        path = self.run_dir / "state.pt"
        if not path.is_file():
            raise CheckpointError(f"nothing to resume: {path} does not exist")
        state = torch.load(path, map_location="cpu", weights_only=True)
        if state["config_digest"] != self.config.digest():
            raise CheckpointError(f"{path} was written by a different configuration; start a new run folder")
        self.model.load_state_dict(state["model"])
        if self.average is not None:
            self.average.load_state_dict(state["average"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.rng.bit_generator.state = json.loads(state["numpy_rng"])
        torch.set_rng_state(state["torch_rng"])
        best = state["best"]
        self.best_mrae, self.best_step, self.bad_rounds = best["mrae"], best["step"], best["bad_rounds"]
        self.best_state, self.step = best["state"], state["step"]
        return bool(state["stopped"])

    def save_best(self) -> Path:
        """Write the best weights (the last step's without validation scenes) as ``model.pt`` (registry
        format) and its card as ``model.json``."""
        if not self.validation:
            self.best_state, self.best_step, self.best_mrae = copy.deepcopy(self.kept.state_dict()), self.step, float("nan")
        best = build_model(self.config.preset, self.config.bands, **self.config.switches)
        best.load_state_dict(self.best_state)
        val_mrae = self.best_mrae if self.validation else None
        card = model_card(self.config, self.renderer, {"validation_mrae": val_mrae, "best_step": self.best_step})
        path = self.run_dir / "model.pt"
        save_checkpoint(path, best, card)
        path.with_suffix(".json").write_text(json.dumps(card.to_dict(), indent=2) + "\n")
        return path

    def run(self, progress: bool = True) -> bool:
        """Train from the current step to the end or to early stopping; returns whether it stopped early."""
        c, log, started = self.config, _Log(self.run_dir / "log.csv", self.step), time.perf_counter()
        stopped, val_text = False, "-"
        with tqdm(total=c.steps, initial=self.step, desc=c.name, disable=not progress, dynamic_ncols=True) as bar:
            while self.step < c.steps and not stopped:
                loss, lr = self.train_step(), self.scheduler.get_last_lr()[0]
                due = self.step % c.val_every == 0 or self.step == c.steps
                val = self.validate() if due and self.validation else None
                if val is not None:
                    stopped, val_text = self.observe(val), f"{val:.4f}"
                log.write(self.step, loss, lr, val, time.perf_counter() - started)
                if self.step in c.snapshots:  # before the state: a resumed run starts after this step
                    save_checkpoint(self.run_dir / f"model-{self.step}.pt", self.kept, self.card)
                if self.step % c.checkpoint_every == 0 or stopped or self.step == c.steps:
                    self.save_state(stopped)
                bar.set_postfix(loss=f"{loss:.4f}", val_mrae=val_text, best=f"{self.best_mrae:.4f}")
                bar.update(1)
        return stopped


class _Log:
    """``log.csv``, truncated to the rows up to ``step`` when a run resumes."""

    def __init__(self, path: Path, step: int) -> None:
        self.path = path
        rows = []
        if step and path.is_file():
            with path.open(newline="") as handle:
                rows = [row for row in csv.DictReader(handle) if int(row["step"]) <= step]
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, _LOG_FIELDS)
            writer.writeheader()
            writer.writerows(rows)

    def write(self, step: int, loss: float, lr: float, val: float | None, seconds: float) -> None:
        with self.path.open("a", newline="") as handle:
            values = (step, f"{loss:.6g}", f"{lr:.6g}", "" if val is None else f"{val:.6g}", f"{seconds:.1f}")
            csv.writer(handle).writerow(values)


def plot_log(csv_path: str | Path, png_path: str | Path) -> Path:
    """Plot training loss (raw and smoothed) and validation MRAE against step."""
    plt = pyplot()
    with Path(csv_path).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    steps = np.array([int(r["step"]) for r in rows])
    loss = np.array([float(r["loss"]) for r in rows])
    val = [(int(r["step"]), float(r["val_mrae"])) for r in rows if r["val_mrae"]]
    fig, left = plt.subplots(figsize=(7, 4.4))
    left.plot(steps, loss, color="0.75", lw=0.8, label="loss (per step)")
    window = max(1, len(loss) // 30)
    smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
    left.plot(steps[window - 1 :], smooth, color="C0", label=f"loss (mean of {window} steps)")
    left.set(xlabel="step", ylabel="SOPC loss", yscale="log")
    right = left.twinx()
    if val:
        right.plot(*zip(*val), "o-", color="C3", label="validation MRAE")
    right.set_ylabel("validation MRAE", color="C3")
    fig.legend(loc="upper center", ncol=3, fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return save_figure(fig, png_path, tight=False)


def config_scenes(config: TrainConfig, names: Sequence[str]) -> list[Scene]:
    """``names`` loaded and resampled as ``config`` says."""
    return [load_scene(name, config.wavelengths, config.data_dir, config.fwhm, config.edge_clamp_nm) for name in names]


def train(config: TrainConfig, run_dir: str | Path, resume: bool = False, progress: bool = True) -> TrainResult:
    """Train HPRN as ``config`` says, in ``run_dir``.

    Args:
        config: the configuration (see :class:`TrainConfig`).
        run_dir: output folder (created); must hold no ``state.pt`` unless ``resume``.
        resume: continue from ``run_dir/state.pt`` (same config) to the same result.
        progress: show a tqdm bar with loss and validation MRAE.

    Raises:
        CheckpointError: ``resume`` without state, or state from another config;
            an existing state without ``resume``.
        DataFileError, ConfigError: scenes or settings that cannot be used.
    """
    started = time.perf_counter()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resume and (run_dir / "state.pt").exists():
        raise CheckpointError(f"{run_dir} already holds a run; pass --resume or choose another folder")
    (run_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    scenes, validation = config_scenes(config, config.train), config_scenes(config, config.validation)
    trainer = Trainer(config, run_dir, scenes, validation, renderer_for(config))
    stopped = trainer.load_state() if resume else False
    if not stopped:
        stopped = trainer.run(progress)
    path = trainer.save_best()
    plot_log(run_dir / "log.csv", run_dir / "training.png")
    return TrainResult(path, trainer.best_step, trainer.best_mrae, trainer.step, stopped, time.perf_counter() - started)
