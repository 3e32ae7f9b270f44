"""The examples of README.md and docs/*.md, as tests: find each fenced block, run it, check its output.

Python blocks are found and run by pytest-examples (``tests/docs/test_examples.py``, which also
checks their ``#>`` print comments); this module adds what that tool does not do: the rules every
block follows and a small runner for shell blocks. The fence's first word says what a block is:

``python``   run, in one namespace per page (blocks of a page build on each other); each ``print``
             is followed by its output as ``#>`` comments (``pytest --update-examples`` writes them)
             (keep each ``print(...)`` on one line, and print lists (``.tolist()``), not numpy arrays:
             importing colour-science, which hprn-geo does on some paths, switches numpy to its 1.13
             print style for the rest of the process)
``bash``     a script, run with ``bash -euo pipefail``; must exit 0; its output is not shown
``console``  a session: ``$ command`` lines (``> `` continues one), each followed by its output,
             compared as doctest does with ELLIPSIS (``...`` stands for anything: timings, paths,
             lines left out); every command must exit 0 (show a failure with ``; echo "exit $?"``)
``text``, ``json``, ``toml``, ``yaml``, ``ini``   not code: output of a skipped block, a file's content, a picture

``file="name.py"`` after ``python`` writes the block into that file of the page's folder instead of
running it (a script that a later console block runs, e.g. one that starts worker processes).
``skip="why"`` after the language (```` ```bash skip="trains for 40 minutes" ````) keeps a python,
bash or console block from running and says why (skipped python blocks are still compiled). Every
fence needs a language. The blocks of a page run in order in a fresh folder laid out like a clone
of the repository: it has links to the clone's ``plugins/``, ``configs/``, ``benchmarks/`` and
``docs/``, ``../shared/data`` is the real data beside the repository, and ``.venv`` is the Python
environment the tests run in, so ``.venv/bin/hprn-geo`` works as README's set-up has it.

    python docs/scripts/examples.py docs/rio.md            # run one page's examples (its test)
    python docs/scripts/examples.py --update docs/rio.md   # write the real outputs into the page

A new page needs nothing more than these fences: the tests find every ``*.md`` in ``docs/``.
"""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"
RUN = ("python", "bash", "console")
NOT_CODE = ("text", "json", "toml", "yaml", "ini")
LINKED = ("plugins", "configs", "benchmarks", "docs", "README.md", "pyproject.toml")
COLUMNS = 80
"""Terminal width for every command (click wraps ``--help`` to it)."""
TIMEOUT = 600
FENCE = re.compile(r"(^ *```)( *)(.*?)\n(.+?)\1", flags=re.M | re.S)
"""A fenced block: the expression pytest-examples finds Python blocks with, for every language."""


def pages(root: Path = ROOT) -> list[Path]:
    """README.md and every page of docs/, in a stable order."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


@dataclass
class Block:
    """One fenced block of a Markdown page."""

    path: Path
    line: int
    """1-based line of the opening fence."""
    info: str
    """Everything after the backticks, e.g. ``bash skip="needs a GPU"``."""
    source: str
    start: int
    end: int
    """Character span of ``source`` in the page (for ``--update``)."""
    indent: int = 0

    @property
    def lang(self) -> str:
        return self.info.split(" ", 1)[0].strip()

    @property
    def settings(self) -> dict[str, str]:
        return {m.group(1): m.group(3) for m in re.finditer(r'([^{\s]+?)=([\'"])(.*?)\2', self.info)}

    @property
    def skip(self) -> str | None:
        return self.settings.get("skip")

    def __str__(self) -> str:
        try:
            where = self.path.relative_to(ROOT)
        except ValueError:
            where = self.path
        return f"{where}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a page, in order."""
    text = path.read_text("utf-8")
    found = []
    for m in FENCE.finditer(text):
        indent = len(m.group(1)) - 3
        source = "".join(line[indent:] for line in m.group(4).splitlines(keepends=True))
        found.append(Block(path, text[: m.start()].count("\n") + 1, m.group(3).strip(), source,
                           m.start(4), m.end(4), indent))
    return found


def problems(path: Path) -> list[str]:
    """What breaks the rules of this module's docstring on a page (empty when none)."""
    found = []
    for block in blocks(path):
        if block.lang not in RUN + NOT_CODE:
            found.append(f"{block}: fence language {block.lang!r} is none of {RUN + NOT_CODE}")
        if "skip" in block.settings and not block.skip.strip():
            found.append(f"{block}: skip=\"\" needs a reason")
        if "file" in block.settings and (block.lang != "python" or block.skip):
            found.append(f"{block}: file=\"...\" is for python blocks that are not skipped")
        if block.skip and block.lang not in RUN:
            found.append(f"{block}: only python, bash and console blocks run, so only they can skip")
    return found


def workdir(base: Path) -> Path:
    """A fresh folder laid out like a clone of the repository (see the module docstring); returns the clone."""
    clone = base / "hprn-geo"
    clone.mkdir(parents=True)
    for name in LINKED:
        (clone / name).symlink_to(ROOT / name)
    (clone / ".venv").symlink_to(Path(sys.prefix))
    (base / "shared").mkdir()
    (base / "shared" / "data").symlink_to(SHARED_DATA)
    return clone


