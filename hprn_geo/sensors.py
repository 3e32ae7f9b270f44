"""Satellite sensors as RGB inputs: their band responses, band names and digital-number conventions.

A band's reflectance is the reflectance spectrum weighted by the band's relative spectral response (SRF)
and divided by its integral, which is what :func:`hprn_geo.spectral.render_rgb` does with a camera. So a
sensor is a :class:`~hprn_geo.cameras.Camera` whose R, G, B columns are its red, green and blue bands, and a
model trained on that rendering (``camera = "sentinel2"`` in its config) takes the sensor's reflectance
directly. Each sensor's response is the mean of its platforms' (they differ by under 1 %), read from the
shared ``srf/`` folder (tab-separated, ``Wavelength`` in nm at 1 nm, one column per band). docs/satellites.md
lists the sensors and their bands; each :class:`Sensor` states its digital-number convention.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hprn_geo.cameras import Camera, load_cameras
from hprn_geo.errors import DataFileError, OptionError, RasterReadError

__all__ = [
    "NIR", "SENSORS", "Sensor", "band_responses", "get_sensor", "input_name", "load_responses", "load_sensor_cameras",
    "sensor_for_platform", "sensor_of", "with_nir",
]


@dataclass(frozen=True)
class Sensor:
    """A satellite sensor family as an RGB(+NIR) input.

    Attributes:
        name: ``"sentinel2"``, ``"landsat"``, ``"pleiades"`` or ``"spot67"``.
        title: human name, e.g. ``"Sentinel-2 MSI"``.
        aliases: other names accepted for it (``"landsat8"``).
        platforms: STAC ``platform`` values (lower case) that mean this sensor.
        files: SRF files of its platforms in the ``srf/`` folder.
        columns: the files' columns for red, green, blue and NIR.
        band_names: per channel (R, G, B, NIR) the band names and STAC common names that identify
            it in a raster's band descriptions or an Item's assets, lower case.
        scale: integer digital number -> reflectance factor of its usual product.
        offset: added after scaling (reflectance units).
        convention: one sentence naming that product convention.
    """

    name: str
    title: str
    aliases: tuple[str, ...]
    platforms: tuple[str, ...]
    files: tuple[str, ...]
    columns: tuple[str, str, str, str]
    band_names: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]
    scale: float
    offset: float
    convention: str

    def rgb_in(self, names: Sequence[str | None], nir: bool = False) -> tuple[int, ...] | None:
        """1-based positions in ``names`` (band descriptions, variable or asset names) of this sensor's
        red, green and blue bands (``B04``, ``red``, ``SR_B4``; case-insensitive), and with ``nir`` its
        near-infrared band (``B08``, ``nir``), or None unless all are there."""
        lower = [(n or "").strip().lower() for n in names]
        channels = self.band_names if nir else self.band_names[:3]
        found = [next((i + 1 for i, n in enumerate(lower) if n in channel), None) for channel in channels]
        return None if None in found else tuple(found)  # type: ignore[arg-type]


SENSORS: dict[str, Sensor] = {
    "sentinel2": Sensor(
        "sentinel2", "Sentinel-2 MSI", ("sentinel2a", "sentinel2b", "sentinel2c", "s2"),
        ("sentinel-2a", "sentinel-2b", "sentinel-2c"),
        ("sentinel_2a_srf.tsv", "sentinel_2b_srf.tsv", "sentinel_2c_srf.tsv"), ("B4", "B3", "B2", "B8"),
        (("b04", "b4", "red"), ("b03", "b3", "green"), ("b02", "b2", "blue"), ("b08", "b8", "nir")),
        1e-4, -0.1,
        "Level-2A uint16 = reflectance x 10000 + 1000 (the -1000 DN offset of processing baseline 04.00, "
        "every product since 25 January 2022)",
    ),
    "landsat": Sensor(
        "landsat", "Landsat 8 OLI / 9 OLI-2", ("landsat8", "landsat9", "landsat-8", "landsat-9"),
        ("landsat-8", "landsat-9", "landsat_8", "landsat_9"),
        ("landsat_8_srf.tsv", "landsat_9_srf.tsv"), ("Red", "Green", "Blue", "NIR"),
        (("sr_b4", "b4", "red"), ("sr_b3", "b3", "green"), ("sr_b2", "b2", "blue"), ("sr_b5", "b5", "nir", "nir08")),
        2.75e-5, -0.2,
        "Collection 2 Level-2 uint16 surface reflectance = DN x 2.75e-5 - 0.2",
    ),
    "pleiades": Sensor(
        "pleiades", "Pléiades 1A/1B", ("pleiades1a", "pleiades1b", "phr"),
        ("pleiades-1a", "pleiades-1b", "pleiades 1a", "pleiades 1b", "phr1a", "phr1b"),
        ("pleiades_1a_srf.tsv", "pleiades_1b_srf.tsv"), ("red", "green", "blue", "NIR"),
        (("b2", "red"), ("b1", "green"), ("b0", "blue"), ("b3", "nir")),
        1e-4, 0.0,
        "reflectance products, uint16 = reflectance x 10000",
    ),
    "spot67": Sensor(
        "spot67", "SPOT 6/7", ("spot6", "spot7", "spot-6", "spot-7"),
        ("spot-6", "spot-7", "spot 6", "spot 7", "spot6", "spot7"),
        ("spot_6_7_srf.tsv",), ("Red", "Green", "Blue", "NIR"),
        (("b2", "red"), ("b1", "green"), ("b0", "blue"), ("b3", "nir")),
        1e-4, 0.0,
        "reflectance products, uint16 = reflectance x 10000",
    ),
}
"""The satellite sensors hprn-geo knows, by name (see the module table)."""


def get_sensor(name: str) -> Sensor:
    """The sensor called ``name`` or one of its aliases (case and ``-``/``_`` insensitive; a ``+nir`` suffix,
    :data:`NIR`, names the same sensor).

    Raises:
        OptionError: an unknown name (the message lists the known ones).
    """
    key = name.strip().lower().removesuffix(NIR).replace("_", "").replace("-", "")
    for sensor in SENSORS.values():
        names = (sensor.name, *sensor.aliases)
        if key in {n.replace("_", "").replace("-", "") for n in names}:
            return sensor
    raise OptionError(f"unknown sensor {name!r}; known: {', '.join(SENSORS)} (or camera:NAME for a camera)")


def input_name(text: str) -> str:
    """The name ``--sensor`` and a model card's ``camera:NAME`` input are compared by.

    ``"landsat8"``, ``"camera:landsat9"`` -> ``"landsat"`` (a sensor, by :func:`get_sensor`);
    ``"camera:Nikon_D700"`` -> ``"nikon_d700"`` (a camera name, lower case); ``"s2+nir"``,
    ``"camera:sentinel2+nir"`` -> ``"sentinel2+nir"`` (the sensor with its NIR band as a fourth channel).

    Raises:
        OptionError: ``text`` is neither ``camera:NAME`` nor a sensor name or alias.
    """
    kind, colon, value = text.strip().partition(":")
    if colon and kind.strip().lower() != "camera":
        raise OptionError(f"expected a sensor name or camera:NAME, got {text!r}")
    sensor = sensor_of(text)
    if sensor is None:
        return value.strip().lower()
    return sensor.name + NIR if with_nir(text) else sensor.name


def with_nir(text: str | None) -> bool:
    """Whether a ``--sensor`` value or a card's ``camera:NAME`` input asks for the NIR band as a fourth
    channel (it ends in :data:`NIR`, ``"sentinel2+nir"``)."""
    return text is not None and text.strip().lower().endswith(NIR)


def sensor_of(text: str) -> Sensor | None:
    """The satellite sensor ``text`` names (a name, an alias, or ``camera:`` before one), or None for
    a ``camera:NAME`` that is not a sensor.

    Raises:
        OptionError: ``text`` is neither ``camera:NAME`` nor a sensor name or alias.
    """
    kind, colon, value = text.strip().partition(":")
    if colon and kind.strip().lower() == "camera":
        if not value.strip():
            raise OptionError(f"expected a sensor name or camera:NAME, got {text!r}")
        try:
            return get_sensor(value)
        except OptionError:
            return None
    return get_sensor(text)


def sensor_for_platform(platform: str | None) -> Sensor | None:
    """The sensor of a STAC ``platform`` value (``"sentinel-2b"`` -> ``sentinel2``), or None."""
    if not platform:
        return None
    key = platform.strip().lower()
    return next((s for s in SENSORS.values() if key in s.platforms), None)


NIR = "+nir"
"""Suffix of a sensor's camera name (``"sentinel2+nir"``) whose input has the NIR band as a fourth channel."""


