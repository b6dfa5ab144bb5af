"""A run directory: its lock, config.json, metrics.jsonl, the checkpoints, and where a resume starts.

Everything that reads or writes the folder itself (not the pictures and logs the callbacks write as
training goes) lives here, so the rules — one process per directory, a new run never overwrites an
old one, a resume continues the saved config with only a new budget — are in one place.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

from ganforge.checkpoint import list_checkpoints, load_newest_readable
from ganforge.config import RunConfig, resumed
from ganforge.data import ImageData
from ganforge.errors import UserError
from ganforge.fileio import remove_stale_temps, truncate_jsonl, write_atomic
from ganforge.train.lock import RunLock


class RunDirectory:
    """The folder ``path`` of one training run (created on :meth:`start`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock = RunLock(self.path)
        self.created = not self.path.exists()

    @property
    def metrics(self) -> Path:
        """The run's JSONL log."""
        return self.path / "metrics.jsonl"

    def claim(self, asked: RunConfig, resume: bool) -> tuple[RunConfig, dict[str, Any] | None]:
        """Take the lock, then return the config to train and the checkpoint to start from.

        Raises:
            UserError: nothing to resume, another process trains here, or a new run into a used folder.
        """
        if resume and not self.path.is_dir():
            raise UserError(f"nothing to resume: {self.path} does not exist")
        self.lock.acquire()  # before anything in the directory is read or written
        if resume:
            remove_stale_temps(self.path)  # half-written files of a killed process
            return self.resume_point(asked)
        if list_checkpoints(self.path):
            raise UserError(
                f"{self.path} already holds a run; continue it with --resume {self.path} "
                "or pick another --out"
            )
        return asked, None

    def resume_point(self, asked: RunConfig) -> tuple[RunConfig, dict[str, Any] | None]:
        """The saved config (with ``asked``'s budget) and the newest readable checkpoint (None if none)."""
        config_file = self.path / "config.json"
        if not list_checkpoints(self.path):
            if not config_file.is_file():
                raise UserError(f"nothing to resume: {self.path} is not a ganforge run directory")
            # Stopped before its first checkpoint: nothing was saved, so it starts over as configured.
            return resumed(RunConfig.load(config_file), asked), None
        checkpoint = load_newest_readable(self.path, lambda text: print(text, file=sys.stderr))
        saved = RunConfig.from_dict(checkpoint["config"])
        if config_file.is_file():
            _check_same_run(RunConfig.load(config_file), saved)
        return resumed(saved, asked), checkpoint

    def start(self, cfg: RunConfig, data: ImageData, say: Callable[[str], None]) -> None:
        """Lay out a new run: samples/, config.json, an empty metrics.jsonl, the list of skipped files."""
        (self.path / "samples").mkdir(parents=True, exist_ok=True)
        cfg.save(self.path / "config.json")
        self.metrics.write_text("")
        if data.skipped:
            text = f"{len(data.skipped)} files skipped (unreadable):\n" + "\n".join(data.skipped) + "\n"
            write_atomic(self.path / "skipped_files.txt", text.encode())
            say(f"skipped {len(data.skipped)} unreadable files; see skipped_files.txt")

    def rewind_metrics(self, step: int) -> None:
        """Drop log lines past ``step`` (work a resume redoes) and half-written ones."""
        truncate_jsonl(self.metrics, step)

    def last_good(self, say: Callable[[str], None]) -> dict[str, Any] | None:
        """The newest readable checkpoint (only finite states are ever saved), or None."""
        if not list_checkpoints(self.path):
            return None
        return load_newest_readable(self.path, say)

    def abandon(self) -> None:
        """After a failed start: release the lock and remove the folder if this run created it empty."""
        self.lock.release()
        if self.created:  # a mistake in the input leaves no empty run directory behind
            with contextlib.suppress(OSError):  # also when --out could not be created at all
                (self.path / ".lock").unlink(missing_ok=True)
                self.path.rmdir()  # only if nothing else was written


def _check_same_run(configured: RunConfig, checkpointed: RunConfig) -> None:
    """A checkpoint copied in from another run (another preset, model or data) is refused, by name."""
    pairs = {
        "preset": (configured.preset, checkpointed.preset),
        "model": (configured.model, checkpointed.model),
        "data.source": (configured.data.source, checkpointed.data.source),
        "data.image_size": (configured.data.image_size, checkpointed.data.image_size),
        "data.channels": (configured.data.channels, checkpointed.data.channels),
    }
    for name, (mine, theirs) in pairs.items():
        if mine != theirs:
            if name == "model":
                diff = [f.name for f in fields(mine) if getattr(mine, f.name) != getattr(theirs, f.name)]
                name, mine, theirs = f"model.{diff[0]}", getattr(mine, diff[0]), getattr(theirs, diff[0])
            raise UserError(
                f"the newest checkpoint does not belong to this run: its {name} is {theirs!r}, "
                f"config.json says {mine!r}; move the foreign checkpoint out of checkpoints/"
            )
