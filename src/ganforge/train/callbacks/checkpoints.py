"""Checkpointer: complete checkpoints every so many epochs or steps and at the end (never a diverged one)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ganforge.checkpoint import make_checkpoint, save_checkpoint
from ganforge.train import distributed
from ganforge.train.callbacks.base import Callback

if TYPE_CHECKING:
    from ganforge.train.context import TrainingContext


class Checkpointer(Callback):
    """Saves complete checkpoints every ``every_epochs`` epochs and/or ``every_steps`` steps, and at the end.

    Args:
        run_dir: checkpoints go to ``run_dir/checkpoints``.
        config: the run's resolved config (a dict), stored in every checkpoint; by default the
            training's own (``ctx.run_config``), which lets ``ganforge sample/export/serve`` rebuild it.
        keep: how many of the newest checkpoints to keep.
    """

    def __init__(
        self,
        run_dir: Path,
        config: dict[str, Any] | None = None,
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
            state = make_checkpoint(ctx.state_dict(), self.config or ctx.run_config or {})
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
