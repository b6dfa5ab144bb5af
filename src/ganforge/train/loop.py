"""The training loop: ``fit`` walks the epochs' batches through the trainer until the budget is used up.

Data flows one way: uint8 batches -> [-1, 1] on the device -> :class:`~ganforge.train.trainer.Trainer`
-> statistics -> callbacks. The loop owns the :class:`TrainState` and the :class:`Budget`; callbacks
receive the loop as a :class:`~ganforge.train.context.TrainingContext` and may ask it to stop, to
restore an earlier state, or to change the learning rates, nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ganforge.checkpoint import rng_state, set_rng_state
from ganforge.config import TrainConfig
from ganforge.data.images import ImageData, as_image_data, to_unit_range
from ganforge.data.order import EpochOrder
from ganforge.errors import UserError
from ganforge.sampling import generate
from ganforge.train import distributed
from ganforge.train.callbacks import Callback
from ganforge.train.context import TrainState
from ganforge.train.trainer import Trainer


@dataclass
class Budget:
    """When a ``fit`` call ends: global ``steps``, ``epochs`` counted from the start, or ``minutes`` of it."""

    epochs: int | None
    steps: int | None
    minutes: float | None
    started: float
    elapsed_before: float

    def elapsed(self) -> float:
        """Training seconds so far, over every ``fit`` of the run."""
        return self.elapsed_before + time.monotonic() - self.started

    def seconds_left(self) -> float | None:
        """Seconds left of a ``minutes`` budget (None without one)."""
        return None if self.minutes is None else self.minutes * 60 - (time.monotonic() - self.started)

    def reached(self, state: TrainState) -> bool:
        """Whether ``state`` is at or past any of the limits."""
        if self.steps is not None and state.step >= self.steps:
            return True
        if self.epochs is not None and state.epoch >= self.epochs:
            return True
        return self.minutes is not None and time.monotonic() - self.started >= self.minutes * 60

    def total_steps(self, batches_per_epoch: int) -> int | None:
        """The global step a steps or epochs limit ends at (None for a minutes budget alone)."""
        by_epochs = self.epochs * batches_per_epoch if self.epochs else None
        limits = [s for s in (self.steps, by_epochs) if s]
        return min(limits) if limits else None

    def progress(self, step: int, total_steps: int | None) -> float:
        """How far along the budget a run at ``step`` is, in [0, 1]: the furthest of its limits.

        A ``minutes`` limit counts the training clock against every earlier ``fit``'s seconds plus this
        one's minutes, so a run resumed with the minutes it had left continues the same schedule.
        """
        parts = [step / total_steps] if total_steps else []
        if self.minutes is not None:
            parts.append(self.elapsed() / (self.elapsed_before + self.minutes * 60))
        return min(max(parts, default=0.0), 1.0)


def batch_images(data: ImageData, idx: torch.Tensor) -> torch.Tensor:
    """The uint8 images of batch ``idx``; an index past the data's end is the x-flip of image idx - N."""
    n = len(data)
    images = data.images[idx % n]
    flipped = idx >= n
    if bool(flipped.any()):
        images = images.clone()
        images[flipped] = images[flipped].flip(-1)
    return images


def check_batch_size(n_images: int, batch_size: int) -> None:
    """A clear error when the data cannot fill a single batch."""
    if n_images < batch_size:
        raise UserError(
            f"the data has {n_images} images, fewer than one batch of {batch_size}; "
            "use a smaller --batch-size"
        )


