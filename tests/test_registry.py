"""Checkpoint trust: bundled names before files, and a bundled checkpoint or card that differs from its
registered sha256 by one byte is refused with one line."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import hprn_geo
from hprn_geo.errors import CheckpointError, UntrainedModelWarning
from hprn_geo.registry import WEIGHTS, available_models, checkpoint_path, load_bundled

PACKAGE = Path(hprn_geo.__file__).parent


def _flip_one_byte(path: Path) -> None:
    """Change one byte of ``path`` and keep it loadable: a digit of a JSON card for another, a byte of the
    weights of a checkpoint (torch loads the changed weights without complaint)."""
    data = bytearray(path.read_bytes())
    if path.suffix == ".json":
        at = re.search(rb"\d", data).start()
        data[at] = ord("7") if data[at] != ord("7") else ord("3")
    else:
        data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _tampered_weights(folder: Path, name: str, part: str) -> Path:
    """A copy of the package's weights folder in which the ``part`` (``"file"`` or ``"card"``) of bundled
    model ``name`` differs by one byte."""
    with_weights = folder / "weights"
    shutil.copytree(str(WEIGHTS), with_weights)
    _flip_one_byte(with_weights / json.loads((with_weights / "index.json").read_text())[name][part])
    return with_weights


@pytest.mark.parametrize("part", ["file", "card"])
def test_a_bundled_model_one_byte_off_its_index_is_refused(part: str, tmp_path: Path) -> None:
    weights = _tampered_weights(tmp_path, "vnir31", part)
    assert json.loads((weights / "vnir31.json").read_text())  # the changed card still parses: only the digest refuses
    with pytest.raises(CheckpointError, match="does not match its registered sha256; it was modified") as error:
        load_bundled("vnir31", weights)
    assert "\n" not in str(error.value)
    assert load_bundled("rosis103", weights).card.name == "rosis103"


def test_the_cards_listed_are_covered_by_the_index(tmp_path: Path) -> None:
    weights = _tampered_weights(tmp_path, "vnir31", "card")
    with pytest.raises(CheckpointError, match=r"^card vnir31\.json of bundled model 'vnir31' does not match"):
        available_models(weights)


def test_models_command_refuses_a_modified_card_in_one_line(tmp_path: Path) -> None:
    """``hprn-geo models`` of an installed copy of the package whose vnir31 card differs by one byte."""
    shutil.copytree(PACKAGE, tmp_path / "hprn_geo", ignore=shutil.ignore_patterns("__pycache__", "weights"))
    _tampered_weights(tmp_path / "hprn_geo", "vnir31", "card")
    result = subprocess.run([sys.executable, "-m", "hprn_geo.cli", "models"], capture_output=True, text=True,
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == ("Error: card vnir31.json of bundled model 'vnir31' does not match its registered "
                             "sha256; it was modified\n")


def test_a_bundled_name_is_not_shadowed_by_a_file_of_that_name(tiny_checkpoint: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(tiny_checkpoint, "vnir31")
    assert checkpoint_path("vnir31") is None
    assert hprn_geo.load_model("vnir31", device="cpu").card.bands == 31
    for as_path in ("./vnir31", Path("vnir31"), str(tmp_path / "vnir31")):
        assert checkpoint_path(as_path) == Path(as_path)
    with pytest.warns(UntrainedModelWarning):
        assert hprn_geo.load_model("./vnir31", device="cpu").card.name == "tiny8"
