"""Paste each command's real ``--help`` into the pages: every ``$ CMD --help`` line of a console block.

    python docs/scripts/synopsis.py              # rewrite README.md and docs/*.md where --help changed
    python docs/scripts/synopsis.py --check      # list the pages whose --help differs (exit 1)

The help is click's, at the terminal width the doc tests use (``examples.COLUMNS``), so the test that
runs the page (``tests/docs/test_examples.py``) fails as soon as an option changes and this script
has not been run. To show a command's options on a new page, write ``$ hprn-geo NAME --help`` in a
console block and run this script.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import examples  # noqa: E402

HELP = re.compile(r"^[\w.-]+( [\w.-]+)* --help$")
"""A plain help command (no pipe, no redirection): its whole output is the synopsis."""


def synopses(page: Path, cwd: Path, env: dict[str, str]) -> dict[int, str]:
    """New sources for the console blocks of ``page`` whose ``--help`` output is not what is shown."""
    new = {}
    for block in examples.blocks(page):
        if block.lang != "console" or block.skip:
            continue
        session = examples.Session.parse(block)
        changed = False
        for command in session.commands:
            if HELP.match(command.command):
                status, got = examples.run_shell(command.command, cwd, env)
                if status:
                    raise SystemExit(f"{block}: {command.command} exited {status}:\n{got}")
                if got != command.want:
                    command.want, command.got, changed = got, got, True
        if changed:
            new[block.line] = "".join(
                "$ " + command.command.replace("\n", "\n> ") + "\n" + command.want for command in session.commands)
    return new


def main(argv: list[str]) -> int:
    check = "--check" in argv
    env = examples.environment()
    stale = []
    with tempfile.TemporaryDirectory() as base:
        cwd = examples.workdir(Path(base))
        for page in examples.pages():
            new = synopses(page, cwd, env)
            if new:
                stale.append(page)
                if not check:
                    examples.rewrite(page, new)
    for page in stale:
        print(f"{page.relative_to(examples.ROOT)}: --help {'differs' if check else 'rewritten'}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
