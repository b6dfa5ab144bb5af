"""The one object for a GAN in Python: ``GAN(generator, discriminator).fit(data, ...)``, a trained run
back as ``GAN.from_run(path)``, and ``.generate(n)``.

A thin facade: the :class:`~ganforge.train.trainer.Trainer` performs the updates and the
:class:`~ganforge.train.loop.Loop` runs training; callbacks receive the loop's narrow
:class:`~ganforge.train.context.TrainingContext`. Nothing inside the package imports this module, so
the CLI's ``TrainingRun`` and a user's script build the same objects the same way (``train/build.py``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ganforge.checkpoint import checkpoint_config, find_checkpoint, load_checkpoint
from ganforge.config import OptimConfig, RunConfig, TrainConfig, validate, validate_train
from ganforge.data.images import ImageData, as_image_data
from ganforge.devices import resolve_device
from ganforge.errors import UserError
from ganforge.latent import seeded_noise, truncate
from ganforge.sampling import generate
from ganforge.train import distributed
from ganforge.train.build import build_loop
from ganforge.train.callbacks import Callback
from ganforge.train.context import TrainState
from ganforge.train.loop import Budget, Loop, check_batch_size
from ganforge.train.run import TrainingRun
from ganforge.train.trainer import Trainer

__all__ = ["GAN", "TrainState"]


class GAN:
    """A generator/discriminator pair with its optimisers, ready to ``fit`` and ``generate``.

    Args:
        generator: maps (N, latent_dim) noise to images in [-1, 1]; needs a ``latent_dim`` attribute
            unless ``latent_dim`` is given.
        discriminator: maps images to one output per image, (N, 1).
        loss: "bce"/"nonsaturating" (default), "minimax", "lsgan", "hinge", "wgan-gp" or "rpgan".
        g_lr, d_lr, betas: Adam settings of each network (default 2e-4, 2e-4, (0.5, 0.999)).
        latent_dim: size of the noise vector.
        config: a full :class:`TrainConfig` (scheme, labels, regularisers, EMA, seed ...), validated
            as the CLI's is; give either it or the keyword arguments above, not both.
        device: "auto", "cpu", "cuda", "mps", ...

    Networks passed as objects train and generate, but a run directory of theirs cannot be rebuilt by
    ``ganforge sample/export/serve``: for that, name a builder in a config and use :meth:`from_config`.

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
        loss: str | None = None,
        g_lr: float | None = None,
        d_lr: float | None = None,
        betas: tuple[float, float] | None = None,
        latent_dim: int | None = None,
        config: TrainConfig | None = None,
        device: str = "auto",
    ) -> None:
        config = _train_config(config, loss=loss, g_lr=g_lr, d_lr=d_lr, betas=betas)
        latent_dim = latent_dim or getattr(generator, "latent_dim", None)
        if not latent_dim:
            raise UserError("give latent_dim=... (the generator has no latent_dim attribute)")
        # Joins torchrun's process group if there is one (a no-op when a run already did).
        wanted = resolve_device(device if device != "auto" else config.device)
        _, device_ = distributed.setup(wanted)
        trainer = Trainer(generator, discriminator, config, latent_dim, device_)
        self._use(Loop(trainer, config, latent_dim, device_), None)
        distributed.reseed(config.seed, 0)

    def _use(self, loop: Loop, run_config: RunConfig | None) -> GAN:
        self.loop = loop
        self.config = loop.config
        self.run_config = run_config
        loop.run_config = run_config.to_dict() if run_config else None
        return self

    @classmethod
    def from_config(cls, cfg: RunConfig, device: str | None = None) -> GAN:
        """Networks, optimisers and settings of a full :class:`RunConfig` (a preset's, or your own with
        ``model.name`` a registered family or ``"module:callable"``), built as ``ganforge train`` does.

        Its checkpoints carry the config, so the CLI can sample, export and serve what it trains.
        """
        cfg = validate(cfg, require_budget=False)
        target = resolve_device(device or cfg.train.device)
        _, target = distributed.setup(target)
        gan = cls.__new__(cls)
        return gan._use(build_loop(cfg, target), cfg)

    @classmethod
    def trained_by(cls, run: TrainingRun) -> GAN:
        """The GAN a :class:`~ganforge.train.run.TrainingRun` trained (what ``train_preset`` returns)."""
        return cls.__new__(cls)._use(run.loop, run.cfg)

    @classmethod
    def load(cls, checkpoint: str | Path, device: str | None = None) -> GAN:
        """The GAN saved in a checkpoint file: networks, EMA, optimisers and counters, ready to generate
        or to ``fit`` further."""
        state = load_checkpoint(Path(checkpoint))
        gan = cls.from_config(RunConfig.from_dict(checkpoint_config(state)), device)
        gan.loop.load_state_dict(state)
        return gan

    @classmethod
    def from_run(cls, run_dir: str | Path, device: str | None = None) -> GAN:
        """The GAN of a run directory (its newest checkpoint), or of a checkpoint file."""
        return cls.load(find_checkpoint(Path(run_dir)), device)

    # ----- the facade: what the loop and trainer hold, under the names the tutorials use --------------

    @property
    def generator(self) -> nn.Module:
        """The trained generator (not its EMA copy)."""
        return self.loop.trainer.G

    @property
    def sampler(self) -> nn.Module:
        """The generator that draws pictures: the EMA copy when there is one."""
        return self.loop.trainer.sampler

    @property
    def discriminator(self) -> nn.Module:
        """The trained discriminator."""
        return self.loop.trainer.D

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
        data = as_image_data(data)
        batch_size = batch_size or self.config.batch_size
        check_batch_size(len(data), batch_size)
        budget = Budget(epochs, steps, minutes, time.monotonic(), self.loop.state.elapsed)
        return self.loop.run(data, budget, batch_size, callbacks)

    def generate(
        self, n: int, seed: int | None = None, label: int | None = None, truncation: float | None = None
    ) -> torch.Tensor:
        """``n`` images as uint8 (n, C, H, W) on the CPU, from the EMA generator when there is one.

        The same seed draws the same noise as ``ganforge sample --seed``, so a run loaded with
        :meth:`from_run` draws the very pictures the CLI does.

        Args:
            seed: noise seed (random when None).
            label: for a class-conditional GAN, draw only this class (default: every class in turn).
            truncation: pull the noise toward its mean, z * psi (psi in [0, 1]).
        """
        latent = self.loop.latent_dim
        noise = seeded_noise(seed, n, latent) if seed is not None else torch.randn(n, latent)
        labels = None if label is None else torch.full((n,), label, dtype=torch.long)
        return generate(self.sampler, truncate(noise, truncation), labels)

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


def _train_config(config: TrainConfig | None, **given: Any) -> TrainConfig:
    """``config``, or one made from the keyword arguments; both at once is a mistake, said plainly."""
    explicit = [name for name, value in given.items() if value is not None]
    if config is not None and explicit:
        raise UserError(
            f"give either config= or {', '.join(n + '=' for n in explicit)} not both "
            "(set them in the TrainConfig instead)"
        )
    if config is None:
        betas = given["betas"] or (0.5, 0.999)
        config = TrainConfig(
            loss=given["loss"] or "nonsaturating",
            g_optim=OptimConfig(lr=given["g_lr"] or 2e-4, beta1=betas[0], beta2=betas[1]),
            d_optim=OptimConfig(lr=given["d_lr"] or 2e-4, beta1=betas[0], beta2=betas[1]),
        )
    return validate_train(config)
