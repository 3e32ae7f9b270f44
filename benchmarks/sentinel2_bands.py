"""Real Sentinel-2 scenes: do the reconstructed spectra predict the bands the model never saw?

The shared ``geo/s2_l1c_reference_scenes.npy`` holds five real Sentinel-2 scenes (101 x 100 pixels,
all 13 MSI bands, L1C top-of-atmosphere reflectance). No hyperspectral truth exists for them, but
their red-edge and NIR bands do: the model sees B04/B03/B02 only; its 400-1000 nm output is rendered
through the measured responses of B05, B06, B07, B08 and B8A and compared with the measured bands.
The baselines (ridge, kNN, flat) are fitted on the shared reflectance cubes the model was trained on,
rendered through the same Sentinel-2 responses. These scenes are in no training set and were never
used for a choice. They are top-of-atmosphere reflectance (haze adds path radiance mostly to the
blue band), so the figures are an independent check rather than a clean score.

Usage::

    .venv/bin/python benchmarks/sentinel2_bands.py [--model sentinel2] [--scenes 2 3 4] [--plot out/s2_bands.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hprn_geo.evaluate.baselines import fit_baselines
from hprn_geo.metrics import mrae, sam
from hprn_geo.predict import Predictor
from hprn_geo.registry import resolve
from hprn_geo.scenes import InputConvention, RGBRenderer, load_scene, training_pairs
from hprn_geo.sensors import SENSORS, band_responses, load_responses
from hprn_geo.spectral import normalised_response, response_on_grid

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
ORDER = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12")
"""The band order of ``s2_l1c_reference_scenes.npy``'s last axis."""
UNSEEN = ("B5", "B6", "B7", "B8", "B8A")
INPUT = ("B4", "B3", "B2")


def scenes(indices: list[int]) -> np.ndarray:
    """(S, 13, H, W) float32 TOA reflectance of the chosen scenes."""
    data = np.load(DATA / "geo" / "s2_l1c_reference_scenes.npy")
    return np.moveaxis(data[indices], -1, 1)


def render(spectra: np.ndarray, wavelengths: np.ndarray) -> np.ndarray:
    """(B, ...) spectra on the model's grid -> (5, ...) reflectance of the unseen bands."""
    grid, table = band_responses(DATA / "srf", SENSORS["sentinel2"], UNSEEN)
    matrix = normalised_response(response_on_grid(grid, table, wavelengths))
    return np.tensordot(matrix, spectra, axes=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sentinel2")
    parser.add_argument("--weights", help="a checkpoint instead of the bundled model (e.g. a fold's)")
    parser.add_argument("--scenes", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--plot", type=Path, help="write a figure of a few pixels' spectra")
    args = parser.parse_args()
    checkpoint = resolve(None if args.weights else args.model, args.weights)
    card = checkpoint.card
    wavelengths = np.asarray(card.wavelengths)
    renderer = RGBRenderer(InputConvention(camera="sentinel2"), wavelengths, load_responses(DATA / "srf"))
    clamp = card.scores.get("protocol", {}).get("edge_clamp_nm", 19.0)
    training = [load_scene(name, wavelengths, DATA, card.fwhm, clamp) for name in card.training_data]
    baselines = fit_baselines(*training_pairs(training, renderer))
    predictor = Predictor(checkpoint, progress=False)
    cubes = scenes(args.scenes)
    rows: dict[str, list[tuple[float, float]]] = {"hprn": [], **{name: [] for name in baselines}}
    outputs = {}
    for cube in cubes:
        rgb = cube[[ORDER.index(b) for b in INPUT]]
        truth = cube[[ORDER.index(b) for b in UNSEEN]]
        methods = {"hprn": predictor.predict_array(rgb), **{n: b.predict(rgb) for n, b in baselines.items()}}
        for name, spectra in methods.items():
            bands = render(spectra, wavelengths)
            rows[name].append((mrae(bands, truth), sam(bands, truth)))
        outputs = methods
    print(f"Real Sentinel-2 L1C scenes {args.scenes}: model {card.name!r} from B04/B03/B02; MRAE / SAM of "
          f"{', '.join(UNSEEN)} rendered from the output against the measured bands")
    print(f"{'method':<8}" + "".join(f"{'scene ' + str(i):>18}" for i in args.scenes) + f"{'mean':>18}")
    for name, values in rows.items():
        cells = "".join(f"{m:>10.4f} /{s:5.2f}°" for m, s in values)
        mean = np.mean(values, axis=0)
        print(f"{name:<8}{cells}{mean[0]:>10.4f} /{mean[1]:5.2f}°")
    if args.plot:
        plot(args.plot, cubes[-1], outputs, wavelengths)


def plot(path: Path, cube: np.ndarray, outputs: dict[str, np.ndarray], wavelengths: np.ndarray) -> None:
    """Three pixels of the last scene: each method's spectrum and the 13 measured bands at their centres."""
    from hprn_geo.figures import pyplot, save_figure

    grid, table = band_responses(DATA / "srf", SENSORS["sentinel2"], [b for b in ORDER if b not in ("B1", "B9", "B10")])
    names = [b for b in ORDER if b not in ("B1", "B9", "B10")]
    centres = (grid[:, None] * table).sum(axis=0)
    plt = pyplot()
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
    brightness = cube[ORDER.index("B8")]
    picks = [np.unravel_index(i, brightness.shape) for i in np.argsort(brightness, axis=None)[[50, brightness.size // 2, -50]]]
    for ax, (row, col) in zip(axes, picks):
        for name, spectra in outputs.items():
            ax.plot(wavelengths, spectra[:, row, col], label=name, lw=2 if name == "hprn" else 1)
        measured = cube[[ORDER.index(b) for b in names], row, col]
        seen = [b in INPUT for b in names]
        ax.scatter(centres[seen], measured[seen], c="k", marker="s", label="measured, input", zorder=3)
        ax.scatter(centres[~np.array(seen)], measured[~np.array(seen)], c="r", marker="o", label="measured, not input", zorder=3)
        ax.set_xlim(400, 1000)
        ax.set_title(f"pixel ({row}, {col})")
        ax.set_xlabel("wavelength (nm)")
    axes[0].set_ylabel("reflectance")
    axes[0].legend(fontsize=7)
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"wrote {save_figure(figure, path)}")


if __name__ == "__main__":
    main()
