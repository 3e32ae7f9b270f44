"""Model sizes by name, the one table ``train``, ``classify`` and ``fit`` offer as ``--preset``
(no torch import: the command line reads it at start-up)."""

from __future__ import annotations

__all__ = ["PRESETS"]

PRESETS: dict[str, dict] = {
    "paper": {"channels": 200, "blocks": 10},
    "compact": {"channels": 64, "blocks": 4},
    "small": {"channels": 32, "blocks": 2},
}
"""Preset name -> overrides of :class:`hprn_geo.model.HPRNConfig` defaults."""
