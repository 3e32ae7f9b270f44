"""HPRN in pure PyTorch: the network, its modules, the semantic prior and the SOPC loss.

This sub-package imports only torch, numpy and scikit-image (for the SLIC
prior); anyone can use :class:`HPRN` on a tensor.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "HPRN", "HPRNConfig", "MRB", "PAPER_SCALES", "PRESETS", "SSRM", "TCRM", "band_covariance", "build_model",
    "linear_init", "lookup_init", "offset_labels", "relative_l1", "segment_order", "semantic_prior", "slic_labels", "sopc_loss"
]

_MODULE = {"HPRN": "hprn", "HPRNConfig": "hprn", "build_model": "hprn", "PRESETS": "presets",
           "band_covariance": "loss", "relative_l1": "loss", "sopc_loss": "loss", "MRB": "mrb",
           "PAPER_SCALES": "prior", "semantic_prior": "prior", "slic_labels": "prior", "SSRM": "ssrm",
           "offset_labels": "ssrm", "segment_order": "ssrm", "TCRM": "tcrm",
           "linear_init": "init", "lookup_init": "init"}


def __getattr__(name: str) -> Any:
    """The names of ``__all__``, imported from their module on first use (``hprn_geo.model.presets``
    alone imports no torch)."""
    if name not in _MODULE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"hprn_geo.model.{_MODULE[name]}"), name)
