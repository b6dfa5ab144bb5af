"""Start many short Python processes without paying torch's import each time: fork them from a zygote.

``import torch`` and the first optimiser (which imports torch._dynamo) cost about 3 s of a 2-core
machine's time per process; the kill harness starts 22 processes. The zygote is one fresh Python that
runs a prelude (imports, patches) and then, on request, forks a child that runs a snippet with its own
``sys.argv`` and its stdout and stderr in a log file. Each child is still a process of its own, killed
and reaped like any other; the zygote itself never computes, so no OpenMP pool is inherited (the reason
PyTorch's DataLoader may fork workers on Linux). Linux only: macOS advises against fork() after its
system libraries are loaded, so there :func:`start` falls back to a fresh Python per child.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# Runs in the zygote after the prelude: read a request per line, answer one JSON value per line.
SERVE = r"""
import json as _json, os as _os, sys as _sys, traceback as _traceback

def _child(request):
    log = _os.open(request["log"], _os.O_WRONLY | _os.O_APPEND)  # emptied by the parent
    _os.dup2(log, 1)
    _os.dup2(log, 2)
    _sys.argv = ["-c", *request["args"]]
    code = 1
    try:
        exec(request["code"], globals())  # the prelude's names, as in the fallback's one script
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        _traceback.print_exc()
    finally:
        _sys.stdout.flush()
        _sys.stderr.flush()
        _os._exit(code)

for _line in _sys.stdin:
    _request = _json.loads(_line)
    if _request["op"] == "start":
        _pid = _os.fork()
        if _pid == 0:
            _child(_request)
        _reply = _pid
    else:
        _done, _status = _os.waitpid(_request["pid"], _os.WNOHANG)
        _reply = _os.waitstatus_to_exitcode(_status) if _done else None
    print(_json.dumps(_reply), flush=True)
"""

FORKS = sys.platform.startswith("linux")


class Zygote:
    """A Python that has run ``prelude`` and forks children on request (see the module's docstring).

    Args:
        prelude: code run once in the zygote (imports, patches): every child starts from its state.
        env: the zygote's environment, which every child inherits.
    """

    def __init__(self, prelude: str, env: dict[str, str]) -> None:
        self.prelude, self.env = prelude, env
        self.children: list[Child | subprocess.Popen] = []
        self.process = (
            subprocess.Popen(
                [sys.executable, "-c", prelude + SERVE],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            if FORKS
            else None
        )

    def start(self, code: str, args: list[str], log: Path) -> Child | subprocess.Popen:
        """Run ``code`` (``sys.argv[1:]`` = ``args``) in a new process writing to ``log``.

        ``log`` is emptied before this returns: whatever is read from it afterwards is the new process's.
        """
        with open(log, "w") as out:
            if self.process is None:
                argv = [sys.executable, "-c", self.prelude + code, *args]
                child = subprocess.Popen(argv, env=self.env, stdout=out, stderr=out)
            else:
                child = Child(self, self._ask(op="start", code=code, args=args, log=str(log)))
        self.children.append(child)
        return child

    def poll(self, pid: int) -> int | None:
        """A child's exit code (a signal's as minus its number, as Popen's), or None while it runs."""
        return self._ask(op="poll", pid=pid)

    def close(self) -> None:
        """End the zygote, and any child still running (a failed check left it training)."""
        for child in self.children:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=60)
        if self.process is not None:
            self.process.stdin.close()
            self.process.wait(timeout=60)

    def __enter__(self) -> Zygote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ask(self, **request: object) -> int | None:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the zygote ended with {self.process.wait()} (its prelude failed?)")
        return json.loads(line)


class Child:
    """A process forked by a :class:`Zygote`, with the part of Popen's interface the harness uses."""

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self.zygote, self.pid = zygote, pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.poll(self.pid)
        return self.returncode

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
            time.sleep(0.01)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)