def environment() -> dict[str, str]:
    """What shell blocks run with: this Python's scripts first on PATH, this clone's package first, no GPU."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(COLUMNS=str(COLUMNS), LINES="24", TERM="dumb", NO_COLOR="1", CUDA_VISIBLE_DEVICES="",
               OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "1"), PYTHONWARNINGS="ignore")
    env.pop("VIRTUAL_ENV", None)
    return env


@dataclass
class Command:
    command: str
    want: str
    line: int
    got: str = ""
    status: int = 0


@dataclass
class Session:
    """A console block: commands and the output shown after each."""

    block: Block
    commands: list[Command] = field(default_factory=list)

    @classmethod
    def parse(cls, block: Block) -> Session:
        session = cls(block)
        for number, line in enumerate(block.source.splitlines(), start=block.line + 1):
            if line.startswith("$ "):
                session.commands.append(Command(line[2:], "", number))
            elif line.startswith("> ") and session.commands and not session.commands[-1].want:
                session.commands[-1].command += "\n" + line[2:]
            elif session.commands:
                session.commands[-1].want += line + "\n"
            else:
                raise ValueError(f"{block}: a console block starts with '$ command'")
        return session


def shown(output: str) -> str:
    """Output as a terminal leaves it: a progress bar (``...%|``) in its last state only, no trailing blanks."""
    lines = [line.split("\r")[-1].rstrip() if line.strip("\r") else "" for line in output.split("\n")]
    lines = [line for i, line in enumerate(lines)
             if not (PROGRESS.search(line) and i + 1 < len(lines) and PROGRESS.search(lines[i + 1]))]
    return "\n".join(lines).strip("\n") + "\n" if any(lines) else ""


PROGRESS = re.compile(r"\d+%\|")
PROGRESS_TIMES = re.compile(r"\[\d\d:\d\d<.*\]$")


def run_shell(script: str, cwd: Path, env: dict[str, str], strict: bool = True) -> tuple[int, str]:
    """Run with bash (``strict``: ``-euo pipefail``, else only ``-o pipefail``); exit status and output."""
    flags = ["-euo", "pipefail"] if strict else ["-o", "pipefail"]
    done = subprocess.run(["bash", *flags, "-c", script], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
    return done.returncode, shown(done.stdout)


class ExampleFailed(AssertionError):
    """A block of a page did not run as the page says."""


def matches(want: str, got: str) -> bool:
    return doctest.OutputChecker().check_output(want, got, doctest.ELLIPSIS)


def run_block(block: Block, cwd: Path, env: dict[str, str], keep_going: bool = False) -> Session | None:
    """Run a bash or console block; raises ExampleFailed with what went wrong (unless ``keep_going``,
    for ``--update``). Returns the console session, with what each command printed."""
    if block.lang == "bash":
        status, got = run_shell(block.source, cwd, env)
        if status:
            raise ExampleFailed(f"{block}: exit status {status}\n{block.source}\n--- output:\n{got}")
        return None
    session = Session.parse(block)
    failures = []
    for command in session.commands:
        command.status, command.got = run_shell(command.command, cwd, env, strict=False)
        if command.status:
            failures.append(f"line {command.line}: $ {command.command}\n  exit status {command.status}\n"
                            f"--- output:\n{command.got}")
        elif not matches(command.want, command.got):
            hint = " (help text: python docs/scripts/synopsis.py rewrites it)" if "--help" in command.command else ""
            failures.append(f"line {command.line}: $ {command.command}{hint}\n--- shown:\n{command.want}"
                            f"--- got:\n{command.got}")
    if failures and not keep_going:
        raise ExampleFailed(f"{block}: the session differs from the page (python docs/scripts/examples.py "
                            f"--update {str(block).rsplit(':', 1)[0]} writes the real output)\n" + "\n".join(failures))
    return session


def session_text(session: Session, cwd: Path) -> str:
    """The console block as it should read: each command with what it printed (kept where it matches;
    the run's folder and a progress bar's times become ``...``)."""
    lines = []
    for command in session.commands:
        first, *rest = command.command.split("\n")
        lines += [f"$ {first}", *(f"> {line}" for line in rest)]
        if matches(command.want, command.got):
            lines += command.want.splitlines()
        else:
            got = command.got.replace(f"{cwd.parent}/", ".../")
            lines += [PROGRESS_TIMES.sub("[...]", line) if PROGRESS.search(line) else line for line in got.splitlines()]
    return "".join(f"{line}\n" for line in lines)


def rewrite(path: Path, sources: dict[int, str]) -> bool:
    """Replace the blocks of ``path`` that start at the given lines with new sources; True if it changed."""
    text = path.read_text("utf-8")
    new = text
    for block in sorted(blocks(path), key=lambda b: b.start, reverse=True):
        if block.line in sources:
            pad = " " * block.indent
            source = "".join(pad + line if line.strip() else line for line in sources[block.line].splitlines(True))
            new = new[: block.start] + source + new[block.end:]
    if new != text:
        path.write_text(new, "utf-8")
    return new != text


def main(argv: list[str] | None = None) -> int:
    """Run the examples of some pages through their test (``--update``: rewrite outputs)."""
    import argparse

    parser = argparse.ArgumentParser(description="Run the examples of pages (default: all), as the tests do.")
    parser.add_argument("pages", nargs="*", type=Path, help="e.g. docs/rio.md")
    parser.add_argument("--update", action="store_true",
                        help="write what the commands and prints really output into the page")
    args = parser.parse_args(argv)
    test = str(ROOT / "tests" / "docs" / "test_examples.py")
    ids = [str(p.resolve().relative_to(ROOT)) for p in args.pages]
    targets = [f"{test}::test_{name}[{i}]" for i in ids for name in ("every_block_is_marked", "examples_run")]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *(targets or [test])]
    if args.update:
        command.append("--update-examples")
    return subprocess.call(command, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())
