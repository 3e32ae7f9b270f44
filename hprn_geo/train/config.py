"""The training configuration: one dataclass, filled from a TOML file and/or CLI flags.

Every field has a default except the scenes. Paths given in a TOML file are
relative to that file's folder. Wavelengths are a list of band centres (nm) or
a table ``{start, stop, count}`` meaning ``numpy.linspace(start, stop, count)``.
Examples are in ``configs/`` and docs/training.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from hprn_geo.errors import ConfigError
from hprn_geo.sensors import with_nir

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["ADDED_LATER", "ConfigError", "TrainConfig", "load_config"]


_PATH_FIELDS = ("data_dir", "srf_dir")


ADDED_LATER: dict[str, Any] = {"init_plain": 0.0}
"""Fields added after runs and bundled cards were written, with the value those were made with: left out
of :meth:`TrainConfig.recorded` at that value, so older runs still resume (:meth:`TrainConfig.digest`) and
older cards still state their protocol exactly."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on (the run is reproducible from it and the data).

    The config reference of docs/training.md says more on each field.

    Attributes:
        name: model name, written into the card (``"vnir31"``).
        wavelengths: (B,) output band centres, nm.
        fwhm: output band width (nm) for Gaussian resampling of the source cubes; None: linear interpolation.
        edge_clamp_nm: largest gap at either end of a cube's wavelength range filled with its edge band.
        data_dir: the folder of shared cube names (``samson``, ...); plain file paths need none.
        srf_dir: the camera response folder (default ``data_dir/srf``).
        train: training scenes: shared names, glob patterns over them (tiles mosaicked into one scene), or files.
        validation: scenes for early stopping, never trained on; empty for a fixed schedule (the last step is kept).
        test: scenes for reported scores, never trained on nor used for stopping.
        camera: the fixed camera of the input convention (validation and test RGB); a sensor's
            ``NAME+nir`` adds its near-infrared band as a fourth channel (``switches = { in_channels = 4 }``).
        rgb_bands: 1-based (R, G, B) bands of the output grid used as RGB instead of a camera.
        augment_cameras: cameras drawn at random for training RGB: ``["all"]``, names, or ``[]``.
        holdout_cameras: cameras never drawn (kept out of ``"all"`` for an honest real-camera test).
        fixed_camera_fraction: share of training patches rendered with the fixed camera.
        exposure: (low, high) brightness factor applied to both the target and its RGB.
        spectral_tilt: standard deviation of a smooth random factor on every training spectrum of a patch
            (:class:`~hprn_geo.train.data.PatchPool`); 0 for none.
        noise_std: Gaussian noise added to training RGB, reflectance units.
        white_balance_std: standard deviation of the log of a random gain per RGB channel; 0 for none.
        gamma_range: (low, high) exponent applied to clipped training RGB; (1, 1) for none.
        quantize_fraction: share of training RGB sRGB-encoded, rounded to 8 bits and decoded.
        blur_sigma: largest Gaussian blur (pixels) of training RGB, drawn uniformly; 0 for none.
        mrae_weight: weight of the relative-error term beside SOPC; 0 for the paper's loss alone.
        preset: model preset (``"compact"``, ``"paper"`` or ``"small"``).
        switches: extra :func:`hprn_geo.model.build_model` switches (``{"tcrm": false}``).
        init: ``"random"`` (PyTorch's default), ``"linear"`` (:func:`hprn_geo.model.linear_init`) or
            ``"lookup"`` (:func:`hprn_geo.model.lookup_init`; needs ``switches = { lookup = G }``).
        init_floor: with ``init = "linear"``: 0 for a plain least-squares map, else a relative fit.
        init_plain: with ``init = "linear"``: weight in [0, 1] of the plain least-squares map blended with
            the relative one (``plain`` of :func:`hprn_geo.model.linear_init`); 0: the relative map alone.
        patch_size: side of training patches and of the validation tiles.
        overlap: tile overlap of validation (and the card's default).
        batch_size: patches per step.
        pool_size: patches prepared (with their SLIC prior) before training.
        scene_weights: ``"positions"`` (uniform over every valid patch position) or ``"pixels"`` (each scene in
            proportion to its valid pixels).
        steps: optimiser steps (the schedule's length).
        lr: peak learning rate.
        warmup: steps of linear learning-rate warm-up from ``lr / warmup`` (0: none).
        betas: Adam betas.
        power: polynomial learning-rate decay power.
        ema: decay of the moving average of the weights that is validated and saved (0: the weights themselves).
        tau: weight of the second-order term of the SOPC loss.
        val_every: steps between validations.
        patience: validations without improvement before stopping early.
        checkpoint_every: steps between resumable checkpoints.
        snapshots: steps at which the model is also saved as ``model-<step>.pt``; those at or past ``steps``
            are dropped.
        seed: seed of every random choice.
        bf16: run forward passes under bfloat16 autocast on the CPU.
    """

    train: tuple[str, ...]
    validation: tuple[str, ...]
    name: str = "model"
    wavelengths: tuple[float, ...] = tuple(float(w) for w in np.linspace(400.0, 700.0, 31))
    fwhm: float | None = None
    edge_clamp_nm: float = 2.0
    data_dir: str | None = None
    srf_dir: str | None = None
    test: tuple[str, ...] = ()
    camera: str | None = None
    rgb_bands: tuple[int, int, int] | None = None
    augment_cameras: tuple[str, ...] = ("all",)
    holdout_cameras: tuple[str, ...] = ()
    fixed_camera_fraction: float = 0.5
    exposure: tuple[float, float] = (0.8, 1.2)
    spectral_tilt: float = 0.0
    noise_std: float = 0.003
    white_balance_std: float = 0.0
    gamma_range: tuple[float, float] = (1.0, 1.0)
    quantize_fraction: float = 0.0
    blur_sigma: float = 0.0
    mrae_weight: float = 0.0
    preset: str = "compact"
    switches: dict[str, Any] = field(default_factory=dict)
    init: str = "random"
    init_floor: float = 0.0
    init_plain: float = 0.0
    patch_size: int = 64
    overlap: int = 16
    batch_size: int = 8
    pool_size: int = 1024
    scene_weights: str = "positions"
    steps: int = 2000
    lr: float = 1.2e-4
    warmup: int = 0
    betas: tuple[float, float] = (0.9, 0.99)
    power: float = 1.5
    ema: float = 0.0
    tau: float = 2.0
    val_every: int = 50
    patience: int = 8
    checkpoint_every: int = 100
    snapshots: tuple[int, ...] = ()
    seed: int = 0
    bf16: bool = False

    def __post_init__(self) -> None:
        for name in (
            "train", "validation", "test", "wavelengths", "augment_cameras", "holdout_cameras", "exposure", "betas",
            "gamma_range", "snapshots",
        ):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.rgb_bands is not None:
            object.__setattr__(self, "rgb_bands", tuple(int(b) for b in self.rgb_bands))
        object.__setattr__(self, "snapshots", tuple(int(s) for s in self.snapshots if s < self.steps))
        self._check()

    def _check(self) -> None:
        if not self.train:
            raise ConfigError("a training run needs at least one training scene (train)")
        if (self.camera is None) == (self.rgb_bands is None):
            raise ConfigError("give exactly one input convention: camera = NAME or rgb_bands = [R, G, B]")
        if self.rgb_bands is not None and (len(self.rgb_bands) != 3 or not all(1 <= b <= self.bands for b in self.rgb_bands)):
            raise ConfigError(f"rgb_bands must be three 1-based band numbers <= {self.bands}, got {self.rgb_bands}")
        roles = (set(self.train), set(self.validation), set(self.test))
        shared = (roles[0] & (roles[1] | roles[2])) | (roles[1] & roles[2])
        if shared:
            raise ConfigError(f"scenes {sorted(shared)} have two roles among train, validation and test")
        if self.patch_size <= 2 * self.overlap:
            raise ConfigError(f"patch_size ({self.patch_size}) must exceed twice the overlap ({self.overlap})")
        positive = ("patch_size", "batch_size", "pool_size", "steps", "val_every", "patience", "checkpoint_every")
        bad = [name for name in positive if getattr(self, name) < 1]
        fractions = (self.fixed_camera_fraction, self.quantize_fraction, self.init_plain)
        if bad or not self.lr > 0 or not all(0 <= f <= 1 for f in fractions):
            raise ConfigError(f"invalid values: {bad or ['lr, fixed_camera_fraction, quantize_fraction or init_plain']}")
        non_negative = ("warmup", "spectral_tilt", "white_balance_std", "blur_sigma", "mrae_weight", "init_floor", "noise_std")
        negative = [name for name in non_negative if getattr(self, name) < 0]
        if negative or not 0 <= self.ema < 1 or min(self.gamma_range) <= 0:
            raise ConfigError(f"invalid values: {negative or ['ema (0 <= ema < 1) or gamma_range (> 0)']}")
        if any(step < 1 for step in self.snapshots):
            raise ConfigError(f"snapshots must be positive steps, got {list(self.snapshots)}")
        if self.scene_weights not in ("positions", "pixels"):
            raise ConfigError(f"scene_weights must be 'positions' or 'pixels', got {self.scene_weights!r}")
        if self.init not in ("random", "linear", "lookup"):
            raise ConfigError(f"init must be 'random', 'linear' or 'lookup', got {self.init!r}")
        channels = 4 if with_nir(self.camera) else 3
        if self.switches.get("in_channels", 3) != channels:
            raise ConfigError(f"camera {self.camera!r} gives {channels} input channels: set switches = {{ in_channels = {channels} }}")
        photo = self.white_balance_std or self.quantize_fraction or self.blur_sigma or tuple(self.gamma_range) != (1.0, 1.0)
        if channels == 4 and (self.augment_cameras or photo):
            raise ConfigError("a +nir input has no cameras to augment with and no photo degradations: set "
                              "augment_cameras = [] and leave white_balance_std, gamma_range, quantize_fraction, blur_sigma")
        if self.init == "lookup" and not self.switches.get("lookup"):
            raise ConfigError("init = 'lookup' needs a lookup table: switches = { lookup = G }")

    @property
    def bands(self) -> int:
        """Number of output bands B."""
        return len(self.wavelengths)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def recorded(self) -> dict[str, Any]:
        """:meth:`to_dict` without the fields of :data:`ADDED_LATER` at their old value: what runs and cards record."""
        return {k: v for k, v in self.to_dict().items() if k not in ADDED_LATER or v != ADDED_LATER[k]}

    def digest(self) -> str:
        """Short hash of everything that shapes the run (for resume checks and caches), of :meth:`recorded`."""
        return hashlib.sha256(json.dumps(self.recorded(), sort_keys=True).encode()).hexdigest()[:16]

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied (``None`` values are ignored, as unset CLI flags)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def load_config(path: str | Path | None = None, **overrides: Any) -> TrainConfig:
    """A :class:`TrainConfig` from a TOML file, with keyword overrides (CLI flags) on top.

    Args:
        path: a TOML file (keys are the field names), or None for overrides only.
        **overrides: field values; None means "not given".

    Raises:
        ConfigError: unknown keys, unreadable TOML, or an inconsistent result.
    """
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            values = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read training config {path}: {exc}") from exc
        for key in _PATH_FIELDS:
            if isinstance(values.get(key), str):
                values[key] = str((path.parent / values[key]).resolve())
    values.update({k: v for k, v in overrides.items() if v is not None})
    if isinstance(values.get("wavelengths"), dict):
        grid = values["wavelengths"]
        values["wavelengths"] = np.linspace(float(grid["start"]), float(grid["stop"]), int(grid["count"])).tolist()
    unknown = set(values) - {f.name for f in fields(TrainConfig)}
    if unknown:
        raise ConfigError(f"unknown training option(s) {sorted(unknown)}")
    values.setdefault("train", ())
    values.setdefault("validation", ())
    try:
        return TrainConfig(**values)
    except TypeError as exc:
        raise ConfigError(f"invalid training config: {exc}") from exc
