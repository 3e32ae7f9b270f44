"""openEO UDF: reconstruct hyperspectral reflectance from an RGB cube with hprn-geo (HPRN).

Run it under ``apply_neighborhood`` (the model needs spatial context; the
back-end drops the overlap afterwards); see README.md beside this file.
The UDF maps a cube ``(t?, bands=3, y, x)`` to ``(t?, bands=N, y, x)``, the
new band labels being the wavelengths (``"450 nm"``); ``apply_metadata``
tells the back-end so.

Context keys (all optional):

- ``model``: bundled model name; ``weights``: a checkpoint file on the
  back-end (takes precedence); ``bands``: wanted band count (as
  ``hprn-geo predict --bands``).
- ``rgb_bands``: the labels of the red, green and blue bands, e.g.
  ``["B04", "B03", "B02"]`` (default: the cube's three bands, in order).
- ``scale``: ``"auto"`` or the factor from cube values to reflectance
  (Sentinel-2 L2A digital numbers: ``0.0001``). openEO hands UDFs floats, and
  ``"auto"`` takes floats as reflectance already.
- ``device``: ``"auto"``, ``"cpu"`` or ``"cuda"``.
- ``sensor``: the cube's satellite sensor (``"sentinel2"``, ``"landsat8"``, ... or ``"camera:NAME"``), as
  ``hprn-geo predict --sensor``: the red, green and blue bands are found by their labels (``B04``,
  ``SR_B4``, ``red``) unless ``rgb_bands`` is given; integer values follow the sensor's DN
  convention; without ``model``/``weights`` the bundled model that takes the sensor runs, and one
  that does not is refused. Float values are still taken as reflectance unless ``scale`` says
  otherwise (back-ends differ: some harmonise Sentinel-2 values to drop the -1000 DN offset).

This file does not use ``from __future__ import annotations``: openEO finds
``apply_datacube`` by its annotations, which must be the real
``xarray.DataArray`` class, not a string.
"""

import functools

import numpy as np
import xarray

from hprn_geo.io import InputScaling, infer_scaling
from hprn_geo.io.cubewriter import format_wavelength
from hprn_geo.predict import SpectralModel
from hprn_geo.predict_options import refuse_nir
from hprn_geo.registry import resolve
from hprn_geo.sensors import sensor_of
from hprn_geo.spectral import micrometres

BAND_DIM = "bands"


@functools.lru_cache(maxsize=2)
def _load(model: "str | None", weights: "str | None", bands: "int | None", device: str,
          sensor: "str | None") -> SpectralModel:
    """The model, loaded once per worker and reused for every chunk."""
    return SpectralModel(resolve(model, weights, bands, sensor), device)


def _model(context: dict) -> SpectralModel:
    bands = context.get("bands")
    return _load(context.get("model"), context.get("weights"), None if bands is None else int(bands),
                 context.get("device", "auto"), context.get("sensor"))


def band_labels(wavelengths: np.ndarray) -> "list[str]":
    """Output band labels: ``[450.0, 500.0] -> ["450 nm", "500 nm"]``."""
    return [format_wavelength(w) for w in wavelengths]


def _rgb(cube: xarray.DataArray, rgb_bands: "list[str] | None", sensor: "str | None" = None) -> xarray.DataArray:
    """The red, green and blue bands of ``cube``, in that order (found by their labels for a satellite sensor)."""
    refuse_nir(sensor, "the openEO UDF")
    satellite = None if sensor is None else sensor_of(sensor)
    if rgb_bands is None and satellite is not None and BAND_DIM in cube.coords:
        found = satellite.rgb_in([str(label) for label in cube[BAND_DIM].values])
        rgb_bands = None if found is None else [cube[BAND_DIM].values[i - 1] for i in found]
    if rgb_bands is not None:
        return cube.sel({BAND_DIM: list(rgb_bands)})
    if cube.sizes[BAND_DIM] != 3:
        raise ValueError(f"the cube has {cube.sizes[BAND_DIM]} bands; "
                         "give their red, green and blue labels as context 'rgb_bands'")
    return cube


def _reconstruct(rgb: xarray.DataArray, model: SpectralModel, scaling: InputScaling) -> xarray.DataArray:
    """One (bands=3, y, x) image -> (bands=N, y, x) reflectance; NaN stays NaN."""
    spectra = model.reconstruct(scaling.apply(rgb.transpose(BAND_DIM, "y", "x").values))
    coords = {dim: rgb[dim] for dim in ("y", "x") if dim in rgb.coords}
    coords[BAND_DIM] = band_labels(model.wavelengths)
    return xarray.DataArray(spectra, dims=(BAND_DIM, "y", "x"), coords=coords)


def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    """RGB cube ``(t?, bands, y, x)`` -> hyperspectral cube ``(t?, bands, y, x)``."""
    context = context or {}
    model = _model(context)
    sensor = context.get("sensor")
    rgb = _rgb(cube, context.get("rgb_bands"), sensor)
    scaling = infer_scaling(rgb.dtype.name, context.get("scale", "auto"),
                            sensor=None if sensor is None else sensor_of(sensor))
    if "t" not in rgb.dims:
        return _reconstruct(rgb, model, scaling)
    images = [_reconstruct(rgb.isel(t=i), model, scaling) for i in range(rgb.sizes["t"])]
    return xarray.concat(images, dim=rgb["t"]).transpose("t", BAND_DIM, "y", "x")


def apply_metadata(metadata: "CollectionMetadata", context: dict) -> "CollectionMetadata":  # noqa: F821
    """The output's band dimension: one band per wavelength, labelled and with ``wavelength_um``."""
    from openeo.metadata import Band

    wavelengths = _model(context or {}).wavelengths
    metadata = metadata.filter_bands([])
    for label, nm in zip(band_labels(wavelengths), wavelengths):
        metadata = metadata.append_band(Band(name=label, wavelength_um=micrometres(nm)))
    return metadata
