"""The real hosts: Debian's Python with PyQGIS, in a venv that sees it, with hprn-geo installed by pip."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEBIAN_PYTHON = Path("/usr/bin/python3")
QGIS_PACKAGES = "python3-qgis qgis-providers qgis"
"""What ``.ci/run`` installs (as root) for the QGIS tests; the README says how to do it by hand."""


@pytest.fixture(scope="session")
def qgis_venv() -> Path:
    """``.venv-qgis/``: a venv of Debian's Python with ``--system-site-packages`` (so PyQGIS is found) and
    hprn-geo installed into it by pip from this checkout, the install docs/qgis.md describes."""
    found = DEBIAN_PYTHON.exists() and subprocess.run(
        [str(DEBIAN_PYTHON), "-c", "import qgis.core"], capture_output=True).returncode == 0
    if not found:
        pytest.skip(f"PyQGIS is not installed for {DEBIAN_PYTHON}: apt-get install {QGIS_PACKAGES}")
    venv = ROOT / ".venv-qgis"
    if not (venv / "bin" / "python").exists():
        subprocess.run([str(DEBIAN_PYTHON), "-m", "venv", "--system-site-packages", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", f"{ROOT}[test]"], check=True,
                   capture_output=True, timeout=1200)
    return venv
