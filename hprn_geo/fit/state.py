"""The training state of a scene fit on disk, so that an interrupted ``hprn-geo fit`` can ``--resume``.

One file holds the model, optimiser and scheduler states, the random generator
and the step, written atomically (a temporary name, then ``os.replace``) every
``every`` steps, with a fingerprint of the data and settings: a state saved for
other inputs is refused, not silently continued.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hprn_geo.errors import CheckpointError
from hprn_geo.io.publish import published

__all__ = ["TrainingState"]


class TrainingState:
    """Save and restore one training run's state.

    Args:
        path: the state file (``<output>.state.pt``).
        fingerprint: JSON-ready description of the data and settings; a saved state must match it.
        every: save after every ``every`` steps.
        resume: continue from ``path`` when it exists (else it is ignored and overwritten).
    """

    def __init__(self, path: str | Path, fingerprint: dict[str, Any], every: int = 25, resume: bool = False) -> None:
        self.path = Path(path)
        self.fingerprint = json.dumps(fingerprint, sort_keys=True, default=str)
        self.every = max(1, int(every))
        self.resume = resume

    def restore(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
                rng: np.random.Generator) -> int:  # fmt: skip
        """Load the saved state into the objects when resuming; returns the step to continue from (0: start)."""
        if not (self.resume and self.path.is_file()):
            return 0
        saved = torch.load(self.path, map_location="cpu", weights_only=True)
        if saved.get("fingerprint") != self.fingerprint:
            raise CheckpointError(f"{self.path} was saved for other inputs or settings; remove it or drop --resume")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        rng.bit_generator.state = json.loads(saved["rng"])
        torch.set_rng_state(saved["torch_rng"])
        return int(saved["step"])

    def step_done(self, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
                  rng: np.random.Generator) -> None:  # fmt: skip
        """Save the state after ``step`` steps when it is a multiple of ``every``."""
        if step % self.every:
            return
        payload = {
            "fingerprint": self.fingerprint, "step": step, "model": model.state_dict(),
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "rng": json.dumps(rng.bit_generator.state), "torch_rng": torch.get_rng_state(),
        }  # fmt: skip
        with published(self.path) as partial:
            torch.save(payload, partial)

    def remove(self) -> None:
        """Delete the state file (the run finished)."""
        self.path.unlink(missing_ok=True)
