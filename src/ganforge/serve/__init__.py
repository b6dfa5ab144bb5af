"""``ganforge serve``: a local page to play with a run's generator, from the standard library alone.

:class:`~ganforge.serve.studio.Studio` knows the run (checkpoints, generators, validated requests);
:mod:`ganforge.serve.server` speaks HTTP; ``page.html`` is the page, plain HTML and JavaScript with
nothing fetched from elsewhere.
"""

from __future__ import annotations

import ipaddress
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import torch

from ganforge.errors import UserError
from ganforge.platforms import stop_signals
from ganforge.serve.server import StudioServer
from ganforge.serve.studio import Studio

__all__ = ["Studio", "StudioServer", "make_server", "serve"]

STOP_WAIT_S = 60.0  # the longest a stop waits for requests in progress (a grid takes seconds)


def make_server(
    run_dir: Path, host: str = "127.0.0.1", port: int = 7860, device: str = "cpu"
) -> StudioServer:
    """A server for ``run_dir`` bound to ``host:port`` (port 0 picks a free one), not yet serving.

    Raises:
        UserError: not a run directory, or the address cannot be bound.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"run directory {run_dir} does not exist; give the --out folder of a training run")
    if not 0 <= port <= 65535:
        raise UserError(f"--port must be in 0..65535, got {port}")
    try:
        return StudioServer((host, port), Studio(run_dir, torch.device(device)))
    except OSError as exc:
        raise UserError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
            "choose another --port (0 picks a free one)"
        ) from None


def serve(
    run_dir: Path,
    host: str = "127.0.0.1",
    port: int = 7860,
    device: str = "cpu",
    say: Callable[[str], None] = print,
) -> None:
    """Serve ``run_dir`` until Ctrl-C (or SIGTERM; Ctrl-Break on Windows); returns with the socket closed."""
    server = make_server(run_dir, host, port, device)
    bound_host, bound_port = server.server_address[:2]
    url = f"http://{_url_host(bound_host)}:{bound_port}/"
    say(f"serving {run_dir} at {url} ({_reach(bound_host)}); Ctrl-C stops")
    # Our own handler for every stop signal, as `train` has: Python's default for SIGINT is not
    # installed in a process that starts with SIGINT ignored (a script's background job), and then
    # Ctrl-C would leave the server running.
    main = threading.current_thread() is threading.main_thread()
    previous = {signum: signal.getsignal(signum) for signum in stop_signals()} if main else {}
    for signum in previous:
        signal.signal(signum, _raise_interrupt)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        say("stopped")
    finally:
        try:
            server.server_close()
            _finish_answers(server, say)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _finish_answers(server: StudioServer, say: Callable[[str], None]) -> None:
    """Wait for the requests being drawn (see :meth:`StudioServer.wait_for_answers`), saying so.

    A second Ctrl-C during the wait is the user's "stop now": its KeyboardInterrupt goes on up.
    """
    if server.wait_for_answers(0):
        return
    say(f"finishing the request being drawn (at most {STOP_WAIT_S:.0f} s); Ctrl-C again stops at once")
    if not server.wait_for_answers(STOP_WAIT_S):
        say(f"a request was still being answered after {STOP_WAIT_S:.0f} s; stopping anyway")


def _raise_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _reach(host: str) -> str:
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if loopback:
        return "only this machine can open it; --host 0.0.0.0 shares it with your network"
    return f"reachable by anyone who can reach {host}: there is no password"


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
