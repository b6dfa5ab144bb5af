"""Class-conditional wrappers that work for every family.

The generator sees its label as a one-hot vector appended to z; the discriminator sees it as one-hot
planes appended to the image channels (Mirza & Osindero 2014, conditioning by concatenation). Each
wrapped network is an ordinary family network built for the wider input.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ConditionalGenerator(nn.Module):
    """G(z, y) = base(concat(z, one_hot(y))); ``base`` takes latent_dim + num_classes inputs."""

    def __init__(self, base: nn.Module, latent_dim: int, num_classes: int) -> None:
        super().__init__()
        self.base = base
        self.latent_dim = latent_dim
        self.num_classes = num_classes

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``labels``: class indices (N,), or class weights (N, num_classes) to blend classes."""
        return self.base(torch.cat([z, as_weights(labels, self.num_classes, z.dtype)], dim=1))


class ConditionalDiscriminator(nn.Module):
    """D(x, y) = base(concat(x, one-hot planes of y)); ``base`` takes channels + num_classes channels."""

    def __init__(self, base: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.base = base
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        planes = F.one_hot(labels, self.num_classes).to(x.dtype)[:, :, None, None].expand(n, -1, h, w)
        return self.base(torch.cat([x, planes], dim=1))  # (N, 1)


def as_weights(labels: torch.Tensor, num_classes: int, dtype: torch.dtype) -> torch.Tensor:
    """Class indices (N,) as one-hot rows; rows of class weights (N, num_classes) as they are.

    Weights between one-hot rows blend classes, which is how a latent walk moves from one class to another.
    """
    if labels.ndim == 2:
        return labels.to(dtype)
    return F.one_hot(labels, num_classes).to(dtype)
