"""One training process per run directory, on every OS.

``RUN/.lock`` is locked through ``filelock`` (``flock`` on Linux and macOS, ``msvcrt.locking`` on
Windows): the operating system releases the lock when the process ends, however it ends (a hard kill
included), so a crashed run never leaves the directory locked. The trainer's pid goes into
``RUN/.trainer`` beside it, for the message that names who holds the run (and for ``ganforge report``).
"""

from __future__ import annotations

import os
from pathlib import Path

from filelock import FileLock, Timeout

from ganforge.errors import UserError

LOCK, OWNER = ".lock", ".trainer"
# A moment's patience: ganforge report's probe takes the lock for an instant, and a trainer starting in
# that instant must not mistake it for another trainer.
WAIT_S = 2.0


class RunLock:
    """Holds the lock on ``run_dir`` from :meth:`acquire` until :meth:`release` or process exit."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK
        self._lock: FileLock | None = None

    def acquire(self) -> None:
        """Take the lock or raise a clear :class:`UserError` naming the process that holds it."""
        if self._lock is not None:
            return
        run_dir = self.path.parent
        if run_dir.exists() and not run_dir.is_dir():
            raise UserError(f"run directory {run_dir} is a file; choose another --out")
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(
                f"cannot create run directory {run_dir} ({exc.strerror}); choose another --out"
            ) from None
        lock = FileLock(str(self.path))
        try:
            lock.acquire(timeout=WAIT_S)
        except Timeout:
            raise UserError(
                f"another ganforge process (pid {_owner(run_dir)}) is training into {run_dir}; "
                "wait for it or use another --out"
            ) from None
        except OSError as exc:
            raise UserError(
                f"cannot lock run directory {run_dir} ({exc.strerror}); choose another --out"
            ) from None
        self._lock = lock
        (run_dir / OWNER).write_text(str(os.getpid()))

    def release(self) -> None:
        """Give the lock back (also happens automatically when the process exits)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def training_pid(run_dir: Path) -> int | None:
    """The pid of the process training into ``run_dir`` now (-1 if unknown), or None when none is.

    Probes by taking the lock without waiting and dropping it at once: a trainer holds it for its
    whole run, so a probe that gets it means nobody is training.
    """
    path = Path(run_dir) / LOCK
    if not path.is_file():
        return None
    probe = FileLock(str(path))
    try:
        probe.acquire(timeout=0)
    except Timeout:
        owner = _owner(Path(run_dir))
        return int(owner) if owner.isdigit() else -1
    except OSError:
        return None
    probe.release()
    return None


def _owner(run_dir: Path) -> str:
    try:
        return (run_dir / OWNER).read_text().strip() or "unknown"
    except OSError:
        return "unknown"
