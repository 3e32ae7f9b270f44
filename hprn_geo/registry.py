"""Model names and checkpoint files -> built, verified models with their cards.

A checkpoint is data, not code: a ``torch.save`` of ``{"format", "config", "card", "state_dict"}`` loaded with
``torch.load(weights_only=True)``. Bundled checkpoints live in ``hprn_geo/weights/``, listed in
``weights/index.json`` with the sha256 of the checkpoint and of its JSON card (a mismatch is refused). A string
naming a bundled model is that model, whatever files the working directory holds.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hprn_geo.errors import CheckpointError
from hprn_geo.io.publish import published
from hprn_geo.sensors import input_name

if TYPE_CHECKING:  # torch is imported where a checkpoint is saved or loaded: listing cards needs none
    from hprn_geo.model import HPRN

__all__ = [
    "Checkpoint", "DEFAULT_MODEL", "FORMAT", "ModelCard", "WEIGHTS", "available_models", "check_input",
    "checkpoint_path", "load_bundled", "load_checkpoint", "pick_model", "resolve", "save_checkpoint", "sha256", "takes",
]

FORMAT = "hprn-geo/1"
WEIGHTS = resources.files("hprn_geo") / "weights"


_SEQUENCES = ("wavelengths", "fwhm", "training_data", "validation_data", "test_data")
"""The card's fields stored as JSON lists and held as tuples."""


@dataclass(frozen=True)
class ModelCard:
    """What a checkpoint is, what it expects and how well it does.

    Attributes:
        name: short name (``"vnir31"``).
        wavelengths: (B,) band centres in nm.
        preset: the :func:`hprn_geo.model.build_model` preset it was built from.
        input: the RGB convention it was trained on (e.g. the camera response).
        patch_size: side of the patches it was trained and validated at.
        tile: default tile side for prediction (measured, see docs/accuracy.md).
        overlap: default tile overlap in pixels.
        fwhm: (B,) band widths in nm, when known.
        training_data: scenes used for training.
        validation_data: scenes held out for early stopping and scores.
        test_data: scenes held out for the reported scores only (never used for a choice).
        scores: held-out scores, e.g. ``{"mrae": ..., "sam": ...}`` per method.
        trained: False for a random-weight model (its spectra are meaningless).
        input_response: (C, B) the input's spectral response on the model's grid, rows R, G, B (and NIR), as
            training rendered RGB (``rgb = R @ spectrum``; see
            :meth:`hprn_geo.scenes.RGBRenderer.input_response`), or None when unknown.
        colour_consistent: whether prediction projects the output onto the spectra that render
            back to the input (:func:`hprn_geo.spectral.colour_consistent`) unless told otherwise;
            needs ``input_response``.
    """

    name: str
    wavelengths: tuple[float, ...]
    preset: str
    input: str
    patch_size: int = 64
    tile: int = 256
    overlap: int = 32
    fwhm: tuple[float, ...] | None = None
    training_data: tuple[str, ...] = ()
    validation_data: tuple[str, ...] = ()
    test_data: tuple[str, ...] = ()
    scores: dict = field(default_factory=dict)
    trained: bool = True
    input_response: tuple[tuple[float, ...], ...] | None = None
    colour_consistent: bool = False

    def __post_init__(self) -> None:
        if self.input_response is not None:
            rows = tuple(tuple(float(v) for v in row) for row in self.input_response)
            if len(rows) not in (3, 4) or any(len(row) != self.bands for row in rows):
                raise CheckpointError(f"card {self.name!r}: input_response must be 3 (or, with NIR, 4) rows of {self.bands} values")
            object.__setattr__(self, "input_response", rows)
        elif self.colour_consistent:
            raise CheckpointError(f"card {self.name!r}: colour_consistent needs an input_response")

    @property
    def response(self) -> np.ndarray | None:
        """(C, B) float64 :attr:`input_response` (C = 3, or 4 with NIR), or None."""
        return None if self.input_response is None else np.asarray(self.input_response, dtype=np.float64)

    @property
    def input_prefix(self) -> str:
        """The machine-readable start of :attr:`input`, before ``|``: ``"camera:NAME"``,
        ``"bands:R,G,B"``, ``"photo:..."``."""
        return self.input.split("|")[0].strip()

    def shortfall(self) -> str | None:
        """What the card's cross-validation (``scores.cv``) says the model loses to, or None.

        The model loses when the best baseline by mean CV MRAE (on the scores it was chosen by) has a
        lower MRAE, or when the model's SAM is worse than that baseline's: the bundled models' rule.
        None as well for a card without a CV table.
        """
        cv = self.scores.get("cv") or {}
        mean = (cv.get(cv.get("chosen_by", "")) or {}).get("mean", {})
        baselines = [m for m in ("ridge", "knn", "flat") if m in mean]
        if cv.get("method") not in mean or not baselines:
            return None
        best = min(baselines, key=lambda m: mean[m]["mrae"])
        ours, theirs = mean[cv["method"]], mean[best]
        if ours["mrae"] < theirs["mrae"] and ours["sam"] <= theirs["sam"]:
            return None
        return (f"in cross-validation it does not beat the {best} baseline (MRAE {ours['mrae']:.3f} vs "
                f"{theirs['mrae']:.3f}, SAM {ours['sam']:.1f}° vs {theirs['sam']:.1f}°)")

    @property
    def bands(self) -> int:
        """Number of bands B."""
        return len(self.wavelengths)

    def to_dict(self) -> dict:
        """JSON-ready form."""
        data = asdict(self)
        for key in _SEQUENCES:
            data[key] = None if data[key] is None else list(data[key])
        if self.input_response is not None:
            data["input_response"] = [list(row) for row in self.input_response]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ModelCard:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        for key in _SEQUENCES:
            if data.get(key) is not None:
                data[key] = tuple(data[key])
        return cls(**data)


