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
from ganforge.config import RunConfig, resumed, with_overrides
from ganforge.data import ImageData
from ganforge.errors import UserError
from ganforge.fileio import remove_stale_temps, truncate_jsonl, write_atomic
from ganforge.train.lock import LOCK, OWNER, RunLock


class RunDirectory:
    """The folder ``path`` of one training run (created on :meth:`start`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock = RunLock(self.path)
        self.created = not self.path.exists()
        self._configured: RunConfig | None = None

    @property
    def metrics(self) -> Path:
        """The run's JSONL log."""
        return self.path / "metrics.jsonl"

    def claim(
        self, asked: RunConfig | None, resume: bool, budget: dict[str, Any] | None = None
    ) -> tuple[RunConfig, dict[str, Any] | None]:
        """Take the lock, then return the config to train and the checkpoint to start from.

        Raises:
            UserError: nothing to resume, another process trains here, or a new run into a used folder.
        """
        if resume and not self.path.is_dir():
            raise UserError(f"nothing to resume: {self.path} does not exist")
        self.lock.acquire()  # before anything in the directory is read or written
        if resume:
            remove_stale_temps(self.path)  # half-written files of a killed process
            return self.resume_point(asked, budget)
        if list_checkpoints(self.path):
            raise UserError(
                f"{self.path} already holds a run; continue it with --resume {self.path} "
                "or pick another --out"
            )
        return asked, None

    def configured(self, required: bool = True) -> RunConfig | None:
        """The run's config.json, read once (None when there is none and it is not ``required``)."""
        if self._configured is None and (self.path / "config.json").is_file():
            self._configured = RunConfig.load(self.path / "config.json")
        if self._configured is None and required:
            what = "does not exist" if not self.path.is_dir() else "has no config.json"
            raise UserError(f"nothing to resume: {self.path} {what}")
        return self._configured

    def resume_point(
        self, asked: RunConfig | None, budget: dict[str, Any] | None = None
    ) -> tuple[RunConfig, dict[str, Any] | None]:
        """The config to continue with and the newest readable checkpoint (None if none yet).

        The run's config is read once. ``asked`` (a config) may differ from it only in the budget
        (:func:`~ganforge.config.resumed`); without one, ``budget`` (dotted budget fields) replaces the
        saved budget, as ``ganforge train --resume RUN --epochs N`` asks.
        """
        configured = self.configured(required=False)
        checkpoint = None
        if list_checkpoints(self.path):
            checkpoint = load_newest_readable(self.path, lambda text: print(text, file=sys.stderr))
            saved = RunConfig.from_dict(checkpoint["config"])
            if configured is not None:
                _check_same_run(configured, saved)
        elif configured is None:
            raise UserError(f"nothing to resume: {self.path} is not a ganforge run directory")
        else:  # stopped before its first checkpoint: nothing was saved, so it starts over as configured
            saved = configured
        if asked is not None:
            return resumed(saved, asked), checkpoint
        return with_overrides(saved, budget or {}), checkpoint

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
                for name in (LOCK, OWNER):
                    (self.path / name).unlink(missing_ok=True)
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
