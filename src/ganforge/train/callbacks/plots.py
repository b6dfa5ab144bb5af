"""LossPlot: losses.png redrawn from a MetricsLogger's records, at most every so many seconds."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ganforge.fileio import read_jsonl
from ganforge.train.callbacks.base import Callback
from ganforge.train.callbacks.logging import MetricsLogger
from ganforge.train.plots import plot_losses

if TYPE_CHECKING:
    from ganforge.train.context import TrainingContext


class LossPlot(Callback):
    """Redraws ``losses.png`` after each epoch (or ``every_steps``), at most every ``min_seconds``, and at
    the end.

    Drawn from the records ``logger`` keeps in memory, plus the run's earlier history read once when
    training starts (a resumed run): each drawing costs the same at step 100 as at step 100,000. A
    drawing takes about 0.2 s; without the time limit, keras-gan-mlp's grid every 200 steps spent 3.5%
    of its run redrawing (benchmarks/loop_overhead.py).
    """

    def __init__(
        self, logger: MetricsLogger, out: Path, every_steps: int | None = None, min_seconds: float = 30.0
    ) -> None:
        self.logger = logger
        self.out = Path(out)
        self.every_steps = every_steps
        self.min_seconds = min_seconds
        self._history: list[dict[str, Any]] = []
        self._since = 0
        self._drawn_at = -math.inf

    def on_train_begin(self, ctx: TrainingContext) -> None:
        self._since = ctx.state.step
        path = self.logger.path
        earlier = read_jsonl(path) if path and path.is_file() and ctx.state.step else []
        self._history = [r for r in earlier if "d_loss" in r and r.get("step", 0) <= ctx.state.step]

    def _draw(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._drawn_at < self.min_seconds:
            return
        records = self._history + [r for r in self.logger.records if r["step"] > self._since]
        if records:
            plot_losses(records, self.out)
            self._drawn_at = time.monotonic()

    def on_step_end(self, ctx: TrainingContext, stats: dict[str, torch.Tensor], n_images: int) -> None:
        if self.every_steps and ctx.state.step % self.every_steps == 0:
            self._draw()

    def on_epoch_end(self, ctx: TrainingContext) -> None:
        if not self.every_steps:
            self._draw()

    def on_train_end(self, ctx: TrainingContext) -> None:
        self._draw(force=True)
