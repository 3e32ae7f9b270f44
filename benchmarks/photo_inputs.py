"""Photo-like inputs: what --encoding and --white-balance do to the bundled vnir31 on held-out scenes.

(The scenes must be held out from the model: the numbers in docs/predict.md were measured with the
vnir31 bundled before cross-validation, which had not trained on them; today's models train on every
shared scene, and their accuracy through an unseen camera is cross-validated by benchmarks/accuracy.py.)

Each case is a reflectance cube the model was not trained on (vnir31's validation and test
scenes, ``muufl_sub`` and ``moffett``) rendered through a real camera other than the model's
own (``ntire2022_qe``, ``cave_nikon_d700``), each channel normalised so white gives 1 (a
white-balanced camera), optionally with a white-balance error (gains R, G, B
:data:`WB_ERROR`), multiplied by an exposure (1, or "auto": the scene's 99th percentile of
brightness put at :data:`AUTO_EXPOSED`, as a camera's auto-exposure does), sRGB-encoded and
quantised to 8 bits (:func:`hprn_geo.io.photo.srgb8`), written as a uint8 GeoTIFF and run
through ``hprn-geo predict --model vnir31`` with each option. Scores: MRAE and SAM (degrees)
against the true cube, mean over the 2 scenes x 2 cameras. SAM ignores brightness; MRAE does
not, so an option that rescales the scene changes MRAE even where its spectra's shapes are right.

The first rows are the ideal input: the same cubes rendered through vnir31's own camera as
linear float32 (no photo). Every option runs with colour consistency on (the card's default)
and off: the projection enforces vnir31's own camera response, which a photo from another
camera does not have.

Run: ``python benchmarks/photo_inputs.py [--data-dir ../shared/data] [--out out/photo_inputs]``
(about 4 minutes on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import itertools
import os
from pathlib import Path

import numpy as np
import rasterio
from click.testing import CliRunner
from rasterio.transform import from_origin

from hprn_geo.cameras import load_cameras
from hprn_geo.cli import main as hprn_geo
from hprn_geo.io.photo import EXPOSURE_TARGET, WHITE_PERCENTILE, srgb8
from hprn_geo.io.rgb import write_rgb
from hprn_geo.metrics import mrae, sam
from hprn_geo.registry import available_models
from hprn_geo.spectral import render_rgb
from hprn_geo.scenes import load_scene

ROOT = Path(__file__).resolve().parents[1]
SCENES = ("muufl_sub", "moffett")
CAMERAS = ("ntire2022_qe", "cave_nikon_d700")
WB_ERROR = (1.25, 1.0, 0.75)
AUTO_EXPOSED = 0.8
OPTIONS = {  # on these uint8 photos --encoding auto means srgb
    "linear, none": ("--encoding", "linear"),
    "srgb, none": ("--encoding", "srgb"),
    "srgb, gray-world": ("--encoding", "srgb", "--white-balance", "gray-world"),
    "srgb, white-patch": ("--encoding", "srgb", "--white-balance", "white-patch"),
    "srgb, exposure": ("--encoding", "srgb", "--white-balance", "exposure"),
}
CONSISTENCY = {"on": (), "off": ("--no-colour-consistent",)}
CONDITIONS = {  # name -> (exposure, white-balance error)
    "exp 1": ("1", None),
    "exp 1, WB error": ("1", WB_ERROR),
    "auto-exposed": ("auto", None),
    "auto-exposed, WB error": ("auto", WB_ERROR),
}
BRIGHTNESS_SCENES = ("samson", "jasper_ridge", "moffett", "muufl_sub", "enmap_potsdam_tile_*")


def predict(src: Path, dst: Path, *options: str) -> np.ndarray:
    """``hprn-geo predict SRC -o DST --model vnir31 OPTIONS`` (in this process); the cube read back."""
    args = ["predict", str(src), "-o", str(dst), "--model", "vnir31", "--device", "cpu", "-q", "--overwrite"]
    result = CliRunner().invoke(hprn_geo, [*args, *options])
    if result.exit_code != 0:
        raise SystemExit(result.output)
    with rasterio.open(dst) as cube:
        return cube.read()


def photo(linear: np.ndarray, valid: np.ndarray, exposure: str, error: tuple | None, path: Path) -> Path:
    """Write (3, H, W) white-balanced linear RGB as a camera would store it: a uint8 sRGB GeoTIFF, nodata 0."""
    if error is not None:
        linear = linear * np.asarray(error, np.float32)[:, None, None]
    if exposure == "auto":
        linear = linear * (AUTO_EXPOSED / np.percentile(linear[:, valid].mean(axis=0), WHITE_PERCENTILE))
    codes = np.where(valid, np.maximum(srgb8(np.nan_to_num(linear)), 1), 0).astype(np.uint8)
    return write_rgb(path, codes, "EPSG:32633", from_origin(500000, 5800000, 1, 1), nodata=0)


def write_float(rgb: np.ndarray, path: Path) -> Path:
    """(3, H, W) float32 with NaN as nodata -> a float32 GeoTIFF."""
    profile = {"driver": "GTiff", "height": rgb.shape[1], "width": rgb.shape[2], "count": 3, "dtype": "float32",
               "crs": "EPSG:32633", "transform": from_origin(500000, 5800000, 1, 1), "nodata": np.nan}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(rgb.astype(np.float32))
    return path


def scores(cube: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> tuple[float, float]:
    """(MRAE, SAM in degrees) over the valid pixels."""
    return mrae(cube[:, valid], truth[:, valid]), sam(cube[:, valid], truth[:, valid])


def brightness(wavelengths: np.ndarray, data_dir: Path, response: np.ndarray) -> str:
    """The 99th percentile of per-pixel mean RGB of each shared scene (where EXPOSURE_TARGET comes from)."""
    found = {}
    for name in BRIGHTNESS_SCENES:
        scene = load_scene(name, wavelengths, data_dir, edge_clamp_nm=19.0)
        rgb = np.einsum("cb,bn->cn", response, scene.spectra())
        found[name.rstrip("_*")] = float(np.percentile(rgb.mean(axis=0), WHITE_PERCENTILE))
    listed = ", ".join(f"{name} {value:.3f}" for name, value in found.items())
    return f"99th percentile of brightness at exposure 1: {listed}; median {np.median(list(found.values())):.3f} " \
           f"(EXPOSURE_TARGET = {EXPOSURE_TARGET})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "photo_inputs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    card = available_models()["vnir31"]
    grid = np.asarray(card.wavelengths)
    cameras = load_cameras(args.data_dir / "srf")
    print(brightness(grid, args.data_dir, card.response))
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for scene_name in SCENES:
        scene = load_scene(scene_name, grid, args.data_dir, edge_clamp_nm=19.0)
        truth, valid = scene.cube, scene.valid
        ideal = write_float(np.einsum("cb,bhw->chw", card.response, truth), args.out / f"{scene_name}_ideal.tif")
        for label, consistency in CONSISTENCY.items():
            cube = predict(ideal, args.out / "cube.tif", *consistency)
            results.setdefault((f"ideal (vnir31's camera, float), colour-consistent {label}", "exp 1"), []).append(
                scores(cube, truth, valid))
        for camera in CAMERAS:
            linear = render_rgb(np.nan_to_num(truth), cameras[camera].on_grid(grid))
            for condition, (exposure, error) in CONDITIONS.items():
                src = photo(linear, valid, exposure, error, args.out / f"{scene_name}_{camera}.tif")
                for (option, flags), (label, consistency) in itertools.product(OPTIONS.items(), CONSISTENCY.items()):
                    cube = predict(src, args.out / "cube.tif", *flags, *consistency)
                    results.setdefault((f"{option}, colour-consistent {label}", condition), []).append(
                        scores(cube, truth, valid))
    print(table(results))
    print(f"load average: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


def table(results: dict[tuple[str, str], list[tuple[float, float]]]) -> str:
    """Markdown: one row per option, one MRAE / SAM column per condition (mean over scenes and cameras)."""
    rows = list(dict.fromkeys(option for option, _ in results))
    lines = ["| encoding, white balance | " + " | ".join(f"{c} MRAE / SAM" for c in CONDITIONS) + " |",
             "|---|" + "---|" * len(CONDITIONS)]
    for row in rows:
        cells = []
        for condition in CONDITIONS:
            values = results.get((row, condition))
            cells.append("" if not values else "{:.3f} / {:.2f}°".format(*np.mean(values, axis=0)))
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