@dataclass(frozen=True)
class Checkpoint:
    """A built model (eval mode, on the CPU) and its card."""

    model: HPRN
    card: ModelCard

    @property
    def wavelengths(self) -> np.ndarray:
        """(B,) band centres in nm."""
        return np.asarray(self.card.wavelengths, dtype=np.float64)


def save_checkpoint(path: str | Path, model: HPRN, card: ModelCard) -> str:
    """Write ``model`` and ``card`` as a weights-only checkpoint, atomically (a temporary name, then
    ``os.replace``: a killed write leaves no half-written checkpoint); returns its sha256."""
    if card.bands != model.bands:
        raise CheckpointError(f"card lists {card.bands} wavelengths but the model has {model.bands} bands")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    card_data = json.loads(json.dumps(card.to_dict(), default=float))  # plain types only
    payload = {"format": FORMAT, "config": model.config.to_dict(), "card": card_data, "state_dict": state}
    import torch

    with published(path) as partial:
        torch.save(payload, partial)
    return sha256(path)


def sha256(path: str | Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_checkpoint(path: str | Path, expected_sha256: str | None = None) -> Checkpoint:
    """Load and verify a checkpoint file.

    Raises:
        CheckpointError: missing file, digest mismatch, not an hprn-geo
            checkpoint (or one that would need code to unpickle), or weights
            that do not fit the stored configuration.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if expected_sha256 is not None and sha256(path) != expected_sha256:
        raise CheckpointError(f"checkpoint {path} does not match its registered sha256; it was modified")
    import torch

    from hprn_geo.model import HPRN, HPRNConfig

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for non-checkpoints
        raise CheckpointError(f"{path} is not a weights-only hprn-geo checkpoint ({_reason(exc)})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an hprn-geo checkpoint (format {FORMAT!r} expected)")
    try:
        card = ModelCard.from_dict(payload["card"])
        model = HPRN(HPRNConfig.from_dict(payload["config"]))
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: weights do not fit their configuration ({str(exc)[:200]})") from exc
    if card.bands != model.bands:
        raise CheckpointError(f"{path}: card lists {card.bands} wavelengths, model has {model.bands} bands")
    return Checkpoint(model.eval(), card)


def checkpoint_path(model: str | os.PathLike[str]) -> Path | None:
    """``model`` as a checkpoint file, or None for a bundled name.

    A string naming a bundled model is that model (a file of the same name in the working directory
    does not shadow it); anything else is a file when it ends in ``.pt`` or names an existing file.
    """
    if isinstance(model, str) and model in _index(WEIGHTS):
        return None
    path = Path(model)
    return path if path.suffix == ".pt" or path.is_file() else None


def _reason(exc: Exception) -> str:
    """The informative line of torch.load's (long, multi-line) error: the global it refused or the unpickler's
    complaint, not its advice to load without ``weights_only``."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    unpickler = [line for line in lines if "Unpickler error" in line or "GLOBAL" in line]
    return (unpickler or lines or [type(exc).__name__])[0][:200]


def _index(folder: Traversable) -> dict[str, dict]:
    """``folder``'s ``index.json``: bundled name -> ``{"file", "card", "sha256", "card_sha256"}`` ({} if none)."""
    index = folder / "index.json"
    return json.loads(index.read_text()) if index.is_file() else {}


def _bundled_card(name: str, entry: dict, folder: Traversable) -> ModelCard:
    """The JSON card of bundled model ``name``, verified against the sha256 its index ``entry`` registers."""
    try:
        text = (folder / entry["card"]).read_bytes()
    except OSError as exc:
        raise CheckpointError(f"bundled model {name!r}: cannot read its card {entry['card']} ({exc})") from exc
    if hashlib.sha256(text).hexdigest() != entry.get("card_sha256"):
        raise CheckpointError(f"card {entry['card']} of bundled model {name!r} does not match its registered "
                              "sha256; it was modified")
    return ModelCard.from_dict(json.loads(text))


def available_models(folder: Traversable = WEIGHTS) -> dict[str, ModelCard]:
    """Bundled model name -> card (the verified JSON card beside each checkpoint).

    Args:
        folder: where the bundled models and their ``index.json`` are (the package's ``weights/``).
    """
    return {name: _bundled_card(name, entry, folder) for name, entry in sorted(_index(folder).items())}


def load_bundled(name: str, folder: Traversable = WEIGHTS) -> Checkpoint:
    """Load a bundled checkpoint by name, verifying the sha256 of its file and of its JSON card.

    Args:
        name: bundled model name.
        folder: where the bundled models and their ``index.json`` are (the package's ``weights/``).
    """
    index = _index(folder)
    if name not in index:
        raise CheckpointError(f"no bundled model {name!r}; available: {', '.join(sorted(index)) or 'none'}")
    entry = index[name]
    _bundled_card(name, entry, folder)
    with resources.as_file(folder / entry["file"]) as path:
        return load_checkpoint(path, entry["sha256"])


def takes(card: ModelCard, sensor: str) -> bool:
    """Whether ``card``'s input is ``sensor``: its ``input`` starts ``camera:X`` with X the same sensor or
    camera as ``sensor`` (compared by :func:`hprn_geo.sensors.input_name`)."""
    kind, _, value = card.input_prefix.partition(":")
    return kind == "camera" and bool(value) and input_name(f"camera:{value}") == input_name(sensor)


def check_input(card: ModelCard, sensor: str | None, folder: Traversable | None = None) -> None:
    """Refuse a model whose card does not take input from ``sensor`` (None: no check).

    Raises:
        CheckpointError: one line naming the model's input and the bundled model that takes ``sensor``.
        OptionError: ``sensor`` is not a sensor name or ``camera:NAME``.
    """
    if sensor is None or takes(card, sensor):
        return
    fits = [name for name, c in available_models(folder or WEIGHTS).items() if takes(c, sensor)]
    hint = f"use --model {fits[0]}" if fits else "no bundled model takes it"
    raise CheckpointError(f"model {card.name!r} takes {card.input_prefix}, not {input_name(sensor)} input; {hint}")


def pick_model(bands: int | None = None, sensor: str | None = None, folder: Traversable | None = None) -> str:
    """The bundled model with ``bands`` bands (None: any) whose card takes ``sensor`` (None: any):
    :data:`DEFAULT_MODEL` when it qualifies, else the first by name.

    Raises:
        CheckpointError: none qualifies (the message lists the bundled models).
    """
    cards = available_models(folder or WEIGHTS)
    matching = [name for name, card in cards.items()
                if (bands is None or card.bands == bands) and (sensor is None or takes(card, sensor))]
    if not matching:
        asked = " and ".join(([f"{bands} bands"] if bands is not None else [])
                             + ([f"{input_name(sensor)} input"] if sensor is not None else [])) or "any input"
        listing = ", ".join(f"{n} ({c.bands} bands{'' if sensor is None else ', ' + c.input_prefix})"
                            for n, c in cards.items())
        raise CheckpointError(f"no bundled model with {asked}; available: {listing or 'none'}")
    return DEFAULT_MODEL if DEFAULT_MODEL in matching else matching[0]


def resolve(model: str | None = None, weights: str | Path | None = None, bands: int | None = None,
            sensor: str | None = None, folder: Traversable | None = None) -> Checkpoint:
    """The checkpoint a front door asked for.

    Args:
        model: bundled model name.
        weights: a checkpoint file (takes precedence over ``model``).
        bands: wanted band count; picks the bundled model with that many bands,
            or checks that ``model``/``weights`` has it.
        sensor: the input's sensor (``"sentinel2"``, ``"landsat8"``, ``"camera:NAME"``); picks the
            bundled model whose card takes it, or checks that ``model``/``weights`` takes it
            (:func:`check_input`).
        folder: where the bundled models are (default :data:`WEIGHTS`).

    Raises:
        CheckpointError: nothing matches, with the available choices.
    """
    folder = folder or WEIGHTS
    if weights is not None:
        checkpoint = load_checkpoint(weights)
    else:
        checkpoint = load_bundled(model or pick_model(bands, sensor, folder), folder)
    if bands is not None and checkpoint.card.bands != bands:
        card = checkpoint.card
        raise CheckpointError(f"model {card.name!r} has {card.bands} bands, but {bands} were asked")
    check_input(checkpoint.card, sensor, folder)
    return checkpoint


DEFAULT_MODEL = "vnir31"
