"""``hprn-geo stac``: a thin click front door over :mod:`hprn_geo.stac`."""

from __future__ import annotations

import json

import click

from hprn_geo.cli.options import BATCH, DEVICE, OVERWRITE, PRECISION, QUIET, friendly_errors, model_options, with_options
from hprn_geo.io.formats import FORMATS

__all__ = ["stac"]


@click.command()
@click.argument("source")
@click.option("--asset", default="visual", show_default=True,
              help="Key of the RGB asset to reconstruct, or three keys or band common names stacked as R,G,B "
                   "(B04,B03,B02 or red,green,blue).")
@click.option("-o", "--output-dir", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the cubes and the derived Item JSON files.")
@click.option("--format", "fmt", default="tif", show_default=True, type=click.Choice(list(FORMATS)),
              help="Cube format: Cloud Optimized GeoTIFF or Zarr.")
@click.option("--suffix", default="-hprn", show_default=True, help="Appended to each source Item id.")
@with_options(model_options)
@with_options([BATCH, DEVICE, PRECISION, OVERWRITE, QUIET])
@friendly_errors
def stac(source: str, asset: str, out_dir: str, fmt: str, suffix: str, bands: int | None, model_name: str | None,
         weights: str | None, tile: int | None, overlap: int | None, rgb_bands: tuple[int, int, int] | None,
         scale: float | str, sensor: str | None, batch: int | str, device: str, precision: str, overwrite: bool,
         quiet: bool) -> None:
    """Reconstruct the RGB asset of STAC Items into hyperspectral cubes and derived Items.

    SOURCE is a STAC Item, an ItemCollection or a stac-task payload: a file, a
    URL, or - for stdin. The derived Items go to OUTPUT_DIR (one JSON each,
    beside its cube) and, as a FeatureCollection, to stdout, so the command
    chains with other STAC tools.

    Without --sensor, the sensor of each Item's platform (Sentinel-2, Landsat 8/9, Pléiades, SPOT 6/7)
    is used, and said; the Items' raster:bands scale/offset (or s2:processing_baseline) say how their
    values become reflectance.
    """
    from hprn_geo.predict import Predictor
    from hprn_geo.predict_options import PredictOptions
    from hprn_geo.registry import resolve
    from hprn_geo.stac import document_sensor, feature_collection, read_stac, reconstruct_items

    document = read_stac(source)
    options = PredictOptions(tile=tile, overlap=overlap, batch=batch, device=device, precision=precision,
                             rgb_bands=rgb_bands, scale=scale, sensor=sensor)
    predictor = Predictor(resolve(model_name, weights, bands, sensor or document_sensor(document)), options,
                          progress=not quiet)
    items = reconstruct_items(document, asset, out_dir, predictor, fmt=fmt, suffix=suffix, overwrite=overwrite,
                              on_note=None if quiet else lambda note: click.echo(f"hprn-geo: {note}", err=True))
    if not quiet:
        for item in items:
            click.echo(f"hprn-geo: wrote {item.get_self_href()} and its {fmt} cube", err=True)
    click.echo(json.dumps(feature_collection(document, items), indent=2))
