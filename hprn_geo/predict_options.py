"""The options of one prediction (:class:`PredictOptions`), built once by each front door and passed down to
:class:`~hprn_geo.predict.Predictor`. No torch here, so :mod:`hprn_geo.cli.options` can build it without
slowing ``--help``; what is written (dtype, COG, overwrite, resume) stays with the writer's arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from hprn_geo.errors import OptionError
from hprn_geo.io.photo import ENCODINGS, WHITE_BALANCES
from hprn_geo.sensors import with_nir

__all__ = ["DEFAULT_OPTIONS", "DEVICES", "FIELDS", "PRECISIONS", "PRIORS", "PredictOptions", "check_block", "refuse_nir"]

DEVICES = ("auto", "cpu", "cuda")
"""The ``device`` choices (``"cuda:N"`` is taken too)."""
PRECISIONS = ("auto", "fp32", "bf16")
"""The ``precision`` choices."""
PRIORS = ("auto", "skimage", "torch", "torch-connected")
"""The ``prior`` choices (``"auto"`` and :data:`hprn_geo.model.prior.PRIOR_METHODS`)."""


@dataclass(frozen=True)
class PredictOptions:
    """How a prediction runs the model and reads its input; every field's default is the model card's or "auto".

    How the model runs:

    Attributes:
        tile: tile side in pixels (None: the card's, the size it was validated at).
        overlap: overlap between tiles in pixels (None: the card's).
        batch: tiles per forward pass (>= 1), or ``"auto"``: 4 on the CPU, on CUDA as many as fit in
            :data:`~hprn_geo.predict.AUTO_BATCH_MEMORY` of the free GPU memory.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        precision: ``"fp32"``, ``"bf16"`` (autocast) or ``"auto"`` (bf16 on CUDA, fp32 on the CPU).
        prior: the semantic prior: ``"skimage"`` (the reference), ``"torch"``, ``"torch-connected"``
            or ``"auto"`` (torch-connected on CUDA, skimage on the CPU).
        colour_consistent: make each output spectrum render back to its input RGB through the card's
            input response (None: the card's choice, off for an sRGB photo;
            :func:`~hprn_geo.predict.colour_request`).
        block: width in pixels of the block columns the scene is run in, >= the tile (None: the default).

    How the input is read (:func:`hprn_geo.io.open_scene`):

    Attributes:
        rgb_bands: 1-based R, G, B (and with a ``+nir`` sensor NIR) band numbers of a multiband input (None: the
            first three, or the sensor's by band name).
        scale: input -> reflectance: ``"auto"`` or a positive factor (a number, or its text, checked when
            the input is opened).
        encoding: ``"auto"``, ``"linear"`` or ``"srgb"``, the transfer function undone after scaling.
        white_balance: ``"none"``, ``"gray-world"``, ``"white-patch"`` or ``"exposure"``.
        sensor: the input's satellite sensor or ``camera:NAME`` (None: none declared); ``NAME+nir``
            (``--with-nir``) also reads the sensor's near-infrared band as a fourth channel.

    Raises:
        OptionError: a value outside its choices, a batch below 1, a tile below 1, a negative overlap,
            ``block`` narrower than ``tile``.
    """

    tile: int | None = None
    overlap: int | None = None
    batch: int | str = "auto"
    device: str = "auto"
    precision: str = "auto"
    prior: str = "auto"
    colour_consistent: bool | None = None
    block: int | None = None
    rgb_bands: tuple[int, ...] | None = None
    scale: float | str = "auto"
    encoding: str = "auto"
    white_balance: str = "none"
    sensor: str | None = None

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise OptionError(f"precision must be 'auto', 'fp32' or 'bf16', got {self.precision!r}")
        if self.prior not in PRIORS:
            raise OptionError(f"prior must be 'auto' or one of {PRIORS[1:]}, got {self.prior!r}")
        if self.batch != "auto" and (isinstance(self.batch, str) or int(self.batch) < 1):
            raise OptionError(f"batch must be 'auto' or a whole number >= 1, got {self.batch!r}")
        if self.tile is not None and int(self.tile) < 1:
            raise OptionError(f"tile must be a whole number >= 1, got {self.tile!r}")
        if self.overlap is not None and int(self.overlap) < 0:
            raise OptionError(f"overlap must be a whole number >= 0, got {self.overlap!r}")
        if self.encoding not in ENCODINGS:
            raise OptionError(f"encoding must be one of {ENCODINGS}, got {self.encoding!r}")
        if self.white_balance not in WHITE_BALANCES:
            raise OptionError(f"white_balance must be one of {WHITE_BALANCES}, got {self.white_balance!r}")
        if self.rgb_bands is not None:
            object.__setattr__(self, "rgb_bands", tuple(self.rgb_bands))
        if self.block is not None and self.tile is not None:
            check_block(self.block, int(self.tile))

    @classmethod
    def pick(cls, values: Mapping[str, Any]) -> PredictOptions:
        """The options among ``values`` (a door's keyword arguments or click values, by field name; other
        names are ignored): the one place a door's keywords become a :class:`PredictOptions`."""
        return cls(**{k: v for k, v in values.items() if k in FIELDS})

    @property
    def reading(self) -> dict:
        """How the input is read, as :func:`hprn_geo.io.open_scene`'s keywords."""
        return {"rgb_bands": self.rgb_bands, "scale": self.scale, "encoding": self.encoding,
                "white_balance": self.white_balance, "sensor": self.sensor}


FIELDS = frozenset(f.name for f in fields(PredictOptions))
"""The names of :class:`PredictOptions`' fields."""

DEFAULT_OPTIONS = PredictOptions()
"""Every option at its default (the default argument of the functions that take options)."""


def refuse_nir(sensor: str | None, door: str) -> None:
    """Refuse a ``NAME+nir`` sensor (:func:`hprn_geo.sensors.with_nir`) at a door that reads R, G and B only.

    Raises:
        OptionError: one line naming the doors that read the NIR band.
    """
    if with_nir(sensor):
        raise OptionError(f"{door} reads R, G and B only; the NIR input ({sensor}) is read by hprn-geo predict "
                          "--with-nir, rio hprn --with-nir and Predictor.predict_file")


def check_block(block: int | None, tile: int) -> None:
    """Refuse block columns narrower than a tile (``--block``); None (the default) is always fine.

    Raises:
        OptionError: ``block < tile``.
    """
    if block is not None and block < tile:
        raise OptionError(f"--block {block} is narrower than the {tile}-pixel tile; use --block {tile} or more")
