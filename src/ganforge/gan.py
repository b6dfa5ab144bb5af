"""The Keras-like Python API: ``GAN(generator, discriminator).fit(data, epochs=..., callbacks=[...])``.

A thin facade: the :class:`~ganforge.train.trainer.Trainer` performs the updates and the
:class:`~ganforge.train.loop.Loop` runs ``fit``; callbacks receive the loop's narrow
:class:`~ganforge.train.context.TrainingContext`. Nothing inside the package imports this module, so
the CLI's ``TrainingRun`` and a user's script build the same objects the same way.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ganforge.config import OptimConfig, TrainConfig
from ganforge.data.images import ImageData
from ganforge.errors import UserError
from ganforge.train import distributed
from ganforge.train.callbacks import Callback
from ganforge.train.context import TrainState
from ganforge.train.loop import Budget, Loop
from ganforge.train.trainer import Trainer

__all__ = ["GAN", "TrainState"]


class GAN:
    """A generator/discriminator pair with its optimisers, ready to ``fit`` and ``generate``.

    Args:
        generator: maps (N, latent_dim) noise to images in [-1, 1]; needs a ``latent_dim`` attribute
            unless ``latent_dim`` is given.
        discriminator: maps images to one output per image, (N, 1).
        loss: "bce"/"nonsaturating", "minimax", "lsgan", "hinge" or "wgan-gp".
        g_lr, d_lr, betas: Adam settings of each network (ignored when ``config`` is given).
        latent_dim: size of the noise vector.
        config: a full :class:`TrainConfig` (scheme, labels, regularisers, EMA, seed ...), validated
            here as the CLI's is; the keyword arguments above fill a default one otherwise.
        device: "auto", "cpu", "cuda", ...

    Example:
        >>> gan = GAN(MyGenerator(), MyDiscriminator(), loss="hinge")
        >>> gan.fit(images, epochs=5, batch_size=64, callbacks=[ImageGrid("grids/")])
        >>> pictures = gan.generate(16)  # uint8 (16, C, H, W)
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        *,
        loss: str = "nonsaturating",
        g_lr: float = 2e-4,
        d_lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        latent_dim: int | None = None,
        config: TrainConfig | None = None,
        device: str = "auto",
    ) -> None:
        if config is None:
            config = TrainConfig(
                loss=loss, g_optim=OptimConfig(g_lr, *betas), d_optim=OptimConfig(d_lr, *betas)
            )
        self.config = config
        latent_dim = latent_dim or getattr(generator, "latent_dim", None)
        if not latent_dim:
            raise UserError("give latent_dim=... (the generator has no latent_dim attribute)")
        self.latent_dim = latent_dim
        # Joins torchrun's process group if there is one (a no-op when the run already did).
        self.world, self.device = distributed.setup(
            distributed.resolve_device(device if device != "auto" else config.device)
        )
        self.trainer = Trainer(generator, discriminator, config, latent_dim, self.device)
        self.loop = Loop(self.trainer, config, latent_dim, self.device)
        distributed.reseed(config.seed, 0)

    # ----- the facade: what the loop and trainer hold, under the names the tutorials use --------------

    @property
    def generator(self) -> nn.Module:
        """The trained generator (not its EMA copy)."""
        return self.trainer.G

    @property
    def discriminator(self) -> nn.Module:
        """The trained discriminator."""
        return self.trainer.D

    @property
    def state(self) -> TrainState:
        """Where training is (step, epoch, batch in epoch, seconds)."""
        return self.loop.state

    @property
    def stop_training(self) -> bool:
        """Set to True (e.g. from a signal handler) to stop ``fit`` after the current step."""
        return self.loop.stop_training

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        self.loop.stop_training = value

    @property
    def fixed_noise(self) -> torch.Tensor:
        """The noise of the progress grids."""
        return self.loop.fixed_noise

    def fit(
        self,
        data: ImageData | torch.Tensor | np.ndarray,
        *,
        epochs: int | None = None,
        steps: int | None = None,
        minutes: float | None = None,
        batch_size: int | None = None,
        callbacks: Sequence[Callback] = (),
    ) -> TrainState:
        """Train until ``epochs`` (counted from the start), global ``steps``, or ``minutes`` of this call.

        Args:
            data: an :class:`ImageData`, or uint8 images (N, C, H, W) / (N, H, W) as a tensor or array.
            batch_size: defaults to the config's.
            callbacks: hooks called at the start, after each step, after each epoch and at the end; each
                receives the loop's :class:`~ganforge.train.context.TrainingContext`.

        Returns:
            The training state (step, epoch) reached.
        """
        if epochs is None and steps is None and minutes is None:
            raise UserError("fit needs a budget: epochs=, steps= or minutes=")
        budget = Budget(epochs, steps, minutes, time.monotonic(), self.loop.state.elapsed)
        return self.loop.fit(data, budget, batch_size or self.config.batch_size, callbacks)

    def generate(self, n: int, seed: int | None = None, label: int | None = None) -> torch.Tensor:
        """``n`` images as uint8 (n, C, H, W) on the CPU, from the EMA generator when there is one.

        Args:
            seed: noise seed (random when None).
            label: for a class-conditional GAN, draw only this class (default: every class in turn).
        """
        return self.loop.generate(n, seed, label)

    def grid_images(self) -> torch.Tensor:
        """The fixed-noise images drawn for the progress grids (uint8)."""
        return self.loop.grid_images()

    def weights_finite(self) -> bool:
        """True when no weight or float buffer of G, D or the EMA is NaN/Inf."""
        return self.loop.weights_finite()

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimisers, counters, RNG states and fixed noise: all a resume needs."""
        return self.loop.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.loop.load_state_dict(state)
