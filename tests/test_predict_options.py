"""PredictOptions: one frozen object of a prediction's options, checked once when built."""

from __future__ import annotations

import dataclasses

import pytest

from hprn_geo.errors import OptionError
from hprn_geo.predict_options import DEFAULT_OPTIONS, FIELDS, PredictOptions


@pytest.mark.parametrize(("bad", "message"), [
    ({"precision": "fp16"}, "precision must be"),
    ({"prior": "gpu"}, "prior must be"),
    ({"batch": 0}, "batch must be"),
    ({"batch": "many"}, "batch must be"),
    ({"tile": 0}, "tile must be"),
    ({"overlap": -1}, "overlap must be"),
    ({"encoding": "gamma"}, "encoding must be"),
    ({"white_balance": "auto"}, "white_balance must be"),
    ({"tile": 64, "block": 32}, "--block 32 is narrower than the 64-pixel tile"),
])
def test_bad_options_are_one_line_option_errors(bad: dict, message: str) -> None:
    with pytest.raises(OptionError, match=message):
        PredictOptions(**bad)


def test_options_are_frozen_hashable_and_picked_by_name() -> None:
    options = PredictOptions(tile=64, rgb_bands=[4, 3, 2], scale="0.0001")  # the scale's text is read later
    assert options.rgb_bands == (4, 3, 2) and hash(options) == hash(PredictOptions(tile=64, rgb_bands=(4, 3, 2),
                                                                                   scale="0.0001"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.tile = 32  # type: ignore[misc]
    assert PredictOptions.pick({"tile": 64, "dtype": "uint16", "quiet": True}) == PredictOptions(tile=64)
    assert set(options.reading) == {"rgb_bands", "scale", "encoding", "white_balance", "sensor"} < FIELDS
    assert DEFAULT_OPTIONS == PredictOptions()


def test_the_cli_splits_its_values_into_options_and_the_rest() -> None:
    from hprn_geo.cli.options import split_options

    options, rest = split_options({"tile": 48, "prior": "torch", "dtype": "uint16", "cog": True, "bands": None})
    assert options == PredictOptions(tile=48, prior="torch")
    assert rest == {"dtype": "uint16", "cog": True, "bands": None}
