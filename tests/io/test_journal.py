"""The resume journal (hprn_geo.io.journal)."""

from __future__ import annotations

import pytest

from hprn_geo.errors import OutputError
from hprn_geo.io.journal import Journal

FINGERPRINT = {"format": "GTiff", "shape": [3, 10, 10], "crs": None}


def test_save_and_load_round_trip(tmp_path):
    path = tmp_path / "cube.tif.journal.json"
    Journal(path, dict(FINGERPRINT), {0: (0, 5), 2: (5, 5)}, {0, 1}).save()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.tif.journal.json"]  # no temporary left
    loaded = Journal.load(path, dict(FINGERPRINT), "cube.tif")
    assert loaded.strips == {0: (0, 5), 2: (5, 5)} and loaded.blocks == {0, 1}
    loaded.remove()
    assert not path.exists()


def test_mismatch_names_what_differs(tmp_path):
    path = tmp_path / "j.json"
    Journal(path, dict(FINGERPRINT)).save()
    with pytest.raises(OutputError, match="different shape; use the same options"):
        Journal.load(path, {**FINGERPRINT, "shape": [3, 10, 11]}, "cube.tif")


@pytest.mark.parametrize("text", ["", "[]", '{"fingerprint": {}}', '{"fingerprint": {}, "blocks": [], "strips": {"0": [1]}}'])
def test_unreadable_journal(tmp_path, text):
    path = tmp_path / "j.json"
    path.write_text(text)
    with pytest.raises(OutputError, match="unreadable"):
        Journal.load(path, dict(FINGERPRINT), "cube.tif")
