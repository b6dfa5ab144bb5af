"""The callback base class and the two small general ones: early stopping and lambdas."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

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
