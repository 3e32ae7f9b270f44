"""The ``hprn-geo`` command line: one module per command group, the options the doors share in
:mod:`hprn_geo.cli.options`.

Every module here imports click and light parts of the package only; a command imports its work
when it runs, so ``hprn-geo --help`` does not load torch, xarray or rasterio.
"""

from __future__ import annotations

import click

from hprn_geo._version import __version__
from hprn_geo.cli.classify_commands import classify
from hprn_geo.cli.fit_commands import fit
from hprn_geo.cli.plugin_commands import qgis_plugin
from hprn_geo.cli.predict_commands import info, models, predict, sample
from hprn_geo.cli.stac_commands import stac
from hprn_geo.cli.train_commands import evaluate, train

__all__ = ["main"]


@click.group()
@click.version_option(__version__, prog_name="hprn-geo")
def main() -> None:
    """Reconstruct hyperspectral cubes from RGB rasters with HPRN."""


for _command in (predict, info, sample, models, train, evaluate, classify, fit, stac, qgis_plugin):
    main.add_command(_command)
