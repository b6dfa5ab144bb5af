"""GAN losses as pure functions of discriminator logits; the trainer owns backward and optimiser steps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn import functional as F


@dataclass(frozen=True)
class GANLoss:
    """A pair of loss functions: d(real_logits, fake_logits) and g(fake_logits)."""

    d: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g: Callable[[torch.Tensor], torch.Tensor]


def bce_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator BCE from logits: real -> 1, fake -> 0, the two means summed (as the TF tutorial)."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def bce_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator BCE from logits with fakes labelled real (the non-saturating form)."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


LOSSES: dict[str, GANLoss] = {"bce": GANLoss(bce_d_loss, bce_g_loss)}
