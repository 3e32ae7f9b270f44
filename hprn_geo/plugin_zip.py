"""The QGIS plugin as the zip that QGIS's Plugin Manager installs ("Install from ZIP").

The plugin folder (``plugins/qgis/hprn_geo_qgis`` in the repository) is
installed with hprn-geo as the package ``hprn_geo_qgis``, so that an installed
hprn-geo can write the zip of the plugin that matches it.
"""

from __future__ import annotations

import zipfile
from importlib.resources import files
from pathlib import Path

from hprn_geo.errors import OutputError
from hprn_geo.io.publish import check_overwrite, published

__all__ = ["PLUGIN", "build_plugin_zip"]

PLUGIN = "hprn_geo_qgis"
"""The plugin's folder name, which QGIS uses as its id."""

_SUFFIXES = (".py", ".txt", ".png", ".svg")


def build_plugin_zip(dst: str | Path, overwrite: bool = False) -> Path:
    """Write the QGIS plugin zip to ``dst`` (a ``.zip`` file, or a folder to put ``hprn_geo_qgis.zip`` in).

    The zip holds one folder, ``hprn_geo_qgis/``, with the plugin's sources and
    ``metadata.txt`` (no caches); it is written under a temporary name and renamed.

    Raises:
        OutputError: ``dst`` exists (without ``overwrite``) or cannot be written.
    """
    dst = Path(dst)
    if dst.suffix.lower() != ".zip":
        dst = dst / f"{PLUGIN}.zip"
    check_overwrite(dst, overwrite)
    sources = sorted(p for p in files(PLUGIN).iterdir() if p.is_file() and p.name.endswith(_SUFFIXES))
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        with published(dst) as partial, zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for source in sources:
                archive.writestr(f"{PLUGIN}/{source.name}", source.read_bytes())
    except OSError as exc:
        raise OutputError(f"cannot write {dst}: {exc}") from exc
    return dst
