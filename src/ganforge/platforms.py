"""What differs between Linux, macOS and Windows, in one place: signals, process groups, file names.

Everything else ganforge does is written once for all three: paths through :mod:`pathlib`, locks
through ``filelock`` (``train/lock.py``), atomic writes that retry a file another program holds
(``fileio.py``), and nothing that crosses a process boundary that *spawn* (macOS' and Windows'
default start method) cannot pickle.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

WINDOWS = sys.platform == "win32"

# Names Windows reserves whatever the extension, and the characters it refuses in a file name.
RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}
FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


def stop_signals() -> list[signal.Signals]:
    """The signals that mean "finish the step, save, stop": Ctrl-C everywhere, SIGTERM on POSIX
    (Windows has the name but never delivers it), Ctrl-Break on Windows."""
    names = ["SIGINT", "SIGBREAK"] if WINDOWS else ["SIGINT", "SIGTERM"]
    return [getattr(signal, name) for name in names if hasattr(signal, name)]


def interrupted_by(name: str | None) -> bool:
    """Whether a stop came from the keyboard (Ctrl-C, or Ctrl-Break on Windows): exit status 130."""
    return name in ("SIGINT", "SIGBREAK")


def own_process_group() -> dict[str, Any]:
    """``subprocess.Popen`` arguments that start a child in a process group of its own, so a terminal's
    Ctrl-C reaches only the parent, which forwards it."""
    if WINDOWS:
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def forwarded(signum: int) -> int:
    """The signal to send a child in its own group for ``signum`` (Windows: Ctrl-Break, all it takes)."""
    return getattr(signal, "CTRL_BREAK_EVENT", signum) if WINDOWS else signum


@contextlib.contextmanager
def stops_forwarded(targets: Callable[[], list[int]]) -> Iterator[list[int]]:
    """While inside, a stop signal (:func:`stop_signals`) is passed on to the processes ``targets()``
    names at that moment, not acted on here; yields the list of the signals received.

    For a parent whose child runs in a process group of its own (:func:`own_process_group`): the child
    finishes its step, saves and exits, and the parent reads the list to say why it ended. The previous
    handlers come back on the way out.
    """
    stopped: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        stopped.append(signum)
        for pid in targets():
            with contextlib.suppress(ProcessLookupError, OSError):
                os.kill(pid, forwarded(signum))

    previous = {sig: signal.signal(sig, forward) for sig in stop_signals()}
    try:
        yield stopped
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def windows_name_problem(name: str) -> str | None:
    """Why ``name`` (one path component) is not a valid Windows file name, or None if it is."""
    if FORBIDDEN.search(name):
        return f'{name!r} holds a character Windows refuses (<>:"/\\|?* or a control character)'
    if name.endswith((" ", ".")) and name not in (".", ".."):
        return f"{name!r} ends in a dot or a space"
    if name.split(".")[0].upper() in RESERVED:
        return f"{name!r} is a name Windows reserves ({name.split('.')[0].upper()})"
    return None
