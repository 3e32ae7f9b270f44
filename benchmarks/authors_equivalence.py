"""Largest difference between our HPRN and the authors' ``HPRN.py`` with the same weights and labels.

docs/model.md says that with the same weights and SLIC labels our network gives the authors' output.
This script checks it: it builds our ``paper`` model (seeded random weights), copies every weight into
the authors' ``HPRN`` (Deep-imagelab/HPRN, ``HPRN.py``; give its path, it is not part of this
repository), runs both in fp32 on the CPU on a crop of the real Pavia render with the same SLIC labels
(ours, 4 scales), and prints the largest absolute difference of the outputs: once with the authors'
``torch.sort`` made stable (as ours is), once with their sort as it is. It exits 1 when the first
exceeds ``--tolerance``.

Run from the repository root:
``.venv/bin/python benchmarks/authors_equivalence.py path/to/HPRN.py [--data ../shared/data] [--size 61 70]``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from skimage.io import imread

from hprn_geo.model import HPRN, build_model, slic_labels

ROOT = Path(__file__).resolve().parents[1]

RENAMES = [
    (r"^head\.conv\.", "head_conv2D.conv2d."),
    (r"^blocks\.(\d+)\.convs\.(\d)\.conv\.", r"backbone.\1.conv\2.conv2d."),
    (r"^blocks\.(\d+)\.acts\.(\d)\.", r"backbone.\1.act\2."),
    (r"^blocks\.(\d+)\.tcrm\.attention\.query\.", r"backbone.\1.tsrm.cross_transformer.q_proj."),
    (r"^blocks\.(\d+)\.tcrm\.attention\.key\.", r"backbone.\1.tsrm.cross_transformer.k_proj."),
    (r"^blocks\.(\d+)\.tcrm\.attention\.value\.", r"backbone.\1.tsrm.cross_transformer.v_proj."),
    (r"^blocks\.(\d+)\.tcrm\.attention\.out\.", r"backbone.\1.tsrm.cross_transformer.out_proj."),
    (r"^blocks\.(\d+)\.tcrm\.gate\.", r"backbone.\1.tsrm.gate."),
    (r"^tail\.conv\.", "tail_conv2D.conv2d."),
    (r"^to_bands\.conv\.", "output_conv2D.conv2d."),
    (r"^ssrm\.query\.conv\.", "ssrm.conv_x.conv2d."),
    (r"^ssrm\.value\.conv\.", "ssrm.conv_y.conv2d."),
    (r"^ssrm\.fuse\.", "ssrm.conv_out."),
]
"""Our state_dict key -> the authors' (pattern, replacement), applied in order."""


def authors_module(path: Path) -> ModuleType:
    """The authors' ``HPRN.py`` imported from ``path``."""
    spec = importlib.util.spec_from_file_location("authors_hprn", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def authors_state(ours: HPRN) -> dict[str, torch.Tensor]:
    """Our model's weights under the authors' names."""
    state = {}
    for key, value in ours.state_dict().items():
        for pattern, replacement in RENAMES:
            key, count = re.subn(pattern, replacement, key)
            if count:
                break
        else:
            raise SystemExit(f"no authors' name for {key}")
        state[key] = value
    return state


@contextlib.contextmanager
def stable_tensor_sort() -> Iterator[None]:
    """``Tensor.sort`` made stable for the duration (the authors' SSRM calls it without ``stable``)."""
    original = torch.Tensor.sort

    def stable(self: torch.Tensor, dim: int = -1, descending: bool = False) -> torch.return_types.sort:
        return original(self, dim=dim, descending=descending, stable=True)

    torch.Tensor.sort = stable  # type: ignore[method-assign]
    try:
        yield
    finally:
        torch.Tensor.sort = original  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("authors", type=Path, help="the authors' HPRN.py (Deep-imagelab/HPRN)")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--size", type=int, nargs=2, default=[61, 70], metavar=("H", "W"))
    parser.add_argument("--bands", type=int, default=31)
    parser.add_argument("--tolerance", type=float, default=1e-6,
                        help="exit 1 when the difference with a stable sort is larger")
    args = parser.parse_args()
    image = imread(args.data / "pavia" / "paviaU_render_b46_b28_b12.png")[: args.size[0], : args.size[1], :3]
    rgb = np.ascontiguousarray(np.moveaxis(image, -1, 0), dtype=np.float32) / 255.0
    labels = torch.from_numpy(slic_labels(rgb))[None]
    if int(labels.max()) >= 100:
        raise SystemExit("a scale has 100 segments or more: the authors' fixed offsets would collide")
    torch.manual_seed(0)
    ours = build_model("paper", args.bands).eval()
    config = ours.config
    theirs = authors_module(args.authors).HPRN(
        outplanes=args.bands, interplanes=config.channels, n_DRBs=config.blocks, window_size=config.window,
        n_scales=len(config.scales), patch_num=config.grid,
    ).eval()
    theirs.load_state_dict(authors_state(ours), strict=True)
    x = torch.from_numpy(rgb)[None]
    with torch.no_grad():
        expected = ours(x, labels)
        with stable_tensor_sort():
            stable = theirs(x, labels)
        as_is = theirs(x, labels)
    height, width = args.size
    print(f"# our 'paper' HPRN vs {args.authors}: {args.bands} bands, {height} x {width} Pavia crop, fp32, CPU")
    print(f"output range {float(expected.min()):.4f} .. {float(expected.max()):.4f}")
    difference = float((expected - stable).abs().max())
    print(f"max |ours - authors'|, their sort made stable: {difference:.3g}")
    print(f"max |ours - authors'|, their sort as it is:    {float((expected - as_is).abs().max()):.3g}")
    if difference > args.tolerance:
        raise SystemExit(f"larger than --tolerance {args.tolerance:g}")


if __name__ == "__main__":
    main()
