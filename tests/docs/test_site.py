"""The documentation site (mkdocs.yml) builds with warnings as errors: a link to a page or an anchor
that does not exist fails the build, and so this test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def build(config: Path, site: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
                          capture_output=True, text=True, env=env, timeout=300)


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    done = build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert done.returncode == 0, done.stderr
    pages = {path.parent.name for path in (tmp_path / "site").glob("*/index.html")}
    assert {path.stem for path in (ROOT / "docs").glob("*.md")} - {"index"} <= pages


@pytest.mark.parametrize("link", ["predict.md#no-such-section", "no-such-page.md"])
def test_a_broken_link_fails_the_build(link: str, tmp_path: Path) -> None:
    """The same configuration on a page with one broken link (a renamed page or heading)."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text(f"# Home\n\nSee [the section]({link}).\n")
    (docs / "predict.md").write_text("# Predict\n\n## A session\n")
    config.update(docs_dir=str(docs), nav=["index.md", "predict.md"])
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config))
    done = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert done.returncode != 0
    assert link.split("#")[-1] in done.stderr
