"""What a callback sees of training: the state, and a few narrow, typed things it may ask for.

Callbacks receive a :class:`TrainingContext` (the loop implements it), never the loop's or the
trainer's internals, and never the :class:`~ganforge.gan.GAN` facade; so nothing under ``train/``
imports ``gan.py`` back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import torch
from torch import nn

if TYPE_CHECKING:
    from ganforge.config import TrainConfig
    from ganforge.data.images import ImageData


@dataclass
class TrainState:
    """Where training is: global step, completed epochs, batches done in the current epoch, seconds."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    elapsed: float = 0.0


class TrainingContext(Protocol):
    """The view of a running ``fit`` that every callback hook receives.

    Attributes:
        state: where training is (read it; the loop advances it).
        stop_training: set it to True to stop after the current step.
        config: the training configuration (read only).
        device: where the networks live.
        generator: the trained generator (not its EMA copy), e.g. to save or inspect weights.
        num_classes: classes of a conditional GAN, else None.
        sigmoid_outputs: whether D's raw outputs are logits of a probability (for "D wins" checks).
        train_data: the images of the current ``fit``.
        batches_per_epoch: batches in one epoch of ``train_data`` at this batch size (per process).
        total_steps: the global step the budget ends at, when it is set in steps or epochs.
        run_config: the whole run's config as a dict, when its networks can be rebuilt from it (a run
            of ``ganforge train`` or ``GAN.from_config``); None for networks passed as objects.
    """

    state: TrainState
    stop_training: bool
    config: TrainConfig
    device: torch.device
    num_classes: int | None
    sigmoid_outputs: bool
    train_data: ImageData | None
    batches_per_epoch: int
    total_steps: int | None
    run_config: dict[str, Any] | None

    @property
    def generator(self) -> nn.Module:
        """The trained generator (not its EMA copy)."""
        ...

    def generate(self, n: int, seed: int | None = None, label: int | None = None) -> torch.Tensor:
        """``n`` uint8 images (n, C, H, W) on the CPU from the EMA generator when there is one."""
        ...

    def grid_images(self) -> torch.Tensor:
        """The fixed-noise images of the progress grids (uint8)."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Everything a resume needs (networks, optimisers, counters, RNG states, fixed noise)."""
        ...

    def restore(self, state: dict[str, Any]) -> None:
        """Go back to an earlier :meth:`state_dict`; training continues from its step."""
        ...

    def weights_finite(self) -> bool:
        """No NaN/Inf in any weight (agreed between processes: every process must call it)."""
        ...

    def budget_reached(self) -> bool:
        """Whether the step just done is the last of this ``fit``."""
        ...

    def seconds_left(self) -> float | None:
        """Seconds left of a ``minutes`` budget (None without one)."""
        ...

    def learning_rates(self) -> tuple[list[float], list[float]]:
        """The current learning rates of G's and D's parameter groups."""
        ...

    def set_learning_rates(self, g: list[float], d: list[float]) -> None:
        """Set G's and D's learning rates, one per parameter group (divergence recovery lowers them)."""
        ...
