"""The Keras-like Python API: ``GAN(generator, discriminator).fit(data, epochs=..., callbacks=[...])``.

``GAN`` owns the training loop; everything around it (metrics logs, grids, checkpoints, plots, early
stopping) is a :class:`~ganforge.train.callbacks.Callback`. The CLI builds a GAN from a config and adds
the standard callbacks, so the Python API and ``ganforge train`` run the same code.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ganforge.config import OptimConfig, TrainConfig
from ganforge.data.images import ImageData, to_unit_range
from ganforge.data.order import EpochOrder
from ganforge.errors import UserError
from ganforge.sampling import generate
from ganforge.train import distributed
from ganforge.train.callbacks import Callback
from ganforge.train.trainer import Trainer


@dataclass
class TrainState:
    """Where training is: global step, completed epochs, batches done in the current epoch, seconds."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    elapsed: float = 0.0


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; anything else as torch understands it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown device '{name}'; use auto, cpu or cuda[:N]") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device '{name}' asked for, but this PyTorch sees no CUDA GPU; use --device cpu")
    return device


class GAN:
    """A generator/discriminator pair with its optimisers, ready to ``fit`` and ``generate``.

    Args:
        generator: maps (N, latent_dim) noise to images in [-1, 1]; needs a ``latent_dim`` attribute
            unless ``latent_dim`` is given.
        discriminator: maps images to one output per image, (N, 1).
        loss: "bce"/"nonsaturating", "minimax", "lsgan", "hinge" or "wgan-gp".
        g_lr, d_lr, betas: Adam settings of each network (ignored when ``config`` is given).
        latent_dim: size of the noise vector.
        config: a full :class:`TrainConfig` (scheme, labels, regularisers, EMA, seed ...); the keyword
            arguments above fill a default one otherwise.
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
        self.latent_dim = latent_dim or getattr(generator, "latent_dim", None)
        if not self.latent_dim:
            raise UserError("give latent_dim=... (the generator has no latent_dim attribute)")
        self.device = resolve_device(device if device != "auto" else config.device)
        self.world, self.device = distributed.setup(self.device)
        self.trainer = Trainer(generator, discriminator, config, self.latent_dim, self.device)
        self.state = TrainState()
        self.stop_training = False
        self.batches_per_epoch = 0
        self.total_steps: int | None = None
        self._budget: _Budget | None = None
        self._active: Sequence[Callback] = ()
        self._restored = False
        self._last_step = False
        self.train_data: ImageData | None = None  # what the current fit trains on (for callbacks)
        seeded = torch.Generator().manual_seed(config.seed + 1)
        self.fixed_noise = torch.randn(config.grid_size**2, self.latent_dim, generator=seeded)
        distributed.reseed(config.seed, 0)

    @property
    def generator(self) -> nn.Module:
        """The trained generator (not its EMA copy)."""
        return self.trainer.G

    @property
    def discriminator(self) -> nn.Module:
        """The trained discriminator."""
        return self.trainer.D

    # ----- training ----------------------------------------------------------------------------------

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
            callbacks: hooks called at the start, after each step, after each epoch and at the end.

        Returns:
            The training state (step, epoch) reached.
        """
        data = as_image_data(data)
        if self.trainer.num_classes is not None and data.labels is None:
            raise UserError("this GAN is class-conditional but the data has no labels")
        batch_size = batch_size or self.config.batch_size
        check_batch_size(len(data), batch_size)
        if epochs is None and steps is None and minutes is None:
            raise UserError("fit needs a budget: epochs=, steps= or minutes=")
        order = EpochOrder(len(data), batch_size, self.config.seed, distributed.rank(), distributed.size())
        self.batches_per_epoch = order.batches
        self.stop_training = self._last_step = False
        budget = _Budget(epochs, steps, minutes, time.monotonic(), self.state.elapsed)
        self.total_steps = budget.total_steps(self.batches_per_epoch)
        self._budget = budget
        self._active = callbacks
        self.train_data = data
        self._callbacks("on_train_begin", callbacks)
        while not self._stop_agreed(budget):
            self._run_epoch(data, order, budget, callbacks)
            # After a restore (divergence recovery) the state is an earlier one: no epoch ended.
            if not self._restored and self.state.batch_in_epoch >= self.batches_per_epoch:
                self.state.epoch += 1
                self.state.batch_in_epoch = 0
                self.state.elapsed = budget.elapsed()
                self._callbacks("on_epoch_end", callbacks)
            self._restored = False
        self.state.elapsed = budget.elapsed()
        self._callbacks("on_train_end", callbacks)
        return self.state

    def _run_epoch(
        self, data: ImageData, order: EpochOrder, budget: _Budget, callbacks: Sequence[Callback]
    ) -> None:
        batches = order.batches_of(self.state.epoch)
        for b in range(self.state.batch_in_epoch, self.batches_per_epoch):
            idx = batches[b]
            labels = None if self.trainer.num_classes is None else data.labels[idx].to(self.device)
            stats = self.trainer.step(to_unit_range(data.images[idx], self.device), labels)
            self.state.step += 1
            self.state.batch_in_epoch = b + 1
            self.state.elapsed = budget.elapsed()
            # Callbacks act on the last step (a final check, a save): they must hear of it before.
            self._last_step = self._stop_agreed(budget)
            for callback in callbacks:
                callback.on_step_end(self, stats, len(idx))
                if self._restored:  # the rest of this step's callbacks would see the old step
                    return
            if self._last_step or self._stop_agreed(budget):  # a callback may have asked to stop
                self.stop_training = True
                return

    def _stop_agreed(self, budget: _Budget) -> bool:
        """Stop now? Agreed between processes: a minutes budget or a signal may not be seen by all of
        them at once, and one that carried on alone would wait in its next collective until the timeout."""
        return distributed.any_rank(self.stop_training or budget.reached(self.state), self.device)

    def budget_reached(self) -> bool:
        """Whether the step just done is the last of the current ``fit`` (budget used up or stop asked)."""
        return self._last_step

    def restore(self, state: dict[str, Any]) -> None:
        """Go back to an earlier :meth:`state_dict` during ``fit`` (used by divergence recovery).

        Training continues from the restored step; callbacks hear of it through ``on_restore``.
        """
        self.load_state_dict(state)
        self._restored = True
        self._callbacks("on_restore", self._active)

    def weights_finite(self) -> bool:
        """True when no weight or float buffer of G, D or the EMA is NaN/Inf."""
        return self.trainer.weights_finite()

    def seconds_left(self) -> float | None:
        """Seconds until a ``minutes`` budget of the current ``fit`` runs out (None without one)."""
        return self._budget.seconds_left() if self._budget else None

    def _callbacks(self, hook: str, callbacks: Sequence[Callback]) -> None:
        for callback in callbacks:
            getattr(callback, hook)(self)
            if self._restored and hook != "on_restore":
                return  # the later callbacks would act on the state that was just abandoned

    # ----- using it ----------------------------------------------------------------------------------

    def generate(self, n: int, seed: int | None = None, label: int | None = None) -> torch.Tensor:
        """``n`` images as uint8 (n, C, H, W) on the CPU, from the EMA generator when there is one.

        Args:
            seed: noise seed (random when None).
            label: for a class-conditional GAN, draw only this class (default: every class in turn).
        """
        rng = torch.Generator().manual_seed(seed) if seed is not None else None
        labels = None if label is None else torch.full((n,), label, dtype=torch.long)
        return generate(self.trainer.sampler, torch.randn(n, self.latent_dim, generator=rng), labels)

    def grid_images(self) -> torch.Tensor:
        """The fixed-noise images drawn after every epoch (uint8)."""
        return generate(self.trainer.sampler, self.fixed_noise)

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimisers, counters, RNG states and fixed noise: all a resume needs."""
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
        return {
            "state": self.state.__dict__.copy(),
            "trainer": self.trainer.state_dict(),
            "fixed_noise": self.fixed_noise,
            "rng": {"torch": torch.get_rng_state(), "cuda": cuda},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.trainer.load_state_dict(state["trainer"])
        self.state = TrainState(**state["state"])
        self.fixed_noise = state["fixed_noise"]
        torch.set_rng_state(state["rng"]["torch"])
        if torch.cuda.is_available() and state["rng"].get("cuda"):
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        distributed.reseed(self.config.seed, self.state.step)


@dataclass
class _Budget:
    epochs: int | None
    steps: int | None
    minutes: float | None
    started: float
    elapsed_before: float

    def elapsed(self) -> float:
        return self.elapsed_before + time.monotonic() - self.started

    def seconds_left(self) -> float | None:
        return None if self.minutes is None else self.minutes * 60 - (time.monotonic() - self.started)

    def reached(self, state: TrainState) -> bool:
        if self.steps is not None and state.step >= self.steps:
            return True
        if self.epochs is not None and state.epoch >= self.epochs:
            return True
        return self.minutes is not None and time.monotonic() - self.started >= self.minutes * 60

    def total_steps(self, batches_per_epoch: int) -> int | None:
        by_epochs = self.epochs * batches_per_epoch if self.epochs else None
        limits = [s for s in (self.steps, by_epochs) if s]
        return min(limits) if limits else None


def check_batch_size(n_images: int, batch_size: int) -> None:
    """A clear error when the data cannot fill a single batch."""
    if n_images < batch_size:
        raise UserError(
            f"the data has {n_images} images, fewer than one batch of {batch_size}; "
            "use a smaller --batch-size"
        )


def as_image_data(data: ImageData | torch.Tensor | np.ndarray) -> ImageData:
    """Accept an :class:`ImageData` or uint8 images shaped (N, C, H, W) or (N, H, W)."""
    if isinstance(data, ImageData):
        return data
    tensor = torch.as_tensor(data)
    if tensor.dtype != torch.uint8:
        raise UserError(f"images must be uint8 in [0, 255], got {tensor.dtype}")
    if tensor.ndim == 3:
        tensor = tensor[:, None]
    if tensor.ndim != 4:
        raise UserError(f"images must be shaped (N, C, H, W) or (N, H, W), got {tuple(tensor.shape)}")
    return ImageData(tensor, None, "tensor")
