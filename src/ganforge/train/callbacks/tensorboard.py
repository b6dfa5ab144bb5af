"""TensorBoard logging (``--tensorboard``, or the :class:`TensorBoard` callback in the Python API).

Scalars (losses, mean D(x) and D(G(z)), images/s, every quality metric), the fixed-noise grid, the
configuration as text and the hyperparameters, written through ``torch.utils.tensorboard`` (the
``[tensorboard]`` extra). View with ``tensorboard --logdir RUN/tensorboard``. Under torchrun every
process takes part in the averaging and only rank 0 writes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ganforge.errors import UserError
from ganforge.sampling import make_grid
from ganforge.train import distributed
from ganforge.train.callbacks.logging import MetricsLogger

if TYPE_CHECKING:
    from ganforge.train.context import TrainingContext

SCALARS = ("d_loss", "g_loss", "d_real", "d_fake", "augment_p", "images_per_sec")


class TensorBoard(MetricsLogger):
    """Averages step statistics like :class:`MetricsLogger` and writes them, and grids, for TensorBoard.

    Args:
        log_dir: the event files' folder.
        every: steps between scalar points.
        images_every: steps between fixed-noise grids (None: after every epoch).
        hparams: the run's configuration (a dict), shown as text and as hyperparameters.
    """

    def __init__(
        self,
        log_dir: Path | str,
        every: int = 20,
        images_every: int | None = None,
        hparams: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(None, every)
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UserError(
                "--tensorboard needs the tensorboard package: pip install 'ganforge[tensorboard]'"
            ) from None
        self._writer_class = SummaryWriter
        self.log_dir = Path(log_dir)
        self.images_every = images_every
        self.hparams = hparams or {}
        self.writer = None

    def on_train_begin(self, ctx: TrainingContext) -> None:
        super().on_train_begin(ctx)
        if self.writer is None and distributed.rank() == 0:
            self.writer = self._writer_class(str(self.log_dir))
            self.writer.add_text("config", f"```\n{json.dumps(self.hparams, indent=2)}\n```", ctx.state.step)
            flat = {k: v for k, v in _flatten(self.hparams).items() if isinstance(v, (int, float, str, bool))}
            if flat:
                self.writer.add_hparams(flat, {}, run_name=".")

    def emit(
        self, ctx: TrainingContext, record: dict[str, Any], final: bool, seconds_per_step: float = 0.0
    ) -> None:
        if self.writer is None:
            return
        for key in SCALARS:
            if key in record:
                self.writer.add_scalar(f"train/{key}", record[key], record["step"])

    def event(self, ctx: TrainingContext, record: dict[str, Any]) -> None:
        """Quality records become ``quality/<metric>`` scalars; warnings become text."""
        if self.writer is None:
            return
        for key, value in (record.get("quality") or {}).items():
            if isinstance(value, (int, float)):
                self.writer.add_scalar(f"quality/{key}", value, record["step"])
        if "warning" in record or "event" in record:
            self.writer.add_text("events", record.get("message", json.dumps(record)), record["step"])

    def on_step_end(self, ctx: TrainingContext, stats: dict[str, torch.Tensor], n_images: int) -> None:
        super().on_step_end(ctx, stats, n_images)
        if self.images_every and ctx.state.step % self.images_every == 0:
            self._grid(ctx)

    def on_epoch_end(self, ctx: TrainingContext) -> None:
        if not self.images_every:
            self._grid(ctx)

    def on_train_end(self, ctx: TrainingContext) -> None:
        super().on_train_end(ctx)
        if self.writer is not None:
            self._grid(ctx)
            self.writer.close()
            self.writer = None

    def _grid(self, ctx: TrainingContext) -> None:
        if self.writer is None:
            return
        picture = make_grid(ctx.grid_images(), ctx.config.grid_size).convert("RGB")
        array = torch.from_numpy(np.asarray(picture).copy()).permute(2, 0, 1)  # (3, H, W) uint8
        self.writer.add_image("fixed_noise", array, ctx.state.step)
        self.writer.flush()


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat
