"""The differentiable part of each GAN update: pure functions of tensors returning losses and gradients.

The :class:`~ganforge.train.trainer.Trainer` draws every random number (noise, labels, targets,
augmentation parameters, WGAN-GP mixing weights) and steps the optimisers; in between it calls one of
these functions, which is exactly what a CUDA graph captures and replays (``train/graphs.py``). With
``reuse_fakes`` G's forward pass (``train/handoff.py``) spans two updates, so no graph is captured.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ganforge.augment import Augment
from ganforge.config import TrainConfig
from ganforge.devices import check_training
from ganforge.losses import GANLoss, gradient_penalty, r1_penalty
from ganforge.models.packed import pack_outputs
from ganforge.train import distributed
from ganforge.train.graphs import Outputs
from ganforge.train.optim import trainable

Tensor = torch.Tensor
MaybeTensor = torch.Tensor | None


class Updates:
    """The update functions over G and D (and their DDP wrappers, whose backward all-reduces).

    Args:
        cfg: the penalties it asks for: WGAN-GP's (``gp_weight``, 10 by default with wgan-gp) and the
            zero-centred R1 (real images) and R2 (fakes).
        penalty_weights: a (2,) tensor on the device, (R1, R2) weights times 1/2 and the lazy interval:
            the trainer updates it in place (a schedule), so a captured graph reads the new values.
        penalty_due: whether the D update being traced carries the lazy penalties (the trainer counts).
    """

    def __init__(
        self,
        G: nn.Module,
        D: nn.Module,
        loss: GANLoss,
        augment: Augment,
        cfg: TrainConfig,
        penalty_weights: Tensor,
        penalty_due: Callable[[], bool],
    ) -> None:
        self.G, self.D = G, D
        self.g_ddp, self.d_ddp = G, D  # replaced by the DDP wrappers when several processes train
        self.loss = loss
        self.augment = augment
        self.augment_p: MaybeTensor = None  # a gated augmentation's strength, updated in place
        self.gp_weight = (
            cfg.gp_weight if cfg.gp_weight is not None else (10.0 if cfg.loss == "wgan-gp" else 0.0)
        )
        self.penalties = tuple(g == "auto" or g > 0 for g in (cfg.r1_gamma, cfg.r2_gamma))
        self.penalty_weights = penalty_weights
        self.penalty_due = penalty_due
        self.joint = cfg.d_joint_batch
        self.pack: int = getattr(D, "pack", 1)  # PacGAN: the penalties differentiate one output per pack
        check_training(penalty_weights.device, second_order=bool(self.gp_weight) or any(self.penalties))

    def g(self, z: Tensor, labels: MaybeTensor, net: nn.Module | None = None) -> Tensor:
        """Fakes from noise (and labels, for conditional G)."""
        net = self.G if net is None else net
        return net(z) if labels is None else net(z, labels)

    def d(
        self, x: Tensor, labels: MaybeTensor, aug: MaybeTensor = None, net: nn.Module | None = None
    ) -> Tensor:
        """D's outputs on augmented ``x`` (DiffAugment applies to everything D sees)."""
        net = self.d_ddp if net is None else net
        x = self.augment.apply(x, aug, self.augment_p)
        return net(x) if labels is None else net(x, labels)

    def d_both(
        self,
        real: Tensor,
        labels: MaybeTensor,
        fake: Tensor,
        fake_labels: MaybeTensor,
        aug_real: MaybeTensor,
        aug_fake: MaybeTensor,
        net: nn.Module | None = None,
    ) -> tuple[Tensor, Tensor]:
        """D's outputs on ``real`` and on ``fake``: two forward passes, or one batch (:func:`_one_batch`)."""
        if not self.joint:
            return self.d(real, labels, aug_real, net), self.d(fake, fake_labels, aug_fake, net)
        out = self.d(*_one_batch(real, fake, labels, fake_labels, aug_real, aug_fake), net)
        return out[: real.shape[0]], out[real.shape[0] :]

    def simultaneous(
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
        """The TF2 tutorial's step: one forward pass, each loss differentiating its own network."""
        fake = self.g(z, fake_labels, self.g_ddp)
        real_out, fake_out = self.d_both(real, labels, fake, fake_labels, aug_real, aug_fake)
        d_loss = _d_loss(self.loss, real_out, fake_out, real_t, fake_t)
        g_loss = _g_loss(self.loss, real_out, fake_out, real_t)
        # Each loss differentiates only its own network's weights, as the tutorial's two tapes do.
        grads = {"g": self.grads(g_loss, self.G, retain=True), "d": self.grads(d_loss, self.D)}
        out = {"real_out": real_out, "fake_out": fake_out, "d_loss": d_loss, "g_loss": g_loss}
        return _detached(out), grads

    def d_joint(
        self,
        real: Tensor,
        labels: MaybeTensor,
        z: MaybeTensor,
        fake_labels: MaybeTensor,
        real_t: Tensor,
        fake_t: Tensor,
        alpha: MaybeTensor,
        aug_real: MaybeTensor,
        aug_fake: MaybeTensor,
        fake: MaybeTensor = None,
    ) -> Outputs:
        """D on reals and fakes in one loss (plus R1/R2, or WGAN-GP's penalty, when asked): fakes from
        ``z``, or given (``fake``, ``train/handoff.py``)."""
        if fake is None:
            with torch.no_grad():
                fake = self.g(z, fake_labels)
        due = [self.penalties[which] and self.penalty_due() for which in (0, 1)]
        real, fake = real.detach().requires_grad_(due[0]), fake.detach().requires_grad_(due[1])
        real_out, fake_out = self.d_both(real, labels, fake, fake_labels, aug_real, aug_fake)
        loss = _d_loss(self.loss, real_out, fake_out, real_t, fake_t)
        for which, (out, x) in enumerate(((real_out, real), (fake_out, fake))):
            if due[which]:
                loss = loss + self._penalty(which, out, x)
        if self.gp_weight:
            # Interpolates keep the real images' labels (the usual choice for conditional WGAN-GP) and
            # are augmented like the real images, so the penalty sees what D sees.
            penalty = gradient_penalty(
                lambda x: pack_outputs(self.d(x, labels, aug_real), self.pack), real, fake, alpha
            )
            loss = loss + self.gp_weight * penalty
        out = {"real_out": real_out, "fake_out": fake_out, "d_loss": loss}
        return _detached(out), {"d": self.grads(loss, self.D)}

    def d_real(self, real: Tensor, labels: MaybeTensor, real_t: Tensor, aug_real: MaybeTensor) -> Outputs:
        """D on reals alone (Keras' separate ``train_on_batch(real)``)."""
        real_out, penalty = self._scored(real, labels, aug_real, 0)
        loss = self.loss.d_real(real_out, real_t)
        loss = loss if penalty is None else loss + penalty
        return _detached({"real_out": real_out, "d_loss": loss}), {"d": self.grads(loss, self.D)}

    def d_fake(self, z: Tensor, fake_labels: MaybeTensor, fake_t: Tensor, aug_fake: MaybeTensor) -> Outputs:
        """D on fakes alone (Keras' separate ``train_on_batch(fake)``)."""
        with torch.no_grad():
            fake = self.g(z, fake_labels)
        fake_out, penalty = self._scored(fake, fake_labels, aug_fake, 1)
        loss = self.loss.d_fake(fake_out, fake_t)
        loss = loss if penalty is None else loss + penalty
        return _detached({"fake_out": fake_out, "d_loss": loss}), {"d": self.grads(loss, self.D)}

    def g_update(
        self,
        z: MaybeTensor,
        labels: MaybeTensor,
        real_t: Tensor,
        aug_fake: MaybeTensor,
        real: MaybeTensor = None,
        real_labels: MaybeTensor = None,
        aug_real: MaybeTensor = None,
        fake: MaybeTensor = None,
    ) -> Outputs:
        """G so that D takes its fakes for real; D's gradients are not computed. A relativistic loss also
        scores ``real`` images (no gradient flows through them but their batch statistics, if shared).
        The fakes come from ``z``, or are given still attached to G (``fake``, ``train/handoff.py``)."""
        # The bare D keeps its DDP wrapper out of this backward.
        fake = self.g(z, labels, self.g_ddp) if fake is None else fake
        real_out = None
        if self.joint:
            # G is judged beside the reals, as D was trained: its BatchNorm shows G the fakes' shift.
            real_out, fake_out = self.d_both(real, real_labels, fake, labels, aug_real, aug_fake, self.D)
        else:
            fake_out = self.d(fake, labels, aug_fake, self.D)
            if self.loss.relativistic:
                with torch.no_grad():
                    real_out = self.d(real, real_labels, aug_real, self.D)
        g_loss = _g_loss(self.loss, real_out, fake_out, real_t)
        return {"g_loss": g_loss.detach()}, {"g": self.grads(g_loss, self.G)}

    def grads(self, loss: Tensor, net: nn.Module, retain: bool = False) -> list[MaybeTensor]:
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

    def _scored(
        self, x: Tensor, labels: MaybeTensor, aug: MaybeTensor, which: int
    ) -> tuple[Tensor, MaybeTensor]:
        """D's outputs on ``x`` (real: ``which`` 0, fake: 1) and, when due, the zero-centred gradient
        penalty on them (R1 on reals, R2 on fakes) times its weight."""
        due = self.penalties[which] and self.penalty_due()
        x = x.detach().requires_grad_(due)
        out = self.d(x, labels, aug)
        return out, self._penalty(which, out, x) if due else None

    def _penalty(self, which: int, out: Tensor, x: Tensor) -> Tensor:
        """The zero-centred gradient penalty of D's outputs ``out`` on ``x`` (R1: 0, R2: 1), weighted."""
        # Lazy regularisation: applied every few steps with the weight scaled up to keep its average.
        return self.penalty_weights[which] * r1_penalty(pack_outputs(out, self.pack), x)


def _like(grad: MaybeTensor, param: Tensor) -> MaybeTensor:
    if grad is None or grad.stride() == param.stride():
        return grad
    return torch.empty_like(param).copy_(grad)


def _detached(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k: v.detach() for k, v in tensors.items()}


def _one_batch(
    real: Tensor,
    fake: Tensor,
    labels: MaybeTensor,
    fake_labels: MaybeTensor,
    aug_real: MaybeTensor,
    aug_fake: MaybeTensor,
) -> tuple[Tensor, MaybeTensor, MaybeTensor]:
    """Reals and fakes as one batch for D (``d_joint_batch``), with their labels and augmentation numbers.

    Why one batch: in two passes a BatchNorm layer in D normalises the fakes by the fakes' own statistics,
    so a shift of their features' means (too dark, too red) never reaches D's output, nor G's gradient.
    In one batch both are normalised alike and the shift shows.
    """
    n, m = real.shape[0], fake.shape[0]
    aug = None if aug_real is None or aug_fake is None else torch.cat([aug_real[:n], aug_fake[:m]])
    both_labels = None if labels is None or fake_labels is None else torch.cat([labels, fake_labels])
    return torch.cat([real, fake]), both_labels, aug


def _d_loss(loss: GANLoss, real_out: Tensor, fake_out: Tensor, real_t: Tensor, fake_t: Tensor) -> Tensor:
    if loss.relativistic:
        return loss.d_pair(real_out, fake_out)
    return loss.d_real(real_out, real_t) + loss.d_fake(fake_out, fake_t)


def _g_loss(loss: GANLoss, real_out: MaybeTensor, fake_out: Tensor, real_t: Tensor) -> Tensor:
    if loss.relativistic:
        return loss.g_pair(real_out, fake_out)
    return loss.g(fake_out, real_t)