class Loop:
    """Runs ``fit`` over a :class:`Trainer`; implements :class:`~ganforge.train.context.TrainingContext`."""

    def __init__(self, trainer: Trainer, config: TrainConfig, latent_dim: int, device: torch.device) -> None:
        self.trainer = trainer
        self.config = config
        self.latent_dim = latent_dim
        self.device = device
        self.state = TrainState()
        self.stop_training = False
        self.batches_per_epoch = 0
        self.total_steps: int | None = None
        self.train_data: ImageData | None = None
        self.run_config: dict[str, Any] | None = None  # the full config, when the networks can be rebuilt
        self._budget: Budget | None = None
        self._active: Sequence[Callback] = ()
        self._restored = False  # a callback rewound the state during this step or epoch
        self._last_step = False  # the step just done is the last of this fit
        seeded = torch.Generator().manual_seed(config.seed + 1)
        self.fixed_noise = torch.randn(config.grid_size**2, latent_dim, generator=seeded)

    # ----- the loop ----------------------------------------------------------------------------------

    def run(
        self,
        data: ImageData | torch.Tensor | np.ndarray,
        budget: Budget,
        batch_size: int,
        callbacks: Sequence[Callback] = (),
    ) -> TrainState:
        """Train on ``data`` until ``budget`` is used up or a callback (or a signal) asks to stop (the
        engine of ``GAN.fit`` and ``ganforge train``; both have checked the batch against the data)."""
        data = as_image_data(data)
        if self.trainer.num_classes is not None and data.labels is None:
            raise UserError("this GAN is class-conditional but the data has no labels")
        # --mirror: indices past the data's end stand for the x-flipped images (batch_images).
        n = len(data) * (2 if self.config.mirror else 1)
        order = EpochOrder(n, batch_size, self.config.seed, distributed.rank(), distributed.size())
        self.batches_per_epoch = order.batches
        self.stop_training = self._last_step = False
        self.total_steps = budget.total_steps(self.batches_per_epoch)
        self._budget, self._active, self.train_data = budget, callbacks, data
        self._dispatch("on_train_begin")
        while not self._stop_agreed():
            self._run_epoch(data, order)
            # After a restore (divergence recovery) the state is an earlier one: no epoch ended.
            if not self._restored and self.state.batch_in_epoch >= self.batches_per_epoch:
                self.state.epoch += 1
                self.state.batch_in_epoch = 0
                self.state.elapsed = budget.elapsed()
                self._dispatch("on_epoch_end")
            self._restored = False
        self.state.elapsed = budget.elapsed()
        self._dispatch("on_train_end")
        return self.state

    def _run_epoch(self, data: ImageData, order: EpochOrder) -> None:
        batches = order.batches_of(self.state.epoch)
        for b in range(self.state.batch_in_epoch, self.batches_per_epoch):
            idx = batches[b]
            labels = (
                None if self.trainer.num_classes is None else data.labels[idx % len(data)].to(self.device)
            )
            self.trainer.dials.set_progress(self._budget.progress(self.state.step, self.total_steps))
            stats = self.trainer.step(to_unit_range(batch_images(data, idx), self.device), labels)
            self.state.step += 1
            self.state.batch_in_epoch = b + 1
            self.state.elapsed = self._budget.elapsed()
            # Callbacks act on the last step (a final check, a save): they must hear of it before.
            self._last_step = self._stop_agreed()
            for callback in self._active:
                callback.on_step_end(self, stats, len(idx))
                if self._restored:  # the rest of this step's callbacks would see the old step
                    return
            if self._last_step or self._stop_agreed():  # a callback may have asked to stop
                self.stop_training = True
                return

    def _stop_agreed(self) -> bool:
        """Stop now? Agreed between processes: a minutes budget or a signal may not be seen by all of
        them at once, and one that carried on alone would wait in its next collective until the timeout."""
        return distributed.any_rank(self.stop_training or self._budget.reached(self.state), self.device)

    def _dispatch(self, hook: str) -> None:
        for callback in self._active:
            getattr(callback, hook)(self)
            if self._restored and hook != "on_restore":
                return  # the later callbacks would act on the state that was just abandoned

    # ----- what callbacks may ask (TrainingContext) --------------------------------------------------

    @property
    def generator(self) -> nn.Module:
        """The trained generator (not its EMA copy)."""
        return self.trainer.G

    @property
    def num_classes(self) -> int | None:
        """Classes of a conditional GAN, else None."""
        return self.trainer.num_classes

    @property
    def sigmoid_outputs(self) -> bool:
        """Whether D's outputs are logits of a probability under this loss."""
        return self.trainer.loss.sigmoid_outputs

    def budget_reached(self) -> bool:
        """Whether the step just done is the last of the current ``fit`` (budget used up or stop asked)."""
        return self._last_step

    def seconds_left(self) -> float | None:
        """Seconds until a ``minutes`` budget of the current ``fit`` runs out (None without one)."""
        return self._budget.seconds_left() if self._budget else None

    def restore(self, state: dict[str, Any]) -> None:
        """Go back to an earlier :meth:`state_dict` during ``fit``; callbacks hear of it through
        ``on_restore`` and training continues from the restored step."""
        self.load_state_dict(state)
        self._restored = True
        self._dispatch("on_restore")

    def weights_finite(self) -> bool:
        """True when no weight or float buffer of G, D or the EMA is NaN/Inf."""
        return self.trainer.weights_finite()

    def learning_rates(self) -> tuple[list[float], list[float]]:
        """G's and D's learning rates, one per parameter group (before a schedule's factor)."""
        return self.trainer.dials.learning_rates()

    def set_learning_rates(self, g: list[float], d: list[float]) -> None:
        """Set G's and D's learning rates, one per parameter group (a schedule scales them)."""
        self.trainer.dials.set_learning_rates(g, d)

    def generate(self, n: int, seed: int | None = None, label: int | None = None) -> torch.Tensor:
        """``n`` images as uint8 (n, C, H, W) on the CPU, from the EMA generator when there is one."""
        rng = torch.Generator().manual_seed(seed) if seed is not None else None
        labels = None if label is None else torch.full((n,), label, dtype=torch.long)
        return generate(self.trainer.sampler, torch.randn(n, self.latent_dim, generator=rng), labels)

    def grid_images(self) -> torch.Tensor:
        """The fixed-noise images drawn for the progress grids (uint8)."""
        return generate(self.trainer.sampler, self.fixed_noise)

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimisers, counters, RNG states and fixed noise: all a resume needs."""
        return {
            "state": self.state.__dict__.copy(),
            "trainer": self.trainer.state_dict(),
            "fixed_noise": self.fixed_noise,
            "rng": rng_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.trainer.load_state_dict(state["trainer"])
        self.state = TrainState(**state["state"])
        self.fixed_noise = state["fixed_noise"]
        set_rng_state(state["rng"])
        distributed.reseed(self.config.seed, self.state.step)
