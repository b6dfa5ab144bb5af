"""One training process per run directory.

An advisory ``flock`` on ``RUN/.lock``: the kernel releases it when the process ends, however it ends
(SIGKILL included), so a crashed run never leaves the directory locked.
"""

from __future__ import annotations

import os
from pathlib import Path

from ganforge.errors import UserError

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are simply not guarded there
    fcntl = None  # type: ignore[assignment]


class RunLock:
    """Holds the lock on ``run_dir`` from :meth:`acquire` until :meth:`release` or process exit."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / ".lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise a clear :class:`UserError` naming the process that holds it."""
        if fcntl is None or self._fd is not None:
            return
        run_dir = self.path.parent
        if run_dir.exists() and not run_dir.is_dir():
            raise UserError(f"run directory {run_dir} is a file; choose another --out")
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UserError(
                f"cannot create run directory {run_dir} ({exc.strerror}); choose another --out"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise UserError(
                f"another ganforge process (pid {holder}) is training into {self.path.parent}; "
                "wait for it or use another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        """Give the lock back (also happens automatically when the process exits)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def training_pid(run_dir: Path) -> int | None:
    """The pid of the process training into ``run_dir`` now, or None (also where locks are unsupported).

    Probes with a shared, non-blocking lock taken and dropped at once, so it never waits and never
    keeps a trainer out for longer than that instant.
    """
    path = Path(run_dir) / ".lock"
    if fcntl is None or not path.is_file():
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        text = os.read(fd, 64).decode(errors="replace").strip()
        return int(text) if text.isdigit() else -1
    finally:
        os.close(fd)  # closing drops the probe's lock
    return None
