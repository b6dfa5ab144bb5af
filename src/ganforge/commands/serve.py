"""``ganforge serve``: a local web page that draws from a run's generator (library: ganforge.serve)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganforge.commands.common import add_command, add_device
from ganforge.devices import resolve_device

NAME = "serve"
EXAMPLES = [
    "ganforge serve runs/demo",
    "ganforge serve runs/demo --port 8080",
    "ganforge serve runs/demo --host 0.0.0.0 --port 7860",
]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``serve`` sub-command's parser."""
    summary = "a local web page to draw from a run's generator (seeds, classes, truncation, walks)"
    p = add_command(subparsers, NAME, summary, EXAMPLES)
    p.add_argument("run", type=Path, help="run directory")
    p.add_argument("--port", type=int, default=7860, help="TCP port (default 7860; 0 picks a free one)")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)"
    )
    add_device(p, default="cpu")


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C."""
    from ganforge.serve import serve

    device = str(resolve_device(args.device))
    serve(args.run, args.host, args.port, device, say=lambda line: print(line, flush=True))
    return 0