def load_sensor_cameras(srf_dir: str | Path) -> dict[str, Camera]:
    """Every sensor of :data:`SENSORS` as a camera (its red, green and blue bands), its platforms' mean response.

    Args:
        srf_dir: the shared ``srf/`` folder.

    Returns:
        ``{name: Camera}``, response ``(K, 3)`` columns R, G, B on the files' 1 nm grid, and
        ``{name + "+nir": Camera}`` with the NIR band as a fourth column (``(K, 4)``).

    Raises:
        RasterReadError: a file is missing.
        DataFileError: a file lacks a column or its grids differ.
    """
    cameras = {}
    for sensor in SENSORS.values():
        wavelengths, response = band_responses(srf_dir, sensor, sensor.columns)
        cameras[sensor.name] = Camera(sensor.name, wavelengths, response[:, :3])
        cameras[sensor.name + NIR] = Camera(sensor.name + NIR, wavelengths, response)
    return cameras


def load_responses(srf_dir: str | Path) -> dict[str, Camera]:
    """The real cameras of :func:`hprn_geo.cameras.load_cameras` and the sensors of
    :func:`load_sensor_cameras`, by name: every response an input convention can name.

    Returns:
        ``{name: Camera}``, each response ``(K, 3)`` columns R, G, B on its file's grid.

    Raises:
        RasterReadError: a camera or sensor response file is missing from ``srf_dir`` (the sensors'
            files too, even where only a camera is wanted).
        DataFileError: a file does not have the expected layout.
    """
    return {**load_cameras(Path(srf_dir)), **load_sensor_cameras(srf_dir)}


