"""``hprn-geo fit`` on real cubes: HPRN fitted to one scene against ridge, kNN and flat on a blocked holdout.

Each scene's pair is made by :func:`hprn_geo.fit.simulate.simulate_pair` from a
real cube of ``../shared/data``: the cube at its own pixels is what a real camera
(``--camera``, a measured response) sees, written as an 8-bit sRGB photo in UTM
32N with its georeference off by ``--shift`` cube pixels; the hyperspectral
raster is the same cube averaged over 2 x 2 blocks, in UTM 33N. ``hprn-geo fit``
(:func:`hprn_geo.fit.pipeline.fit_pair`, ``--align``) then fits HPRN on 80 % of
the cube's pixels and scores it and the baselines (fitted on exactly the same
training pixels) on the held-out 20 %, whole 8 x 8 blocks. Prints one table per
scene and the mean; ``--figure`` draws the first scene's held-out spectra.

Scenes: ``enmap_potsdam_block`` (EnMAP L2A, 64 x 128, 91 bands, DLR), ``samson``,
``jasper_ridge``, ``sandiego_plane`` (AVIRIS-type; see docs/spectral.md for sources).

Run from the repository root: ``.venv/bin/python benchmarks/fit.py --help``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from hprn_geo.cameras import load_cameras
from hprn_geo.fit.holdout import format_holdout, plot_holdout_spectra
from hprn_geo.fit.pipeline import fit_pair
from hprn_geo.fit.scenefit import STARTS, SceneFitConfig
from hprn_geo.fit.simulate import enmap_block, simulate_pair
from hprn_geo.io.cube import Cube
from hprn_geo.io.shared import load_shared

ROOT = Path(__file__).resolve().parents[1]
SCENES = ("enmap_potsdam_block", "samson", "jasper_ridge", "sandiego_plane")


def load(name: str, data: Path) -> Cube:
    """A scene by name: the EnMAP block or a shared cube."""
    return enmap_block(data) if name == "enmap_potsdam_block" else load_shared(name, data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--scenes", nargs="+", default=list(SCENES), choices=SCENES)
    parser.add_argument("--camera", default="Nikon D700", help="the photo's camera (a name of srf/'s cameras)")
    parser.add_argument("--shift", nargs=2, type=float, default=(0.3, -0.2), help="photo georeference error, cube px")
    parser.add_argument("--preset", default=SceneFitConfig.preset)
    parser.add_argument("--steps", type=int, default=SceneFitConfig.steps)
    parser.add_argument("--patch", type=int, default=SceneFitConfig.patch)
    parser.add_argument("--start", default=SceneFitConfig.start, choices=STARTS)
    parser.add_argument("--init-floor", type=float, default=SceneFitConfig.init_floor,
                        help="floor of the relative linear or affine start (0: plain least squares; affine: ridge)")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "fit", help="pairs, checkpoints, JSON")
    parser.add_argument("--figure", type=Path, help="PNG of the first scene's held-out spectra")
    args = parser.parse_args()
    camera = load_cameras(args.data_dir / "srf")[args.camera]
    config = SceneFitConfig(preset=args.preset, steps=args.steps, patch=args.patch, start=args.start, init_floor=args.init_floor)
    results = {}
    for name in args.scenes:
        cube, folder = load(name, args.data_dir), args.out / name
        folder.mkdir(parents=True, exist_ok=True)
        pair = simulate_pair(cube.data, cube.wavelengths, camera, folder, fwhm=cube.fwhm, shift=tuple(args.shift))
        report = fit_pair(pair.rgb_path, pair.cube_path, folder / "scene_model.pt", config=config, align=True)
        results[name] = {"table": report.table, "seconds": report.seconds, "moved": report.moved,
                         "train_pixels": report.train_pixels, "holdout_pixels": report.holdout_pixels}
        print(f"\n{name}: {cube.data.shape[0]} bands, {report.train_pixels} training / {report.holdout_pixels} "
              f"held-out cube pixels, photo moved by {report.moved[0]:+.2f}, {report.moved[1]:+.2f} (true "
              f"{pair.shift[0]:+.2f}, {pair.shift[1]:+.2f}); {report.seconds:.0f} s; {args.start} start, floor {args.init_floor}")
        print(format_holdout(report.table), flush=True)
        if args.figure is not None and name == args.scenes[0]:
            plot_holdout_spectra(report.holdout, cube.wavelengths, args.figure, f"{name}: held-out pixels")
    methods = next(iter(results.values()))["table"]
    mean = {m: {k: float(np.mean([r["table"][m][k] for r in results.values()])) for k in methods[m]} for m in methods}
    print(f"\nmean over {len(results)} scenes ({args.preset}, {args.steps} steps, patch {args.patch}, {args.start} start, floor {args.init_floor}; "
          f"load average {os.getloadavg()[0]:.1f})")
    print(format_holdout(mean))
    (args.out / "fit.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                   "scenes": results, "mean": mean}, indent=2) + "\n")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"wall time {time.perf_counter() - started:.0f} s")
