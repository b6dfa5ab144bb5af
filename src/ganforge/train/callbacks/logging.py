"""MetricsLogger: step statistics averaged over intervals, to metrics.jsonl and the progress line."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ganforge.fileio import append_line, truncate_jsonl
from ganforge.train import distributed
from ganforge.train.callbacks.base import Callback
from ganforge.train.progress import Progress

if TYPE_CHECKING:
    from ganforge.train.context import TrainingContext


class MetricsLogger(Callback):
    """Averages step statistics over ``every`` steps and appends them to a JSONL file and the progress line.

    Sums stay on the device between log lines, so a GPU is not synchronised every step.
    """

    def __init__(self, path: Path | None, every: int = 20, progress: Progress | None = None) -> None:
        self.path = Path(path) if path else None
        self.every = every
        self.progress = progress
        self.records: list[dict[str, Any]] = []
        self._reset()

    def _reset(self) -> None:
        self._sums: dict[str, torch.Tensor] = {}
        self._counts: dict[str, int] = {}
        self._images = 0
        self._start = time.monotonic()

    def on_train_begin(self, ctx: TrainingContext) -> None:
        if self.progress:
            self.progress.total = ctx.total_steps
        self._reset()

    def on_step_end(self, ctx: TrainingContext, stats: dict[str, torch.Tensor], n_images: int) -> None:
        for key, value in stats.items():
            self._sums[key] = self._sums[key] + value if key in self._sums else value.clone()
            self._counts[key] = self._counts.get(key, 0) + 1
        self._images += n_images
        if ctx.state.step % self.every == 0:
            self.flush(ctx)

    def on_epoch_end(self, ctx: TrainingContext) -> None:
        if self.progress:
            self.progress.message(
                f"epoch {ctx.state.epoch} done at step {ctx.state.step} ({ctx.state.elapsed:.0f}s trained)"
            )

    def on_train_end(self, ctx: TrainingContext) -> None:
        self.flush(ctx, final=True)
        if self.progress:
            self.progress.finish()

    def on_restore(self, ctx: TrainingContext) -> None:
        # The steps after the restored one will be trained again: their lines would be duplicates.
        self._reset()
        self.records = [r for r in self.records if r["step"] <= ctx.state.step]
        if self.path and self.path.is_file():
            truncate_jsonl(self.path, ctx.state.step)

    def event(self, ctx: TrainingContext, record: dict[str, Any]) -> None:
        """Write a non-metric record (a warning, a recovery) to the file and show its message."""
        if self.path:
            append_line(self.path, record)
        if self.progress:
            self.progress.message(record.get("message", json.dumps(record)))

    def flush(self, ctx: TrainingContext, final: bool = False) -> None:
        """Write the interval's means now (called every ``every`` steps and at the end)."""
        if not self._counts:
            return
        seconds = max(time.monotonic() - self._start, 1e-9)
        steps = max(self._counts.values())
        # Several processes: every one takes part in the averaging, rank 0 (the one with a path) writes.
        means = distributed.mean_over_ranks({k: v / self._counts[k] for k, v in self._sums.items()})
        record = {
            "step": ctx.state.step,
            "epoch": ctx.state.epoch + (1 if ctx.state.batch_in_epoch else 0),
            **{k: float(v) for k, v in means.items()},
            "images_per_sec": distributed.sum_over_ranks(self._images, ctx.device) / seconds,
            "wall_time": round(ctx.state.elapsed, 3),
        }
        if distributed.size() > 1:
            record["processes"] = distributed.size()
        self.records.append(record)
        self.emit(ctx, record, final, seconds / steps)
        self._reset()

    def emit(
        self, ctx: TrainingContext, record: dict[str, Any], final: bool, seconds_per_step: float = 0.0
    ) -> None:
        """Write one interval's record: to the JSONL file and the progress line (subclasses: elsewhere)."""
        if self.path:
            append_line(self.path, record)
        if self.progress:
            total = ctx.total_steps
            eta = (total - ctx.state.step) * seconds_per_step if total else ctx.seconds_left()
            self.progress.update(record, eta, force=final)
