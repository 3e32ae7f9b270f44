"""Publishing outputs atomically, in one place: write under a temporary name in the same folder, then
``os.replace`` it onto its name (:func:`published`), so that nothing half-written ever looks finished;
and the one refusal of an output that exists (:func:`check_overwrite`). Standard library only (and
:mod:`hprn_geo.errors`), so any module of the package may use it.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hprn_geo.errors import OutputError

__all__ = ["check_overwrite", "fsync_dir", "fsync_path", "partial_path", "published", "remove_path", "replace"]


def check_overwrite(path: str | os.PathLike[str], overwrite: bool, shown: str | None = None) -> None:
    """Refuse an output that exists (a dangling link counts) unless ``overwrite``.

    Args:
        path: the output.
        overwrite: whether replacing it was asked for (``--overwrite``).
        shown: how to name it in the message (default: ``path``).

    Raises:
        OutputError: ``"<path> exists; pass --overwrite to replace it"``.
    """
    if not overwrite and os.path.lexists(path):
        raise OutputError(f"{path if shown is None else shown} exists; pass --overwrite to replace it")


def partial_path(path: str | os.PathLike[str], hidden: bool = False) -> Path:
    """The temporary name of ``path`` while it is written: ``<name>.partial`` beside it (``.<name>.partial``
    when ``hidden``, so that a folder's listing does not show it)."""
    path = Path(path)
    return path.with_name(f"{'.' if hidden else ''}{path.name}.partial")


@contextmanager
def published(path: str | os.PathLike[str], *, hidden: bool = False, durable: bool = False) -> Iterator[Path]:
    """Yield the temporary path to write ``path`` under (:func:`partial_path`); when the block ends
    without an error, move it onto ``path`` (:func:`replace`), else remove it and re-raise.

    Args:
        path: the output (a file, or a folder the block creates).
        hidden: a dot-prefixed temporary name.
        durable: fsync the temporary before the move and the folder after it (a journal).
    """
    path = Path(path)
    partial = partial_path(path, hidden)
    try:
        yield partial
        if durable:
            fsync_path(partial)
        replace(partial, path)
        if durable:
            fsync_dir(path.parent)
    except BaseException:
        remove_path(partial)
        raise


def replace(finished: Path, target: Path) -> None:
    """Move ``finished`` onto ``target`` with ``os.replace``; a folder replaces an existing ``target``
    through a set-aside copy (``<target>.replaced.partial``, removed once the new one is in place)."""
    if finished.is_dir() and target.exists():
        old = target.with_name(target.name + ".replaced.partial")
        remove_path(old)
        os.replace(target, old)
        os.replace(finished, target)
        remove_path(old)
    else:
        os.replace(finished, target)


def remove_path(path: Path) -> None:
    """Delete a file or directory tree if it exists."""
    if path.is_dir() and not path.is_symlink():
        for _ in range(4):  # a store's background writer may still be finishing a file
            shutil.rmtree(path, ignore_errors=True)
            if not path.exists():
                return
            time.sleep(0.05)
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def fsync_path(path: str | os.PathLike[str]) -> None:
    """Flush a file's data to disk (no-op when it does not exist)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Flush a directory's entries (new names, renames) to disk, where the OS allows it."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
