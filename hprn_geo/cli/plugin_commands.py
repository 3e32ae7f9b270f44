"""``hprn-geo qgis-plugin``: the QGIS plugin zip (:mod:`hprn_geo.plugin_zip`)."""

from __future__ import annotations

import click

from hprn_geo.cli.options import friendly_errors

__all__ = ["qgis_plugin"]


@click.group("qgis-plugin")
def qgis_plugin() -> None:
    """The QGIS plugin of this hprn-geo (docs/qgis.md)."""


@qgis_plugin.command("build")
@click.option("-o", "--output", "dst", default=".", show_default=True, type=click.Path(),
              help="The .zip to write, or a folder for hprn_geo_qgis.zip.")
@click.option("--overwrite", is_flag=True, help="Replace an existing zip.")
@friendly_errors
def build_plugin(dst: str, overwrite: bool) -> None:
    """Write the plugin zip for QGIS's Plugin Manager ("Install from ZIP")."""
    from hprn_geo.plugin_zip import build_plugin_zip

    click.echo(f"wrote {build_plugin_zip(dst, overwrite)}")
