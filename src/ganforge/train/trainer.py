"""GAN updates: owns both networks, their optimisers, the loss, the regularisers and the noise generator."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ganforge.augment import Augment
from ganforge.checkpoint import load_weights
from ganforge.config import OptimConfig, TrainConfig
from ganforge.errors import UserError
from ganforge.losses import LOSSES, gradient_penalty, r1_penalty
from ganforge.train import distributed
from ganforge.train.ema import EMA
from ganforge.train.graphs import Outputs, StepGraphs, UpdateFn
from ganforge.train.precision import autocast, has_convolutions, resolve_precision

Stats = dict[str, torch.Tensor]
Tensor = torch.Tensor
MaybeTensor = torch.Tensor | None


class KerasAdam(torch.optim.Adam):
    """Adam with epsilon added after the bias correction, as Keras and TF do.

    PyTorch divides by sqrt(v_hat) + eps; Keras by sqrt(v) + eps, i.e. by sqrt(v_hat) + eps / sqrt(1 - b2^t)
    once its step size is rescaled. Setting each step's eps to that value reproduces Keras exactly
    (measured: benchmarks/tf_reference/equivalence.py).
    """

    def __init__(self, params: list[nn.Parameter], **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        for group in self.param_groups:
            group["keras_eps"] = group["eps"]
        # The step count, kept on the host: fused Adam keeps its own on the GPU, and reading that every
        # step would make the host wait for the GPU.
        self._steps: int | None = None

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        if self._steps is None:
            state = self.state.get(self.param_groups[0]["params"][0], {})
            self._steps = int(state.get("step", 0))
        self._steps += 1
        for group in self.param_groups:
            group["eps"] = group["keras_eps"] / math.sqrt(1 - group["betas"][1] ** self._steps)
        return super().step(closure)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._steps = None


def make_adam(params: list[nn.Parameter], cfg: OptimConfig, fused: bool = False) -> torch.optim.Adam:
    """Adam with the config's learning rate, betas and epsilon (Keras' epsilon placement if asked).

    ``fused`` (CUDA): one kernel per step instead of a dozen, which matters when the host issuing kernels
    is what limits a small model.
    """
    kind = KerasAdam if cfg.keras_epsilon else torch.optim.Adam
    return kind(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps, fused=fused or None)


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
        if cfg.loss not in LOSSES:
            raise UserError(f"unknown loss '{cfg.loss}'; choose one of: {', '.join(LOSSES)}")
        self.cfg = cfg
        self.loss = LOSSES[cfg.loss]
        if not self.loss.uses_targets and (
            cfg.real_label_low,
            cfg.real_label_high,
            cfg.fake_label_low,
            cfg.fake_label_high,
        ) != (1.0, 1.0, 0.0, 0.0):
            raise UserError(f"label smoothing / noisy labels do not apply to the {cfg.loss} loss")
        self.gp_weight = (
            cfg.gp_weight if cfg.gp_weight is not None else (10.0 if cfg.loss == "wgan-gp" else 0.0)
        )
        self.amp_dtype = resolve_precision(cfg.precision, device)
        self.channels_last = cfg.channels_last and has_convolutions(discriminator)
        self.G = _placed(generator, device, cfg.channels_last)
        self.D = _placed(discriminator, device, cfg.channels_last)
        # The DDP-wrapped networks carry the forward passes whose gradients are all-reduced; G and D stay
        # the bare modules (state dicts without "module.", sampling without collectives on rank 0 alone).
        self.g_ddp = distributed.wrap(self.G, device, cfg.sync_bn)
        self.d_ddp = distributed.wrap(self.D, device, cfg.sync_bn)
        fused = device.type == "cuda"
        self.opt_g = make_adam(trainable(self.G), cfg.g_optim, fused)
        self.opt_d = make_adam(trainable(self.D), cfg.d_optim, fused)
        # DiffAugment on every image D sees; its random numbers come from the trainer's noise stream.
        self.augment = Augment(cfg.augment)
        self.ema = EMA(self.G, cfg.ema_decay) if cfg.ema_decay else None
        # DDP's gradient hooks fire in backward, outside anything a graph could replay: graphs are for
        # one process on one GPU.
        use_graphs = cfg.cuda_graphs and device.type == "cuda" and not distributed.active()
        self.graphs = StepGraphs([self.G, self.D]) if use_graphs else None
        self.latent_dim = latent_dim
        self.device = device
        self.noise = torch.Generator(device=device)
        self.noise.manual_seed(_noise_seed(cfg.seed, distributed.rank()))
        self.d_updates = 0
        # Conditional networks take a label batch as their second argument.
        self.num_classes: int | None = getattr(generator, "num_classes", None)

    @property
    def sampler(self) -> nn.Module:
        """The generator to draw pictures with: the EMA copy when there is one."""
        return self.ema.shadow if self.ema else self.G

    def sample_noise(self, n: int) -> torch.Tensor:
        """n standard-normal latent vectors from the trainer's own seeded generator."""
        return torch.randn(n, self.latent_dim, generator=self.noise, device=self.device)

    def sample_labels(self, n: int) -> torch.Tensor | None:
        """Uniform class labels for n fakes (None for an unconditional GAN)."""
        if self.num_classes is None:
            return None
        return torch.randint(0, self.num_classes, (n,), generator=self.noise, device=self.device)

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

    def _g(self, z: torch.Tensor, labels: torch.Tensor | None, net: nn.Module | None = None) -> torch.Tensor:
        net = self.G if net is None else net
        return net(z) if labels is None else net(z, labels)

    def _d(
        self, x: Tensor, labels: MaybeTensor, aug: MaybeTensor = None, net: nn.Module | None = None
    ) -> Tensor:
        net = self.d_ddp if net is None else net
        x = self.augment.apply(x, aug)
        return net(x) if labels is None else net(x, labels)

    def _aug(self, n: int) -> torch.Tensor | None:
        """The augmentation's random numbers for n images (None when augmentation is off)."""
        return self.augment.draw(n, self.noise, self.device)

    # ----- the updates -----------------------------------------------------------------------------
    # Each update draws its random numbers here, then runs a pure function of tensors (``_*_update``)
    # that returns losses, outputs and gradients: the part a CUDA graph captures. The optimiser steps after.

    def d_step(self, real: torch.Tensor, labels: torch.Tensor | None = None) -> Stats:
        """Update D on ``real`` and as many fresh fakes (half of each with ``d_half_batch``)."""
        self.G.train()
        self.D.train()
        if self.cfg.d_half_batch:
            real = real[: max(real.shape[0] // 2, 1)]
            labels = None if labels is None else labels[: real.shape[0]]
        n = real.shape[0]
        fakes = {"fake_labels": self.sample_labels(n), "z": self.sample_noise(n), "aug_fake": self._aug(n)}
        real_t, fake_t = self._targets(n, "real"), self._targets(n, "fake")
        aug_real = self._aug(n)
        self.d_updates += 1
        # A step with the R1 penalty is another computation: it gets a graph of its own.
        suffix = "_r1" if self._r1_due() else ""
        if self.cfg.d_separate_batches:
            # Two optimiser steps, as Keras' train_on_batch(real) then train_on_batch(fake).
            real_out = self._update(
                "d_real" + suffix,
                self._d_real_update,
                real=real,
                labels=labels,
                real_t=real_t,
                aug_real=aug_real,
            )
            fake_out = self._update("d_fake", self._d_fake_update, **fakes, fake_t=fake_t)
            d_loss = real_out["d_loss"] + fake_out["d_loss"]
            return self._d_stats(real_out["real_out"], fake_out["fake_out"], d_loss)
        alpha = self._alpha(real) if self.gp_weight else None
        inputs = {"real": real, "labels": labels, "aug_real": aug_real, **fakes, "real_t": real_t}
        inputs |= {"fake_t": fake_t, "alpha": alpha}
        out = self._update("d" + suffix, self._d_joint_update, **inputs)
        return self._d_stats(out["real_out"], out["fake_out"], out["d_loss"])

    def g_step(self, n: int) -> Stats:
        """Update G so that D takes ``n`` fresh fakes for real; D's weights are left alone."""
        self.G.train()
        self.D.train()
        labels = self.sample_labels(n)
        z = self.sample_noise(n)
        real_t, aug = self._targets(n, "real"), self._aug(n)
        out = self._update("g", self._g_update, z=z, labels=labels, real_t=real_t, aug_fake=aug)
        return {"g_loss": out["g_loss"]}

    def simultaneous_step(self, real: torch.Tensor, labels: torch.Tensor | None = None) -> Stats:
        """The TF2 tutorial's step: one forward pass, both gradients from it, both optimisers step."""
        self.G.train()
        self.D.train()
        n = real.shape[0]
        fake_labels = self.sample_labels(n)
        inputs = {"real": real, "labels": labels, "z": self.sample_noise(n), "fake_labels": fake_labels}
        real_t, fake_t = self._targets(n, "real"), self._targets(n, "fake")
        inputs |= {"aug_real": self._aug(n), "aug_fake": self._aug(n)}
        out = self._update("simultaneous", self._simultaneous_update, **inputs, real_t=real_t, fake_t=fake_t)
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

    def _simultaneous_update(
        self,
        real: Tensor,
        labels: MaybeTensor,
        z: Tensor,
        fake_labels: MaybeTensor,
        real_t: Tensor,
        fake_t: Tensor,
        aug_real: MaybeTensor,
        aug_fake: MaybeTensor,
    ) -> Outputs:
        fake = self._g(z, fake_labels, self.g_ddp)
        real_out, fake_out = self._d(real, labels, aug_real), self._d(fake, fake_labels, aug_fake)
        d_loss = self.loss.d_real(real_out, real_t) + self.loss.d_fake(fake_out, fake_t)
        g_loss = self.loss.g(fake_out, real_t)
        # Each loss differentiates only its own network's weights, as the tutorial's two tapes do.
        grads = {"g": self._grads(g_loss, self.G, retain=True), "d": self._grads(d_loss, self.D)}
        out = {"real_out": real_out, "fake_out": fake_out, "d_loss": d_loss, "g_loss": g_loss}
        return _detached(out), grads

    def _d_joint_update(
        self,
        real: Tensor,
        labels: MaybeTensor,
        z: Tensor,
        fake_labels: MaybeTensor,
        real_t: Tensor,
        fake_t: Tensor,
        alpha: MaybeTensor,
        aug_real: MaybeTensor,
        aug_fake: MaybeTensor,
    ) -> Outputs:
        with torch.no_grad():
            fake = self._g(z, fake_labels)
        real_out, real_loss = self._d_real_loss(real, labels, real_t, aug_real)
        fake_out, fake_loss = self._d_fake_loss(fake, fake_labels, fake_t, aug_fake)
        loss = real_loss + fake_loss
        if self.gp_weight:
            # Interpolates keep the real images' labels (the usual choice for conditional WGAN-GP) and
            # are augmented like the real images, so the penalty sees what D sees.
            penalty = gradient_penalty(lambda x: self._d(x, labels, aug_real), real, fake, alpha)
            loss = loss + self.gp_weight * penalty
        out = {"real_out": real_out, "fake_out": fake_out, "d_loss": loss}
        return _detached(out), {"d": self._grads(loss, self.D)}

    def _d_real_update(
        self, real: Tensor, labels: MaybeTensor, real_t: Tensor, aug_real: MaybeTensor
    ) -> Outputs:
        real_out, loss = self._d_real_loss(real, labels, real_t, aug_real)
        return _detached({"real_out": real_out, "d_loss": loss}), {"d": self._grads(loss, self.D)}

    def _d_fake_update(
        self, z: Tensor, fake_labels: MaybeTensor, fake_t: Tensor, aug_fake: MaybeTensor
    ) -> Outputs:
        with torch.no_grad():
            fake = self._g(z, fake_labels)
        fake_out, loss = self._d_fake_loss(fake, fake_labels, fake_t, aug_fake)
        return _detached({"fake_out": fake_out, "d_loss": loss}), {"d": self._grads(loss, self.D)}

    def _g_update(self, z: Tensor, labels: MaybeTensor, real_t: Tensor, aug_fake: MaybeTensor) -> Outputs:
        # D's gradients are not wanted here: the bare D keeps its DDP wrapper out of this backward.
        fake_out = self._d(self._g(z, labels, self.g_ddp), labels, aug_fake, self.D)
        g_loss = self.loss.g(fake_out, real_t)
        return {"g_loss": g_loss.detach()}, {"g": self._grads(g_loss, self.G)}

    def _grads(self, loss: torch.Tensor, net: nn.Module, retain: bool = False) -> list[torch.Tensor | None]:
        """d loss / d (net's weights). Under DDP through ``backward``, the only path its hooks all-reduce;
        otherwise as outputs, so a captured graph owns its gradient buffers."""
        params = trainable(net)
        if not distributed.active():
            grads = torch.autograd.grad(loss, params, retain_graph=retain, allow_unused=True)
            # Laid out as the weights (``.grad`` would be): fused Adam refuses a contiguous gradient for a
            # channels-last convolution weight.
            return [_like(g, p) for g, p in zip(grads, params, strict=True)]
        for param in params:
            param.grad = None
        loss.backward(inputs=params, retain_graph=retain)
        return [param.grad for param in params]

    # ----- helpers ---------------------------------------------------------------------------------

    def _targets(self, n: int, kind: str) -> torch.Tensor:
        low, high = getattr(self.cfg, f"{kind}_label_low"), getattr(self.cfg, f"{kind}_label_high")
        if low == high:
            return torch.full((1, 1), low, device=self.device)
        u = torch.rand(n, 1, generator=self.noise, device=self.device)
        return low + (high - low) * u

    def _alpha(self, real: torch.Tensor) -> torch.Tensor:
        """WGAN-GP interpolation weights, drawn outside the captured update from the trainer's stream."""
        shape = (real.shape[0], *([1] * (real.ndim - 1)))
        return torch.rand(shape, generator=self.noise, device=real.device)

    def _r1_due(self) -> bool:
        """Whether this D update carries the lazy R1 penalty (every ``r1_every`` updates)."""
        return self.cfg.r1_gamma > 0 and self.d_updates % self.cfg.r1_every == 0

    def _d_real_loss(
        self, real: Tensor, labels: MaybeTensor, real_t: Tensor, aug: MaybeTensor
    ) -> tuple[Tensor, Tensor]:
        lazy_r1 = self._r1_due()
        real = real.detach().requires_grad_(lazy_r1)
        real_out = self._d(real, labels, aug)
        loss = self.loss.d_real(real_out, real_t)
        if lazy_r1:
            # Lazy regularisation: applied every r1_every steps, scaled up to keep its average weight.
            loss = loss + self.cfg.r1_gamma / 2 * r1_penalty(real_out, real) * self.cfg.r1_every
        return real_out, loss

    def _d_fake_loss(
        self, fake: Tensor, labels: MaybeTensor, fake_t: Tensor, aug: MaybeTensor
    ) -> tuple[Tensor, Tensor]:
        fake_out = self._d(fake, labels, aug)
        return fake_out, self.loss.d_fake(fake_out, fake_t)

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
        self.g_ddp, self.d_ddp = self.G, self.D

    def weights_finite(self) -> bool:
        """True when every weight and float buffer of G, D (and the EMA) is finite; one host sync."""
        modules = [self.G, self.D] + ([self.ema.shadow] if self.ema else [])
        sums = [
            t.detach().float().sum()
            for m in modules
            for t in (*m.parameters(), *m.buffers())
            if t.is_floating_point() and t.numel()
        ]
        finite = bool(torch.isfinite(torch.stack(sums)).all()) if sums else True
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
            self.noise.manual_seed(_noise_seed(self.cfg.seed, distributed.rank()) + self.d_updates)
        if self.ema:
            load_weights(self.ema.shadow, state["G_ema"], "EMA generator")
            # Checkpoints from before the decay ramp: the D update count is as good a count as any.
            self.ema.updates = state.get("ema_updates", self.d_updates)


def trainable(net: nn.Module) -> list[nn.Parameter]:
    """The weights an optimiser updates: frozen parts (a projected D's feature network) are left out."""
    return [p for p in net.parameters() if p.requires_grad]


def _like(grad: torch.Tensor | None, param: torch.Tensor) -> torch.Tensor | None:
    if grad is None or grad.stride() == param.stride():
        return grad
    return torch.empty_like(param).copy_(grad)


def _detached(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach() for k, v in tensors.items()}


def _noise_seed(seed: int, rank: int) -> int:
    """Each process draws its own noise; rank 0's stream is the single-process one."""
    return seed + 1_000_003 * rank


def _placed(net: nn.Module, device: torch.device, channels_last: bool) -> nn.Module:
    net = net.to(device)
    return net.to(memory_format=torch.channels_last) if channels_last and has_convolutions(net) else net
