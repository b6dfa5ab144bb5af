"""GAN steps: owns both networks, their optimisers, the EMA and the noise stream; draws every random
number of a step, runs the update function (``train/updates.py``) and steps the optimisers."""

from __future__ import annotations

import torch
from torch import nn

from ganforge.augment import Augment
from ganforge.checkpoint import load_weights
from ganforge.config import TrainConfig, validate_train
from ganforge.errors import UserError
from ganforge.losses import LOSSES
from ganforge.train import distributed
from ganforge.train.draws import Draws
from ganforge.train.ema import EMA
from ganforge.train.graphs import StepGraphs, UpdateFn
from ganforge.train.optim import make_adam, trainable
from ganforge.train.precision import autocast, has_convolutions, resolve_precision
from ganforge.train.updates import Updates

Stats = dict[str, torch.Tensor]


class Trainer:
    """Holds G, D (and G's EMA) with their optimisers and performs training steps.

    ``step(real)`` applies the configured scheme. Losses come back as detached tensors on the device;
    reading them forces a host-device sync, so callers accumulate them and read them only now and then.
    On one GPU each update runs as a replayed CUDA graph (``cfg.cuda_graphs``, see ``train/graphs.py``).
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        cfg: TrainConfig,
        latent_dim: int,
        device: torch.device,
    ) -> None:
        validate_train(cfg)  # a config from the Python API passes the checks the CLI's does
        self.cfg = cfg
        self.loss = LOSSES[cfg.loss]
        self.amp_dtype = resolve_precision(cfg.precision, device)
        self.channels_last = cfg.channels_last and has_convolutions(discriminator)
        self.G = _placed(generator, device, cfg.channels_last)
        self.D = _placed(discriminator, device, cfg.channels_last)
        # The DDP-wrapped networks carry the forward passes whose gradients are all-reduced; G and D stay
        # the bare modules (state dicts without "module.", sampling without collectives on rank 0 alone).
        g_ddp, d_ddp = (
            distributed.wrap(self.G, device, cfg.sync_bn),
            distributed.wrap(self.D, device, cfg.sync_bn),
        )
        fused = device.type == "cuda"
        self.opt_g = make_adam(trainable(self.G), cfg.g_optim, fused)
        self.opt_d = make_adam(trainable(self.D), cfg.d_optim, fused)
        # DiffAugment on every image D sees; its random numbers come from the trainer's noise stream.
        self.augment = Augment(cfg.augment)
        self.ema = EMA(self.G, cfg.ema_decay) if cfg.ema_decay else None
        gp_weight = cfg.gp_weight if cfg.gp_weight is not None else (10.0 if cfg.loss == "wgan-gp" else 0.0)
        r1 = (cfg.r1_gamma, cfg.r1_every)
        self.updates = Updates(self.G, self.D, self.loss, self.augment, gp_weight, r1, self._r1_due)
        self.updates.g_ddp, self.updates.d_ddp = g_ddp, d_ddp
        # DDP's gradient hooks fire in backward, outside anything a graph could replay: graphs are for
        # one process on one GPU.
        use_graphs = cfg.cuda_graphs and device.type == "cuda" and not distributed.active()
        self.graphs = StepGraphs([self.G, self.D]) if use_graphs else None
        self.device = device
        # Conditional networks take a label batch as their second argument.
        self.num_classes: int | None = getattr(generator, "num_classes", None)
        self.draws = Draws(cfg, latent_dim, self.num_classes, self.augment, device)
        self.draws.seed(distributed.rank())
        self.noise = self.draws.generator  # the stream's state, saved in every checkpoint
        self.d_updates = 0

    @property
    def sampler(self) -> nn.Module:
        """The generator to draw pictures with: the EMA copy when there is one."""
        return self.ema.shadow if self.ema else self.G

    def step(self, real: torch.Tensor, labels: torch.Tensor | None = None) -> Stats:
        """One step on real images in [-1, 1] (and their labels, if conditional), following ``cfg.scheme``."""
        if (labels is None) != (self.num_classes is None):
            raise UserError("a conditional GAN needs labels with every batch, an unconditional one none")
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        # Autocast's cast cache would let a graph capture reuse casts made during its warm-up.
        with autocast(self.device, self.amp_dtype, cache=self.graphs is None):
            if self.cfg.scheme == "simultaneous":
                return self.simultaneous_step(real, labels)
            stats = self.d_step(real, labels)
            if self.d_updates % self.cfg.d_steps == 0:
                stats |= self.g_step(real.shape[0])
        return stats

    # ----- the updates -----------------------------------------------------------------------------
    # Each update draws its random numbers (``Draws``), then runs a pure function of tensors (``Updates``)
    # that returns losses, outputs and gradients: the part a CUDA graph captures. The optimiser steps after.

    def d_step(self, real: torch.Tensor, labels: torch.Tensor | None = None) -> Stats:
        """Update D on ``real`` and as many fresh fakes (half of each with ``d_half_batch``)."""
        self.G.train(), self.D.train()
        if self.cfg.d_half_batch:
            real = real[: max(real.shape[0] // 2, 1)]
            labels = None if labels is None else labels[: real.shape[0]]
        n = real.shape[0]
        fakes = {"fake_labels": self.draws.labels(n), "z": self.draws.noise(n), "aug_fake": self.draws.aug(n)}
        real_t, fake_t = self.draws.targets(n, "real"), self.draws.targets(n, "fake")
        aug_real = self.draws.aug(n)
        self.d_updates += 1
        # A step with the R1 penalty is another computation: it gets a graph of its own.
        suffix = "_r1" if self._r1_due() else ""
        if self.cfg.d_separate_batches:
            # Two optimiser steps, as Keras' train_on_batch(real) then train_on_batch(fake).
            real_in = {"real": real, "labels": labels, "real_t": real_t, "aug_real": aug_real}
            real_out = self._update("d_real" + suffix, self.updates.d_real, **real_in)
            fake_out = self._update("d_fake", self.updates.d_fake, **fakes, fake_t=fake_t)
            d_loss = real_out["d_loss"] + fake_out["d_loss"]
            return self._d_stats(real_out["real_out"], fake_out["fake_out"], d_loss)
        alpha = self.draws.alpha(real) if self.updates.gp_weight else None
        inputs = {"real": real, "labels": labels, "aug_real": aug_real, **fakes, "real_t": real_t}
        inputs |= {"fake_t": fake_t, "alpha": alpha}
        out = self._update("d" + suffix, self.updates.d_joint, **inputs)
        return self._d_stats(out["real_out"], out["fake_out"], out["d_loss"])

    def g_step(self, n: int) -> Stats:
        """Update G so that D takes ``n`` fresh fakes for real; D's weights are left alone."""
        self.G.train(), self.D.train()
        labels = self.draws.labels(n)
        z = self.draws.noise(n)
        real_t, aug = self.draws.targets(n, "real"), self.draws.aug(n)
        out = self._update("g", self.updates.g_update, z=z, labels=labels, real_t=real_t, aug_fake=aug)
        return {"g_loss": out["g_loss"]}

    def simultaneous_step(self, real: torch.Tensor, labels: torch.Tensor | None = None) -> Stats:
        """The TF2 tutorial's step: one forward pass, both gradients from it, both optimisers step."""
        self.G.train(), self.D.train()
        n = real.shape[0]
        fake_labels = self.draws.labels(n)
        inputs = {"real": real, "labels": labels, "z": self.draws.noise(n), "fake_labels": fake_labels}
        real_t, fake_t = self.draws.targets(n, "real"), self.draws.targets(n, "fake")
        inputs |= {"aug_real": self.draws.aug(n), "aug_fake": self.draws.aug(n)}
        out = self._update("simultaneous", self.updates.simultaneous, **inputs, real_t=real_t, fake_t=fake_t)
        self.d_updates += 1
        return self._d_stats(out["real_out"], out["fake_out"], out["d_loss"]) | {"g_loss": out["g_loss"]}

    def _update(self, name: str, fn: UpdateFn, **inputs: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """Run ``fn`` (through its CUDA graph when graphs are on), then step the optimisers it has gradients
        for: D's first, as the tutorials do."""
        out, grads = self.graphs.run(name, fn, inputs) if self.graphs else fn(**inputs)
        for key, net, opt in (("d", self.D, self.opt_d), ("g", self.G, self.opt_g)):
            if key in grads:
                for param, grad in zip(trainable(net), grads[key], strict=True):
                    param.grad = grad
                opt.step()
        if "g" in grads and self.ema:
            self.ema.update(self.G)
        return out

    def _r1_due(self) -> bool:
        """Whether this D update carries the lazy R1 penalty (every ``r1_every`` updates)."""
        return self.cfg.r1_gamma > 0 and self.d_updates % self.cfg.r1_every == 0

    def _d_stats(self, real_out: torch.Tensor, fake_out: torch.Tensor, d_loss: torch.Tensor) -> Stats:
        squash = torch.sigmoid if self.loss.sigmoid_outputs else (lambda x: x)
        return {
            "d_loss": d_loss,
            "d_real": squash(real_out.float()).mean(),
            "d_fake": squash(fake_out.float()).mean(),
        }

    def release_distributed(self) -> None:
        """Drop the DDP wrappers (before the process group is destroyed).

        DDP's reducer holds the process group: left to the interpreter's shutdown, the group's gloo
        threads could outlive it and abort the process ("terminate called without an active
        exception") after a run that finished.
        """
        self.updates.g_ddp, self.updates.d_ddp = self.G, self.D

    def weights_finite(self) -> bool:
        """True when every weight and float buffer of G, D (and the EMA) is finite; one host sync."""
        finite = _all_finite([self.G, self.D] + ([self.ema.shadow] if self.ema else []))
        # Every process must take the same branch (recover or go on), or the next collective hangs.
        return not distributed.any_rank(not finite, self.device)

    def state_dict(self) -> dict:
        """Everything the trainer owns that a resume needs."""
        state = {
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "noise_rng": self.noise.get_state(),
            "d_updates": self.d_updates,
        }
        if self.ema:
            state["G_ema"] = self.ema.shadow.state_dict()
            state["ema_updates"] = self.ema.updates
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned.

        Raises:
            UserError: the saved networks do not fit these (another architecture or preset).
        """
        load_weights(self.G, state["G"], "generator")
        load_weights(self.D, state["D"], "discriminator")
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.d_updates = state.get("d_updates", 0)
        self.noise.set_state(state["noise_rng"])
        if distributed.rank():
            # The checkpoint holds rank 0's noise stream; the others continue on streams of their own,
            # whatever the number of processes that saved it.
            self.draws.seed(distributed.rank(), offset=self.d_updates)
        if self.ema:
            load_weights(self.ema.shadow, state["G_ema"], "EMA generator")
            # Checkpoints from before the decay ramp: the D update count is as good a count as any.
            self.ema.updates = state.get("ema_updates", self.d_updates)


def _placed(net: nn.Module, device: torch.device, channels_last: bool) -> nn.Module:
    net = net.to(device)
    return net.to(memory_format=torch.channels_last) if channels_last and has_convolutions(net) else net


def _all_finite(modules: list[nn.Module]) -> bool:
    """No NaN/Inf in any weight or float buffer of ``modules``; one host sync for all of them."""
    sums = [
        t.detach().float().sum()
        for m in modules
        for t in (*m.parameters(), *m.buffers())
        if t.is_floating_point() and t.numel()
    ]
    return bool(torch.isfinite(torch.stack(sums)).all()) if sums else True
