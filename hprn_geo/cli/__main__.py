"""``python -m hprn_geo.cli``: the ``hprn-geo`` command."""

from hprn_geo.cli import main

main()
