"""GAN steps: owns both networks, their optimisers, the EMA and the noise stream; draws every random
number of a step, runs the update function (``train/updates.py``) and steps the optimisers."""

from __future__ import annotations

import torch
from torch import nn

from ganforge.augment import Augment
from ganforge.checkpoint import load_weights
from ganforge.config import TrainConfig
from ganforge.errors import UserError
from ganforge.losses import LOSSES
from ganforge.train import distributed
from ganforge.train.adaptive import AugmentStrength
from ganforge.train.draws import Draws
from ganforge.train.ema import EMA
from ganforge.train.graphs import StepGraphs, UpdateFn, graphs_allowed
from ganforge.train.handoff import FakeHandoff
from ganforge.train.optim import make_adam, trainable
from ganforge.train.precision import autocast, has_convolutions, resolve_precision
from ganforge.train.schedule import Dials
from ganforge.train.updates import Updates

Stats = dict[str, torch.Tensor]


class Trainer:
    """Holds G, D (and G's EMA) with their optimisers and performs training steps on a config that has
    passed :func:`~ganforge.config.validate_train` (``GAN`` and ``TrainingRun`` see to it).

    ``step(real)`` applies the configured scheme. Losses come back as detached device tensors (reading
    one syncs the host, so callers read them now and then). One GPU: each update is a replayed CUDA graph.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        cfg: TrainConfig,
        latent_dim: int,
        device: torch.device,
    ) -> None:
        self.cfg = cfg
        self.loss = LOSSES[cfg.loss]
        self.amp_dtype = resolve_precision(cfg.precision, device)
        self.channels_last = cfg.channels_last and has_convolutions(discriminator)
        self.G, self.D, wrapped = _placed(generator, discriminator, cfg, device)
        fused = device.type == "cuda"
        self.opt_g = make_adam(trainable(self.G), cfg.g_optim, fused)
        self.opt_d = make_adam(trainable(self.D), cfg.d_optim, fused)
        # DiffAugment on every image D sees; its random numbers come from the trainer's noise stream.
        self.augment = Augment(cfg.augment, gated=cfg.augment_p != 1.0)
        self.strength = AugmentStrength(cfg, self.loss.relativistic, device) if self.augment.gated else None
        self.ema = EMA(self.G, cfg.ema_decay, cfg.ema_norm_samples) if cfg.ema_decay else None
        penalty_weights = torch.zeros(2, device=device)  # set by the dials before the first D update
        self.updates = Updates(self.G, self.D, self.loss, self.augment, cfg, penalty_weights, self._r1_due)
        self.updates.g_ddp, self.updates.d_ddp = wrapped
        self.updates.augment_p = self.strength.p if self.strength else None
        self.dials = Dials(cfg, (self.opt_g, self.opt_d), self.updates.penalty_weights, self.ema)
        self.handoff = FakeHandoff(self.updates, cfg, device)
        self.graphs = _step_graphs(cfg, device, [self.G, self.D], reused_fakes=self.handoff.on)
        self.device = device
        self.num_classes: int | None = getattr(generator, "num_classes", None)
        self.draws = Draws(cfg, latent_dim, self.num_classes, self.augment, device)
        self.draws.seed(distributed.rank())
        self.noise = self.draws.generator  # the stream's state, saved in every checkpoint
        self.d_updates = 0

    @property
    def sampler(self) -> nn.Module:
        """The generator that draws pictures: the EMA copy (BatchNorm measured for it) when there is one."""
        return self.ema.sampler() if self.ema else self.G

    def step(self, real: torch.Tensor, labels: torch.Tensor | None = None) -> Stats:
        """One step on real images in [-1, 1] (and their labels, if conditional), following ``cfg.scheme``."""
        if (labels is None) != (self.num_classes is None):
            raise UserError("a conditional GAN needs labels with every batch, an unconditional one none")
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        # Autocast's cast cache would let a graph capture reuse casts made during its warm-up.
        with autocast(self.device, self.amp_dtype, cache=self.graphs is None):
            if self.cfg.scheme == "simultaneous":
                stats = self.simultaneous_step(real, labels)
            else:
                stats = self.d_step(real, labels)
                if self.d_updates % self.cfg.d_steps == 0:
                    stats |= self.g_step(real.shape[0], real, labels)
        if self.strength:
            stats["augment_p"] = self.strength.p.clone()
        return stats

    # ----- the updates: random numbers from ``Draws``, then a pure function of tensors (``Updates``: what
    # a CUDA graph captures) returning losses, outputs and gradients; the optimisers step after. -------

    def d_step(self, real: torch.Tensor, labels: torch.Tensor | None = None) -> Stats:
        """Update D on ``real`` and as many fresh fakes (half of each with ``d_half_batch``)."""
        self.G.train(), self.D.train()
        if self.dials.penalty_base is None:
            self.dials.set_penalties(real.shape[-1], real.shape[0] * distributed.size())
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
            return self._judged(
                real_out["real_out"], fake_out["fake_out"], real_out["d_loss"] + fake_out["d_loss"]
            )
        fakes = self.handoff.give(fakes, self.d_updates)
        alpha = self.draws.alpha(real) if self.updates.gp_weight else None
        inputs = {"real": real, "labels": labels, "aug_real": aug_real, **fakes, "real_t": real_t}
        inputs |= {"fake_t": fake_t, "alpha": alpha}
        out = self._update("d" + suffix, self.updates.d_joint, **inputs)
        return self._judged(out["real_out"], out["fake_out"], out["d_loss"])

    def g_step(
        self, n: int, real: torch.Tensor | None = None, real_labels: torch.Tensor | None = None
    ) -> Stats:
        """Update G so that D takes ``n`` fresh fakes (or the D update's, ``reuse_fakes``) for real; D's
        weights are left alone. A relativistic loss or a joint batch scores the fakes beside ``real``."""
        self.G.train(), self.D.train()
        inputs = self.handoff.take()
        if inputs is None:
            labels, z = self.draws.labels(n), self.draws.noise(n)
            inputs = {"z": z, "labels": labels}
        real_t, aug = self.draws.targets(n, "real"), self.draws.aug(n)
        inputs |= {"real_t": real_t, "aug_fake": aug}
        if self.loss.relativistic or self.cfg.d_joint_batch:
            inputs |= {"real": real[:n], "real_labels": real_labels, "aug_real": self.draws.aug(n)}
        out = self._update("g", self.updates.g_update, **inputs)
        return {"g_loss": out["g_loss"]}

    def simultaneous_step(self, real: torch.Tensor, labels: torch.Tensor | None = None) -> Stats:
        """The TF2 tutorial's step: one forward pass, both gradients from it, both optimisers step."""
        self.G.train(), self.D.train()
        n = real.shape[0]
        fake_labels = self.draws.labels(n)
        inputs = {"real": real, "labels": labels, "z": self.draws.noise(n), "fake_labels": fake_labels}
        real_t, fake_t = self.draws.targets(n, "real"), self.draws.targets(n, "fake")
        inputs |= {"aug_real": self.draws.aug(n), "aug_fake": self.draws.aug(n)}
        self.d_updates += 1  # before the update, as in d_step: _r1_due reads the count of this one
        out = self._update("simultaneous", self.updates.simultaneous, **inputs, real_t=real_t, fake_t=fake_t)
        return self._judged(out["real_out"], out["fake_out"], out["d_loss"]) | {"g_loss": out["g_loss"]}

    def _judged(self, real_out: torch.Tensor, fake_out: torch.Tensor, d_loss: torch.Tensor) -> Stats:
        """D's statistics of an update (adaptive augmentation takes note of its outputs)."""
        if self.strength:
            self.strength.observe(real_out, fake_out)
        return _d_stats(self.loss.sigmoid_outputs, real_out, fake_out, d_loss)

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
        """Whether this D update (the ``d_updates``-th) carries the lazy R1/R2 penalties: the 1st, then every
        ``r1_every``-th after it, as StyleGAN2 counts, so even a run of one update is penalised."""
        return any(self.updates.penalties) and (self.d_updates - 1) % self.cfg.r1_every == 0

    def release_distributed(self) -> None:
        """Drop the DDP wrappers before the process group goes: left to the interpreter's shutdown, their
        reducer's gloo threads could outlive the group and abort a run that finished."""
        self.updates.g_ddp, self.updates.d_ddp = self.G, self.D

    def weights_finite(self) -> bool:
        """True when every weight and float buffer of G, D (and the EMA) is finite; one host sync, agreed
        by every process (all must recover or go on together, or the next collective hangs)."""
        finite = _all_finite([self.G, self.D] + ([self.ema.shadow] if self.ema else []))
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
            state |= self.ema.state_dict()
        if self.strength:
            state["augment_strength"] = self.strength.state_dict()
        return state | self.dials.state_dict()

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
            self.ema.load_state_dict(state, self.d_updates)
        if self.strength and "augment_strength" in state:
            self.strength.load_state_dict(state["augment_strength"])
        self.dials.load_state_dict(state)


def _placed(
    generator: nn.Module, discriminator: nn.Module, cfg: TrainConfig, device: torch.device
) -> tuple[nn.Module, nn.Module, tuple[nn.Module, nn.Module]]:
    """G and D on ``device`` (channels-last conv nets), and their DDP wrappers (themselves in one process).

    The wrappers carry the forward passes whose gradients are all-reduced; G and D stay the bare
    modules (state dicts without "module.", sampling without collectives on rank 0 alone).
    """
    nets = []
    for net in (generator, discriminator):
        net = net.to(device)
        if cfg.channels_last and has_convolutions(net):
            net = net.to(memory_format=torch.channels_last)
        nets.append(net)
    wrapped = tuple(distributed.wrap(net, device, cfg.sync_bn) for net in nets)
    return nets[0], nets[1], wrapped


def _step_graphs(
    cfg: TrainConfig, device: torch.device, nets: list[nn.Module], reused_fakes: bool
) -> StepGraphs | None:
    """CUDA graphs where they are allowed and G takes fresh fakes: reused fakes carry G's autograd
    graph from one update into the next, which no capture holds."""
    return StepGraphs(nets) if graphs_allowed(cfg, device) and not reused_fakes else None


def _d_stats(sigmoid: bool, real_out: torch.Tensor, fake_out: torch.Tensor, d_loss: torch.Tensor) -> Stats:
    """D's loss and mean outputs (as probabilities when the loss's outputs are logits)."""
    squash = torch.sigmoid if sigmoid else (lambda x: x)
    return {
        "d_loss": d_loss,
        "d_real": squash(real_out.float()).mean(),
        "d_fake": squash(fake_out.float()).mean(),
    }


def _all_finite(modules: list[nn.Module]) -> bool:
    """No NaN/Inf in any weight or float buffer of ``modules``; one host sync for all of them."""
    sums = [
        t.detach().float().sum()
        for m in modules
        for t in (*m.parameters(), *m.buffers())
        if t.is_floating_point() and t.numel()
    ]
    return bool(torch.isfinite(torch.stack(sums)).all()) if sums else True
