"""Callbacks: what happens around the training loop (logs, grids, checkpoints, plots, early stopping).

Each hook receives the loop's :class:`~ganforge.train.context.TrainingContext`: ``ctx.state`` says where
training is and ``ctx.stop_training = True`` ends it after the current step. Callbacks never see the
loop's or the trainer's internals.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ganforge.checkpoint import make_checkpoint, save_checkpoint
from ganforge.fileio import append_line, read_jsonl, truncate_jsonl
from ganforge.sampling import make_grid, save_png
from ganforge.train import distributed
from ganforge.train.plots import plot_losses
from ganforge.train.progress import Progress

if TYPE_CHECKING:
    from ganforge.train.context import TrainingContext


class Callback:
    """Base class: override the hooks you need."""

    def on_train_begin(self, ctx: TrainingContext) -> None:
        """Before the first step of a ``fit`` call."""

    def on_step_end(self, ctx: TrainingContext, stats: dict[str, torch.Tensor], n_images: int) -> None:
        """After every step; ``stats`` are device tensors (reading one forces a sync)."""

    def on_epoch_end(self, ctx: TrainingContext) -> None:
        """After every complete epoch (``ctx.state.epoch`` already counts it)."""

    def on_train_end(self, ctx: TrainingContext) -> None:
        """After the last step, also when stopped early or by a signal."""

    def on_restore(self, ctx: TrainingContext) -> None:
        """After training was put back to an earlier state (divergence recovery); ``ctx.state`` is it."""


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


class ImageGrid(Callback):
    """Saves the fixed-noise grid every ``every_epochs`` epochs (or ``every_steps`` steps), plus final grids.

    Files: ``epoch_0001.png`` / ``step_0000100.png``, ``final.png`` (the fixed-noise grid at the end) and
    ``final_grid.png`` (an 8x8 grid of fresh samples, noise seed 0).
    """

    def __init__(
        self, folder: Path | str, every_epochs: int = 1, every_steps: int | None = None, scale: int = 2
    ) -> None:
        self.folder = Path(folder)
        self.every_epochs = every_epochs
        self.every_steps = every_steps
        self.scale = scale

    def _save(
        self, ctx: TrainingContext, name: str, images: torch.Tensor | None = None, nrow: int | None = None
    ) -> None:
        images = ctx.grid_images() if images is None else images
        nrow = nrow or ctx.config.grid_size
        save_png(make_grid(images, nrow, scale=self.scale), self.folder / name)

    def on_step_end(self, ctx: TrainingContext, stats: dict[str, torch.Tensor], n_images: int) -> None:
        if self.every_steps and ctx.state.step % self.every_steps == 0:
            self._save(ctx, f"step_{ctx.state.step:07d}.png")

    def on_epoch_end(self, ctx: TrainingContext) -> None:
        if not self.every_steps and ctx.state.epoch % self.every_epochs == 0:
            self._save(ctx, f"epoch_{ctx.state.epoch:04d}.png")

    def on_train_end(self, ctx: TrainingContext) -> None:
        self._save(ctx, "final.png")
        self._save(ctx, "final_grid.png", ctx.generate(64, seed=0), nrow=8)


class Checkpointer(Callback):
    """Saves complete checkpoints every ``every_epochs`` epochs and/or ``every_steps`` steps, and at the end.

    Args:
        run_dir: checkpoints go to ``run_dir/checkpoints``.
        config: the run's resolved config (a dict), stored in every checkpoint.
        keep: how many of the newest checkpoints to keep.
    """

    def __init__(
        self,
        run_dir: Path,
        config: dict[str, Any],
        every_epochs: int | None = 1,
        every_steps: int | None = None,
        keep: int = 3,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.config = config
        self.every_epochs = every_epochs
        self.every_steps = every_steps
        self.keep = keep
        self.saved_at = -1

    def on_train_begin(self, ctx: TrainingContext) -> None:
        # A resumed run starts from a checkpoint of this very step.
        self.saved_at = ctx.state.step if ctx.state.step else -1

    def save(self, ctx: TrainingContext) -> Path | None:
        """Write a checkpoint of the current state now (never a diverged one: then None)."""
        if not ctx.weights_finite():
            return None
        path = None
        if distributed.rank() == 0:
            state = make_checkpoint(ctx.state_dict(), self.config)
            path = save_checkpoint(self.run_dir, ctx.state.step, state, self.keep)
        # The others wait, so a checkpoint is complete on disk when any process moves on.
        distributed.barrier()
        self.saved_at = ctx.state.step
        return path

    def on_step_end(self, ctx: TrainingContext, stats: dict[str, torch.Tensor], n_images: int) -> None:
        if self.every_steps and ctx.state.step % self.every_steps == 0:
            self.save(ctx)

    def on_restore(self, ctx: TrainingContext) -> None:
        self.saved_at = ctx.state.step

    def on_epoch_end(self, ctx: TrainingContext) -> None:
        if self.every_epochs and ctx.state.epoch % self.every_epochs == 0 and self.saved_at != ctx.state.step:
            self.save(ctx)

    def on_train_end(self, ctx: TrainingContext) -> None:
        if self.saved_at != ctx.state.step:
            self.save(ctx)


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


class EarlyStopping(Callback):
    """Stops training when a score computed after each epoch stops improving.

    Args:
        score: a function of the training context returning a number to minimise (e.g. a Frechet distance).
        patience: epochs without an improvement of at least ``min_delta`` before stopping.
    """

    def __init__(
        self, score: Callable[[TrainingContext], float], patience: int = 5, min_delta: float = 0.0
    ) -> None:
        self.score = score
        self.patience = patience
        self.min_delta = min_delta
        self.best = math.inf
        self.bad_epochs = 0

    def on_epoch_end(self, ctx: TrainingContext) -> None:
        value = float(self.score(ctx))
        if value < self.best - self.min_delta:
            self.best, self.bad_epochs = value, 0
        else:
            self.bad_epochs += 1
            if self.bad_epochs >= self.patience:
                ctx.stop_training = True


class LambdaCallback(Callback):
    """A callback from plain functions, e.g. ``LambdaCallback(on_epoch_end=lambda ctx: print(ctx.state))``."""

    def __init__(self, **hooks: Callable[..., None]) -> None:
        unknown = set(hooks) - {"on_train_begin", "on_step_end", "on_epoch_end", "on_train_end", "on_restore"}
        if unknown:
            raise TypeError(f"unknown hooks: {sorted(unknown)}")
        for name, fn in hooks.items():
            setattr(self, name, fn)
