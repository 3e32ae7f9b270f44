"""The holistic prior-embedded relation network (HPRN) and its presets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import torch
from torch import nn

from hprn_geo.model.layers import ReflectConv
from hprn_geo.model.lookup import ChromaticityLookup
from hprn_geo.model.mrb import MRB
from hprn_geo.model.presets import PRESETS
from hprn_geo.model.prior import PAPER_SCALES, semantic_prior
from hprn_geo.model.ssrm import SSRM

__all__ = ["HPRN", "HPRNConfig", "MAX_SEGMENTS", "PRESETS", "build_model"]


@dataclass(frozen=True)
class HPRNConfig:
    """Hyper-parameters of an HPRN; stored in every checkpoint.

    Attributes:
        bands: B, output spectral bands.
        channels: feature channels of the backbone (200 in the authors' code, 256 in the paper text).
        blocks: number of MRBs (10).
        window: SSRM attention window in pixels (64).
        scales: SLIC segment counts of the semantic prior (8, 12, 16, 20).
        grid: TCRM pooled grid side (4, an embedding of 16).
        reduction: TCRM gate reduction r (16).
        tcrm: include TCRM in every MRB (ablation switch).
        ssrm: include SSRM and the semantic prior (ablation switch).
        shared_qk: SSRM query and key share one embedding (authors' code) or not (paper text).
        lookup: side G of a learned chromaticity lookup table added to the band projection
            (:class:`~hprn_geo.model.lookup.ChromaticityLookup`); 0: none, as in the paper and the authors' code.
        in_channels: input channels C: 3 (R, G, B) or 4 (and a near-infrared band); the semantic prior
            and the lookup table see the first three.
    """

    bands: int
    channels: int = 200
    blocks: int = 10
    window: int = 64
    scales: tuple[int, ...] = PAPER_SCALES
    grid: int = 4
    reduction: int = 16
    tcrm: bool = True
    ssrm: bool = True
    shared_qk: bool = True
    lookup: int = 0
    in_channels: int = 3

    def to_dict(self) -> dict:
        """Plain-JSON form (tuples become lists)."""
        return {**asdict(self), "scales": list(self.scales)}

    @classmethod
    def from_dict(cls, data: dict) -> HPRNConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``TypeError``."""
        data = dict(data)
        if "scales" in data:
            data["scales"] = tuple(int(s) for s in data["scales"])
        return cls(**data)


MAX_SEGMENTS = 256
"""Most SLIC segments asked at one scale when the counts scale with the tile (:meth:`HPRN.segment_counts`)."""

class HPRN(nn.Module):
    """HPRN: RGB (N, 3, H, W) in [0, 1] -> spectra (N, B, H, W); (N, 4, H, W) with ``in_channels=4`` (RGB + NIR).

    Head 3x3 conv (3, or ``in_channels``, -> C), ``blocks`` MRBs, tail 3x3 conv with the global
    residual, a 3x3 conv to B bands (the coarse estimate), then SSRM guided by
    the multi-scale SLIC prior of the input. All convolutions are bias-free and
    reflection-padded except SSRM's fusion, as in the authors' ``HPRN.py``.
    With ``config.lookup`` the coarse estimate also adds a per-pixel chromaticity
    lookup of the input (an addition of ours, off by default).

    Args:
        config: the hyper-parameters.

    Shape:
        forward(rgb (N, 3, H, W), labels (N, S, H, W) int or None) -> (N, B, H, W);
        any H, W >= 1. With ``labels=None`` the prior is computed from ``rgb``
        with scikit-image's SLIC (CPU), or as :attr:`prior_method` says.
    """

    def __init__(self, config: HPRNConfig) -> None:
        super().__init__()
        self.config = config
        self.prior_method = "skimage"
        """How :meth:`prior` computes labels when not told (see ``semantic_prior``'s ``method``)."""
        self.prior_patch: int | None = None
        """Side of the square the segment counts ``config.scales`` refer to (the training patch):
        an image of another size asks SLIC for proportionally more or fewer segments, so a
        segment covers the same area whatever the tile. None: the counts as given at any size
        (the authors' code). :class:`hprn_geo.predict.Predictor` sets it from the model card."""
        c = config.channels
        self.head = ReflectConv(config.in_channels, c)
        self.blocks = nn.ModuleList(MRB(c, config.tcrm, config.grid, config.reduction) for _ in range(config.blocks))
        self.tail = ReflectConv(c, c)
        self.to_bands = ReflectConv(c, config.bands)
        self.lookup = ChromaticityLookup(config.bands, config.lookup) if config.lookup else None
        self.ssrm = SSRM(config.bands, config.scales, config.window, config.shared_qk) if config.ssrm else None

    @property
    def bands(self) -> int:
        """Number of output bands B."""
        return self.config.bands

    def segment_counts(self, height: int, width: int) -> tuple[int, ...]:
        """The SLIC segment counts asked for an ``height x width`` image (see :attr:`prior_patch`),
        at most :data:`MAX_SEGMENTS` each (the torch SLIC holds an (N, K, H * W) distance tensor)."""
        if self.prior_patch is None:
            return self.config.scales
        area = height * width / self.prior_patch**2
        return tuple(min(MAX_SEGMENTS, max(1, round(count * area))) for count in self.config.scales)

    def prior(self, rgb: torch.Tensor, method: str | None = None) -> torch.Tensor | None:
        """Semantic prior for ``rgb`` (N, 3, H, W): (N, S, H, W) labels, or None without SSRM.

        ``method`` (default :attr:`prior_method`, ``"skimage"``): ``"skimage"``,
        ``"torch"`` or ``"torch-connected"``, as :func:`semantic_prior`'s. The
        segment counts scale with the image's area (:meth:`segment_counts`).
        """
        if self.ssrm is None:
            return None
        return semantic_prior(rgb[:, :3], self.segment_counts(*rgb.shape[-2:]), method or self.prior_method)

    def coarse(self, rgb: torch.Tensor) -> torch.Tensor:
        """The backbone's coarse estimate before SSRM: (N, 3, H, W) -> (N, B, H, W).

        Under autocast (bf16) the head, the global residual, the band
        projection and the lookup table stay in float32 (< 1 % of the paper preset's work): the
        residual carries the input's colours to the output, and rounding them
        to bf16 (8 bits) cost 1.5 % held-out MRAE on ``vnir31``
        (docs/gpu.md). The MRBs, which hold the compute, run in bf16.
        """
        with _float32(rgb):
            shallow = self.head(rgb.float())
        x = shallow
        for block in self.blocks:
            x = block(x)
        residual = self.tail(x).float() + shallow
        with _float32(rgb):
            bands = self.to_bands(residual)
            return bands if self.lookup is None else bands + self.lookup(rgb[:, :3].float())

    def forward(self, rgb: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        coarse = self.coarse(rgb)
        if self.ssrm is None:
            return coarse
        if labels is None:
            labels = self.prior(rgb)
        return self.ssrm(coarse, labels)


def build_model(preset: str, bands: int, **switches: object) -> HPRN:
    """Build an HPRN from a preset and optional switches.

    Args:
        preset: ``"paper"`` (200 channels, 10 MRBs: 14,892,975 parameters at 31
            bands, as the authors' code) or ``"compact"`` (64 channels, 4 MRBs).
        bands: B, output bands.
        **switches: any :class:`HPRNConfig` field, e.g. ``tcrm=False``,
            ``ssrm=False``, ``scales=(12,)``, ``shared_qk=False``.

    Returns:
        An untrained :class:`HPRN`.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    known = {f.name for f in fields(HPRNConfig)} - {"bands"}
    unknown = set(switches) - known
    if unknown:
        raise TypeError(f"unknown switch(es) {sorted(unknown)}; known: {sorted(known)}")
    if "scales" in switches:
        switches["scales"] = tuple(int(s) for s in switches["scales"])  # type: ignore[union-attr]
    config = replace(HPRNConfig(bands=bands, **PRESETS[preset]), **switches)
    return HPRN(config)


def _float32(like: torch.Tensor) -> torch.autocast:
    """A region where autocast is off (computations in the inputs' own dtype, float32 here)."""
    return torch.autocast(like.device.type, enabled=False)
