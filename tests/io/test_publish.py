"""The one atomic-publish helper (hprn_geo/io/publish.py): real files and folders, no mocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from hprn_geo.errors import OutputError
from hprn_geo.io.publish import check_overwrite, partial_path, published


def test_a_file_appears_only_once_written(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    with published(target) as partial:
        assert partial == tmp_path / "out.json.partial"
        partial.write_text("new")
        assert not target.exists()
    assert target.read_text() == "new" and sorted(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize("hidden", [False, True])
def test_a_failed_write_leaves_the_old_output_and_no_temporary(tmp_path: Path, hidden: bool) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), published(target, hidden=hidden) as partial:
        partial.write_text("half")
        raise RuntimeError("killed")
    assert partial == partial_path(target, hidden) and partial.name.startswith(".") == hidden
    assert target.read_text() == "old" and sorted(tmp_path.iterdir()) == [target]


def test_a_folder_replaces_an_old_folder(tmp_path: Path) -> None:
    target = tmp_path / "cube.zarr"
    (target / "old").mkdir(parents=True)
    with published(target, durable=True) as partial:
        (partial / "new").mkdir(parents=True)
    assert [p.name for p in target.iterdir()] == ["new"] and sorted(tmp_path.iterdir()) == [target]


def test_an_existing_output_is_refused_in_one_line(tmp_path: Path) -> None:
    target = tmp_path / "out.tif"
    check_overwrite(target, overwrite=False)
    target.write_text("x")
    check_overwrite(target, overwrite=True)
    with pytest.raises(OutputError, match=r"^out\.tif exists; pass --overwrite to replace it$"):
        check_overwrite(target, overwrite=False, shown="out.tif")
    (tmp_path / "link.tif").symlink_to(tmp_path / "missing.tif")  # a dangling link is an output too
    with pytest.raises(OutputError, match="link.tif exists"):
        check_overwrite(tmp_path / "link.tif", overwrite=False)
