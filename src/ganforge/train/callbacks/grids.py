"""ImageGrid: the fixed-noise grid every so many epochs or steps, and the final grids."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ganforge.sampling import make_grid, save_png
from ganforge.train.callbacks.base import Callback

if TYPE_CHECKING:
    from ganforge.train.context import TrainingContext


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
