"""The documentation site (mkdocs.yml) builds with warnings as errors: a link to a page or an anchor
that does not exist fails the build, and so this test."""

from __future__ import annotations

import os
import re
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


def test_readme_links_point_at_pages_and_headings_that_exist() -> None:
    """README.md is not part of the site, so its links to docs/ are checked here (page and anchor)."""
    from markdown.extensions.toc import slugify

    text = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)\s#]+\.md)(?:#([^)\s]+))?\)", text)
    assert len(links) > 5
    for path, anchor in links:
        target = ROOT / path
        assert target.is_file(), f"README.md links to {path}, which does not exist"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", target.read_text(), flags=re.M)
            slugs = {slugify(heading.replace("`", ""), "-") for heading in headings}
            assert anchor in slugs, f"README.md links to {path}#{anchor}; its headings are {sorted(slugs)}"
