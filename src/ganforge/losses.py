"""GAN losses and regularisers as pure functions of discriminator outputs.

The trainer owns backward passes and optimiser steps; these only turn outputs (logits or critic
scores) and targets into scalars. BCE-family losses take explicit targets so label smoothing and
noisy labels stay outside them. Relativistic losses (``rpgan``) score pairs: each real image against
one fake, so they take both outputs at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn import functional as F


@dataclass(frozen=True)
class GANLoss:
    """A loss family.

    Attributes:
        d_real: loss of D on real outputs given their targets.
        d_fake: loss of D on fake outputs given their targets.
        g: loss of G on fake outputs given G's targets.
        uses_targets: whether label smoothing / noisy labels apply.
        sigmoid_outputs: whether D's outputs are logits (so sigmoid gives D(x) as a probability).
    """

    d_real: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    d_fake: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    uses_targets: bool = True
    sigmoid_outputs: bool = True
    # Relativistic losses: D's loss of (real outputs, fake outputs) and G's, in place of the three above.
    d_pair: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    g_pair: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None

    @property
    def relativistic(self) -> bool:
        """Whether the loss scores real/fake pairs (D's outputs then mean nothing on their own)."""
        return self.d_pair is not None


def _bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, target.expand_as(logits))


def minimax_g(fake_logits: torch.Tensor, fake_target: torch.Tensor) -> torch.Tensor:
    """The original saturating generator loss: minimise E[log(1 - D(G(z)))] = -BCE(fake, fake target)."""
    return -_bce(fake_logits, fake_target)


def least_squares(outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """LSGAN: half the mean squared distance of raw outputs to the target (1 real, 0 fake)."""
    return 0.5 * (outputs - target.expand_as(outputs)).pow(2).mean()


def hinge_d_real(outputs: torch.Tensor, _target: torch.Tensor) -> torch.Tensor:
    """Hinge loss of D on real outputs: E[relu(1 - D(x))]."""
    return F.relu(1 - outputs).mean()


def hinge_d_fake(outputs: torch.Tensor, _target: torch.Tensor) -> torch.Tensor:
    """Hinge loss of D on fake outputs: E[relu(1 + D(G(z)))]."""
    return F.relu(1 + outputs).mean()


def critic_g(outputs: torch.Tensor, _target: torch.Tensor) -> torch.Tensor:
    """Generator loss of hinge and Wasserstein GANs: -E[D(G(z))]."""
    return -outputs.mean()


def wasserstein_d_real(outputs: torch.Tensor, _target: torch.Tensor) -> torch.Tensor:
    """Critic loss on real samples: -E[D(x)]."""
    return -outputs.mean()


def wasserstein_d_fake(outputs: torch.Tensor, _target: torch.Tensor) -> torch.Tensor:
    """Critic loss on fake samples: E[D(G(z))]."""
    return outputs.mean()


def rpgan_d(real_outputs: torch.Tensor, fake_outputs: torch.Tensor) -> torch.Tensor:
    """Relativistic pairing loss of D (Jolicoeur-Martineau 2019; R3GAN): E[softplus(D(fake) - D(real))].

    Each real image is paired with one fake; D is asked to score the real one higher, by a margin that
    the softplus makes smooth.
    """
    return F.softplus(fake_outputs - real_outputs).mean()


def rpgan_g(real_outputs: torch.Tensor, fake_outputs: torch.Tensor) -> torch.Tensor:
    """Relativistic pairing loss of G: E[softplus(D(real) - D(fake))], the same pairs turned around."""
    return F.softplus(real_outputs - fake_outputs).mean()


def _unused(_outputs: torch.Tensor, _target: torch.Tensor) -> torch.Tensor:
    raise TypeError("a relativistic loss scores real/fake pairs: call d_pair / g_pair")


def _g_bce(fake_logits: torch.Tensor, g_target: torch.Tensor) -> torch.Tensor:
    return _bce(fake_logits, g_target)


LOSSES: dict[str, GANLoss] = {
    # "bce" is the TF2 tutorial's name for the non-saturating loss; both names are kept.
    "bce": GANLoss(_bce, _bce, _g_bce),
    "nonsaturating": GANLoss(_bce, _bce, _g_bce),
    "minimax": GANLoss(_bce, _bce, minimax_g),
    "lsgan": GANLoss(least_squares, least_squares, least_squares, sigmoid_outputs=False),
    "hinge": GANLoss(hinge_d_real, hinge_d_fake, critic_g, uses_targets=False, sigmoid_outputs=False),
    "wgan-gp": GANLoss(
        wasserstein_d_real, wasserstein_d_fake, critic_g, uses_targets=False, sigmoid_outputs=False
    ),
    "rpgan": GANLoss(
        _unused, _unused, _unused, uses_targets=False, sigmoid_outputs=False, d_pair=rpgan_d, g_pair=rpgan_g
    ),
}


def r1_penalty(real_outputs: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1: E[||grad_x D(x)||^2] on real data (Mescheder et al. 2018); ``real`` must require grad.

    The same zero-centred penalty on generated images is R2 (R3GAN: ``r1_penalty(fake_out, fake)``).
    ``create_graph`` keeps it differentiable in D's weights, which is what the update needs.
    """
    (grad,) = torch.autograd.grad(_wide(real_outputs).sum(), real, create_graph=True)
    return _wide(grad).pow(2).flatten(1).sum(1).mean()


def _wide(t: torch.Tensor) -> torch.Tensor:
    """At least float32: squared gradients summed in bf16 (autocast) lose most of their digits."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def penalty_weight(gamma: float | str, side: int, batch: int) -> float:
    """A zero-centred penalty's weight: ``gamma`` itself, or for "auto" StyleGAN2-ADA's heuristic
    0.0002 * side^2 / batch (Karras et al. 2020), which grows with the image and shrinks with the batch."""
    return 0.0002 * side**2 / batch if gamma == "auto" else float(gamma)


def gradient_penalty(
    discriminator: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    alpha: torch.Tensor | None = None,
) -> torch.Tensor:
    """WGAN-GP: E[(||grad D(x_hat)||_2 - 1)^2] on random interpolates of real and fake (Gulrajani et al.).

    ``alpha`` (N, 1, ...) are the interpolation weights; uniform random when not given.
    """
    if alpha is None:
        alpha = torch.rand(real.shape[0], *([1] * (real.ndim - 1)), device=real.device, dtype=real.dtype)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(mixed).sum(), mixed, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()
