"""``ganforge report``: a run's story as one self-contained HTML file.

:func:`read_story` gathers what the run directory holds (tolerating missing and damaged files),
:func:`render` turns it into HTML with every picture inlined, and :func:`write_report` writes it
atomically, by default to ``RUN/report.html``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ganforge.errors import UserError
from ganforge.fileio import write_atomic
from ganforge.report.page import render
from ganforge.report.story import RunStory, read_story

__all__ = ["ReportWritten", "RunStory", "read_story", "render", "render_report", "write_report"]


@dataclass
class ReportWritten:
    """Where the report went, its size in bytes, and the problems it lists."""

    path: Path
    size: int
    problems: list[str]


def render_report(run_dir: Path) -> tuple[str, RunStory]:
    """The report of ``run_dir`` as HTML text, with the story it was made from."""
    story = read_story(run_dir)
    return render(story), story


def write_report(run_dir: Path, out: Path | None = None) -> ReportWritten:
    """Write the report of ``run_dir`` to ``out`` (default ``RUN/report.html``) atomically.

    Raises:
        UserError: not a run directory, or ``out`` is not an .html file in an existing folder.
    """
    story = read_story(run_dir)
    out = Path(out) if out is not None else Path(run_dir) / "report.html"
    if out.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"--out {out}: the report is one HTML file; give a name ending in .html")
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; give a file name ending in .html")
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: folder {out.parent} does not exist; create it or choose another")
    data = render(story).encode()
    write_atomic(out, data)
    return ReportWritten(out, len(data), story.problems)
