"""``ganforge animate``: a run's fixed-noise grids as one animated GIF."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganforge.commands.common import add_command
from ganforge.errors import UserError
from ganforge.sampling import animate

NAME = "animate"
EXAMPLES = ["ganforge animate runs/demo --out progress.gif"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``animate`` sub-command's parser."""
    p = add_command(subparsers, NAME, "animated GIF of a run's sample grids", EXAMPLES)
    p.add_argument("run", type=Path, help="run directory")
    p.add_argument("--out", type=Path, help="GIF path (default RUN/progress.gif)")
    p.add_argument("--seconds-per-frame", type=float, default=0.5, help="frame duration (default 0.5)")


def run(args: argparse.Namespace) -> int:
    """Assemble the grids."""
    if not args.run.is_dir():
        raise UserError(f"run directory {args.run} does not exist")
    out = args.out or args.run / "progress.gif"
    frames = animate(args.run / "samples", out, args.seconds_per_frame)
    print(f"wrote {out} ({frames} frames)")
    return 0
