"""The front doors start without the heavy stack: torch, xarray, dask and scipy load when a command runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "xarray", "dask", "zarr", "pystac", "scipy")


@pytest.mark.parametrize("statement", [
    "import hprn_geo",
    "import hprn_geo.cli.options",
    "import hprn_geo.cli; from hprn_geo.cli import main; main(['--help'])",
    "from hprn_geo.cli import main; main(['models'])",
    "import rasterio.rio.main",  # loads the rio hprn plugin
])
def test_front_doors_import_no_heavy_module(statement: str) -> None:
    probe = f"import sys\ntry:\n    {statement}\nexcept SystemExit:\n    pass\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_the_accessor_is_registered_whichever_is_imported_first() -> None:
    for statement in ("import hprn_geo, xarray", "import xarray, hprn_geo"):
        probe = f"{statement}\nprint(hasattr(xarray.DataArray([1.0]), 'hprn'), hasattr(xarray.Dataset(), 'hprn'))"
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
        assert done.stdout.split() == ["True", "True"], statement
