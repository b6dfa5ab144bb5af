"""``ganforge report``: one self-contained HTML file telling a run's story (library: ganforge.report)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganforge.commands.common import add_command

NAME = "report"
EXAMPLES = ["ganforge report runs/demo", "ganforge report runs/demo --out demo.html --open"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``report`` sub-command's parser."""
    summary = "one self-contained HTML file telling a run's story (also for a run in progress)"
    p = add_command(subparsers, NAME, summary, EXAMPLES)
    p.add_argument("run", type=Path, help="run directory")
    p.add_argument("--out", type=Path, help="HTML file to write (default RUN/report.html)")
    p.add_argument("--open", action="store_true", help="open it in the default browser")


def run(args: argparse.Namespace) -> int:
    """Write the report (and open it)."""
    from ganforge.report import write_report

    done = write_report(args.run, args.out)
    missing = f"; it lists {len(done.problems)} missing or damaged file(s)" if done.problems else ""
    print(f"wrote {done.path} ({done.size / 1e6:.1f} MB, self-contained){missing}")
    if args.open:
        import webbrowser

        webbrowser.open(done.path.resolve().as_uri())
    return 0
