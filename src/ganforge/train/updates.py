"""The differentiable part of each GAN update: pure functions of tensors returning losses and gradients.

The :class:`~ganforge.train.trainer.Trainer` draws every random number (noise, labels, targets,
augmentation parameters, WGAN-GP mixing weights) and steps the optimisers; in between it calls one of
these functions, which is exactly what a CUDA graph captures and replays (``train/graphs.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ganforge.augment import Augment
from ganforge.losses import GANLoss, gradient_penalty, r1_penalty
from ganforge.train import distributed
from ganforge.train.graphs import Outputs
from ganforge.train.optim import trainable

Tensor = torch.Tensor
MaybeTensor = torch.Tensor | None


class Updates:
    """The update functions over G and D (and their DDP wrappers, whose backward all-reduces).

    Args:
        r1_due: whether the D update being traced carries the lazy R1 penalty (the trainer counts).
    """

    def __init__(
        self,
        G: nn.Module,
        D: nn.Module,
        loss: GANLoss,
        augment: Augment,
        gp_weight: float,
        r1: tuple[float, int],
        r1_due: Callable[[], bool],
    ) -> None:
        self.G, self.D = G, D
        self.g_ddp, self.d_ddp = G, D  # replaced by the DDP wrappers when several processes train
        self.loss = loss
        self.augment = augment
        self.gp_weight = gp_weight
        self.r1_gamma, self.r1_every = r1
        self.r1_due = r1_due

    def g(self, z: Tensor, labels: MaybeTensor, net: nn.Module | None = None) -> Tensor:
        """Fakes from noise (and labels, for conditional G)."""
        net = self.G if net is None else net
        return net(z) if labels is None else net(z, labels)

    def d(
        self, x: Tensor, labels: MaybeTensor, aug: MaybeTensor = None, net: nn.Module | None = None
    ) -> Tensor:
        """D's outputs on augmented ``x`` (DiffAugment applies to everything D sees)."""
        net = self.d_ddp if net is None else net
        x = self.augment.apply(x, aug)
        return net(x) if labels is None else net(x, labels)

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
        real_out, fake_out = self.d(real, labels, aug_real), self.d(fake, fake_labels, aug_fake)
        d_loss = self.loss.d_real(real_out, real_t) + self.loss.d_fake(fake_out, fake_t)
        g_loss = self.loss.g(fake_out, real_t)
        # Each loss differentiates only its own network's weights, as the tutorial's two tapes do.
        grads = {"g": self.grads(g_loss, self.G, retain=True), "d": self.grads(d_loss, self.D)}
        out = {"real_out": real_out, "fake_out": fake_out, "d_loss": d_loss, "g_loss": g_loss}
        return _detached(out), grads

    def d_joint(
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
        """D on reals and fakes in one loss (plus the gradient penalty when WGAN-GP asks)."""
        with torch.no_grad():
            fake = self.g(z, fake_labels)
        real_out, real_loss = self._d_real_loss(real, labels, real_t, aug_real)
        fake_out, fake_loss = self._d_fake_loss(fake, fake_labels, fake_t, aug_fake)
        loss = real_loss + fake_loss
        if self.gp_weight:
            # Interpolates keep the real images' labels (the usual choice for conditional WGAN-GP) and
            # are augmented like the real images, so the penalty sees what D sees.
            penalty = gradient_penalty(lambda x: self.d(x, labels, aug_real), real, fake, alpha)
            loss = loss + self.gp_weight * penalty
        out = {"real_out": real_out, "fake_out": fake_out, "d_loss": loss}
        return _detached(out), {"d": self.grads(loss, self.D)}

    def d_real(self, real: Tensor, labels: MaybeTensor, real_t: Tensor, aug_real: MaybeTensor) -> Outputs:
        """D on reals alone (Keras' separate ``train_on_batch(real)``)."""
        real_out, loss = self._d_real_loss(real, labels, real_t, aug_real)
        return _detached({"real_out": real_out, "d_loss": loss}), {"d": self.grads(loss, self.D)}

    def d_fake(self, z: Tensor, fake_labels: MaybeTensor, fake_t: Tensor, aug_fake: MaybeTensor) -> Outputs:
        """D on fakes alone (Keras' separate ``train_on_batch(fake)``)."""
        with torch.no_grad():
            fake = self.g(z, fake_labels)
        fake_out, loss = self._d_fake_loss(fake, fake_labels, fake_t, aug_fake)
        return _detached({"fake_out": fake_out, "d_loss": loss}), {"d": self.grads(loss, self.D)}

    def g_update(self, z: Tensor, labels: MaybeTensor, real_t: Tensor, aug_fake: MaybeTensor) -> Outputs:
        """G so that D takes its fakes for real; D's gradients are not computed."""
        # The bare D keeps its DDP wrapper out of this backward.
        fake_out = self.d(self.g(z, labels, self.g_ddp), labels, aug_fake, self.D)
        g_loss = self.loss.g(fake_out, real_t)
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

    def _d_real_loss(
        self, real: Tensor, labels: MaybeTensor, real_t: Tensor, aug: MaybeTensor
    ) -> tuple[Tensor, Tensor]:
        lazy_r1 = self.r1_due()
        real = real.detach().requires_grad_(lazy_r1)
        real_out = self.d(real, labels, aug)
        loss = self.loss.d_real(real_out, real_t)
        if lazy_r1:
            # Lazy regularisation: applied every r1_every steps, scaled up to keep its average weight.
            loss = loss + self.r1_gamma / 2 * r1_penalty(real_out, real) * self.r1_every
        return real_out, loss

    def _d_fake_loss(
        self, fake: Tensor, labels: MaybeTensor, fake_t: Tensor, aug: MaybeTensor
    ) -> tuple[Tensor, Tensor]:
        fake_out = self.d(fake, labels, aug)
        return fake_out, self.loss.d_fake(fake_out, fake_t)


def _like(grad: MaybeTensor, param: Tensor) -> MaybeTensor:
    if grad is None or grad.stride() == param.stride():
        return grad
    return torch.empty_like(param).copy_(grad)


def _detached(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k: v.detach() for k, v in tensors.items()}
