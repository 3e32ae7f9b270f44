"""Start-up of the front doors: wall time of short commands, and what the imports cost.

Each command runs ``--runs`` times in a fresh process (the first run is dropped: it warms the
disk cache); the table gives the median wall time. ``python -X importtime`` says how much of
``rio``'s start-up is our plugin: the cumulative import time of ``hprn_geo.rio`` when rasterio's
``rio`` loads its plugins. Heavy modules (torch, xarray, dask) must not be among the imports.

Run:
    python benchmarks/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
HEAVY = ("torch", "xarray", "dask", "zarr", "pystac")
COMMANDS = {
    "hprn-geo --help": [str(BIN / "hprn-geo"), "--help"],
    "hprn-geo models": [str(BIN / "hprn-geo"), "models"],
    "rio --help": [str(BIN / "rio"), "--help"],
    "python -c 'import rasterio.rio.main'": [sys.executable, "-c", "import rasterio.rio.main"],
    "python -c 'import rasterio'": [sys.executable, "-c", "import rasterio"],
}


def wall(command: list[str], runs: int) -> float:
    """Median wall seconds of ``command`` over ``runs`` runs after one warm-up."""
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def import_times(statement: str) -> dict[str, float]:
    """Cumulative import seconds per module of ``statement``, from ``-X importtime``."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", statement], capture_output=True, text=True,
                          check=True)
    found = re.findall(r"import time:\s+\d+ \|\s+(\d+) \|\s*(\S+)", done.stderr)
    return {name: int(us) / 1e6 for us, name in found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if shutil.which("rio", path=str(BIN)) is None:
        sys.exit("rio is not installed beside this Python")
    print(f"{'command':<40}{'median s':>10}")
    for name, command in COMMANDS.items():
        print(f"{name:<40}{wall(command, args.runs):>10.3f}")
    print()
    for statement in ("import hprn_geo.cli", "import rasterio.rio.main", "import hprn_geo"):
        modules = import_times(statement)
        heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY and "." not in m)
        ours = max((s for m, s in modules.items() if m.startswith("hprn_geo")), default=0.0)
        print(f"{statement:<28} hprn_geo imports {ours:.3f} s cumulative; heavy modules: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