def band_responses(srf_dir: str | Path, sensor: Sensor, columns: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Any bands of a sensor, the mean over its platforms' files, each column summing to 1.

    Args:
        srf_dir: the shared ``srf/`` folder.
        sensor: one of :data:`SENSORS`.
        columns: the files' band columns, e.g. ``("B5", "B6", "B7", "B8", "B8A")``.

    Returns:
        (K,) nm and (K, len(columns)) responses on the files' 1 nm grid.
    """
    grids, tables = [], []
    for filename in sensor.files:
        grid, table = _read_srf(Path(srf_dir) / filename, tuple(columns))
        grids.append(grid)
        tables.append(table / table.sum(axis=0))
    if any(not np.array_equal(grid, grids[0]) for grid in grids):
        raise DataFileError(f"the {sensor.name} response files {', '.join(sensor.files)} are on different grids")
    return grids[0], np.mean(tables, axis=0)


def _read_srf(path: Path, columns: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise RasterReadError(f"sensor response file not found: {path}")
    header = path.read_text().splitlines()[0].split("\t")
    missing = [c for c in ("Wavelength", *columns) if c not in header]
    if missing:
        raise DataFileError(f"{path.name} lacks the column(s) {', '.join(missing)}; has {', '.join(header)}")
    table = np.loadtxt(path, delimiter="\t", skiprows=1)
    return table[:, header.index("Wavelength")], np.clip(table[:, [header.index(c) for c in columns]], 0.0, None)
