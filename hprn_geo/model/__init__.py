"""HPRN in pure PyTorch: the network, its modules, the semantic prior and the SOPC loss.

This sub-package imports only torch, numpy and scikit-image (for the SLIC
prior); anyone can use :class:`HPRN` on a tensor.
"""

from __future__ import annotations

from hprn_geo.model.hprn import HPRN, PRESETS, HPRNConfig, build_model
from hprn_geo.model.loss import band_covariance, relative_l1, sopc_loss
from hprn_geo.model.mrb import MRB
from hprn_geo.model.prior import PAPER_SCALES, semantic_prior, slic_labels
from hprn_geo.model.ssrm import SSRM, offset_labels, segment_order
from hprn_geo.model.tcrm import TCRM

__all__ = [
    "HPRN",
    "HPRNConfig",
    "MRB",
    "PAPER_SCALES",
    "PRESETS",
    "SSRM",
    "TCRM",
    "band_covariance",
    "build_model",
    "offset_labels",
    "relative_l1",
    "segment_order",
    "semantic_prior",
    "slic_labels",
    "sopc_loss",
]
