"""The lock beside an output being written: one run per output at a time.

``cube.tif.lock`` is created with ``O_EXCL`` before anything else is written and names its owner
(pid, host, process start time). A live owner's lock is refused with
:class:`~hprn_geo.errors.OutputLockedError`; one whose owner is gone (same host) is taken over with a
:class:`~hprn_geo.errors.StaleLockWarning`, renamed aside first so that two runs racing for it do not
both win. See ``docs/reliability.md`` ("One run per output").
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from hprn_geo.errors import OutputError, OutputLockedError, StaleLockWarning

__all__ = ["OutputLock", "lock_path"]


def lock_path(target: Path) -> Path:
    """``cube.tif`` -> ``cube.tif.lock``."""
    return target.with_name(target.name + ".lock")


@dataclass(frozen=True)
class Owner:
    """Who holds a lock: a process (``pid``, started at ``started``, seconds since the epoch) on ``host``."""

    pid: int
    host: str
    started: float

    @classmethod
    def me(cls) -> Owner:
        """This process."""
        return cls(os.getpid(), socket.gethostname(), psutil.Process().create_time())

    @classmethod
    def read(cls, path: Path) -> Owner | None:
        """The owner a lock file names; None when it is unreadable (being written, or damaged).

        Raises:
            FileNotFoundError: there is no lock file.
        """
        try:
            fields = json.loads(path.read_text(encoding="utf-8"))
            return cls(int(fields["pid"]), str(fields["host"]), float(fields["started"]))
        except FileNotFoundError:
            raise
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def alive(self) -> bool:
        """Whether this owner may still run: another host's always may; here, its pid must run (not a zombie)
        with its start time."""
        if self.host != socket.gethostname():
            return True
        try:
            process = psutil.Process(self.pid)
            return process.status() != psutil.STATUS_ZOMBIE and abs(process.create_time() - self.started) < 1.0
        except psutil.NoSuchProcess:
            return False
        except psutil.AccessDenied:
            return True

    def __str__(self) -> str:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))
        return f"pid {self.pid} on {self.host}, started {since}"


class OutputLock:
    """The lock of one output; :meth:`acquire` it before writing, :meth:`release` when done (or use it as a
    context manager: acquired on entry, released on exit)."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.path = lock_path(target)
        self.held = False

    def acquire(self) -> OutputLock:
        """Create the lock, taking over a stale one.

        Raises:
            OutputLockedError: a live run (or one on another host, or a lock
                that cannot be read) holds it.
            OutputError: the lock cannot be created (directory not writable).
        """
        me = Owner.me()
        while not self.held:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                owner = self._stale_owner()
                if owner is not None:
                    self._remove_stale(owner)
                    warnings.warn(f"{self.target}: took over the stale lock {self.path.name} of a run that is gone "
                                  f"({owner}); its partial output is resumed with --resume, else started over",
                                  StaleLockWarning, stacklevel=3)
                continue
            except OSError as e:
                raise OutputError(f"cannot write {self.target}: cannot create its lock {self.path.name} "
                                  f"({e.strerror or e})") from None
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(asdict(me), f)
            self.held = True
        return self

    def release(self) -> None:
        """Remove the lock (idempotent)."""
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _stale_owner(self) -> Owner | None:
        """The owner of the lock at ``path`` when it is gone; None when the lock vanished meanwhile.

        Raises:
            OutputLockedError: the owner may still run, or the lock cannot be read.
        """
        try:
            owner = Owner.read(self.path)
        except FileNotFoundError:
            return None
        if owner is None:
            raise OutputLockedError(f"cannot write {self.target}: its lock {self.path.name} cannot be read; "
                                    "delete it if no other run is writing this output")
        if owner.alive():
            when = "after stopping it" if owner.host == socket.gethostname() else "if that run is gone"
            raise OutputLockedError(f"cannot write {self.target}: another run ({owner}) is writing it; "
                                    f"wait for it to finish, or delete {self.path.name} {when}")
        return owner

    def _remove_stale(self, stale: Owner) -> None:
        """Move the lock aside and delete it if it still is ``stale``'s; else put it back and refuse.

        Raises:
            OutputLockedError: another run replaced the stale lock with its own first.
        """
        aside = self.path.with_name(f"{self.path.name}.{os.getpid()}.stale")
        try:
            os.replace(self.path, aside)
        except FileNotFoundError:
            return  # another run removed it first; acquire tries again
        try:
            if Owner.read(aside) != stale:
                with contextlib.suppress(OSError):
                    os.link(aside, self.path)
                raise OutputLockedError(f"cannot write {self.target}: another run took over its stale lock first")
        finally:
            aside.unlink(missing_ok=True)
