"""Spectral normalisation (Miyato et al. 2018) that runs on every device, Apple's GPU included.

The weight is divided by its largest singular value, estimated by one step of power iteration per
training forward pass with vectors kept between steps. PyTorch's own parametrization computes
sigma = u . (W v) with ``torch.vdot``, which some MPS builds lack; here it is an elementwise product and
a sum, on every device, so the CPU tests run the very code a Mac does. The buffers (``_u``, ``_v``) and
their initialisation follow PyTorch's, so state dicts of either load into the other.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import parametrize


class SpectralNorm(nn.Module):
    """The parametrization W -> W / sigma(W), sigma from power iteration on W reshaped to a matrix.

    Args:
        weight: the weight it will normalise (shapes the vectors).
        dim: the output dimension (1 for transposed convolutions, else 0).
        n_power_iterations: power-iteration steps per training forward pass.
    """

    def __init__(self, weight: torch.Tensor, dim: int = 0, n_power_iterations: int = 1, eps: float = 1e-12):
        super().__init__()
        self.dim = dim if dim >= 0 else dim + weight.ndim
        self.n_power_iterations = n_power_iterations
        self.eps = eps
        if weight.ndim > 1:
            matrix = self._matrix(weight)
            h, w = matrix.shape
            self.register_buffer("_u", F.normalize(matrix.new_empty(h).normal_(0, 1), dim=0, eps=eps))
            self.register_buffer("_v", F.normalize(matrix.new_empty(w).normal_(0, 1), dim=0, eps=eps))
            self._power_iteration(matrix, 15)  # start from a good estimate, as PyTorch does

    def _matrix(self, weight: torch.Tensor) -> torch.Tensor:
        if self.dim != 0:
            weight = weight.movedim(self.dim, 0)
        return weight.flatten(1)

    @torch.no_grad()
    def _power_iteration(self, matrix: torch.Tensor, steps: int) -> None:
        for _ in range(steps):
            self._u = F.normalize(torch.mv(matrix, self._v), dim=0, eps=self.eps, out=self._u)
            self._v = F.normalize(torch.mv(matrix.mH, self._u), dim=0, eps=self.eps, out=self._v)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        matrix = self._matrix(weight)
        if self.training:
            self._power_iteration(matrix, self.n_power_iterations)
        u = self._u.clone(memory_format=torch.contiguous_format)
        v = self._v.clone(memory_format=torch.contiguous_format)
        sigma = (u * torch.mv(matrix, v)).sum()  # u . (W v), without torch.vdot
        return weight / sigma

    def right_inverse(self, value: torch.Tensor) -> torch.Tensor:
        """Assigning a weight stores it as it is (its normalised form is computed on use)."""
        return value


def spectral_norm(module: nn.Module, name: str = "weight", n_power_iterations: int = 1) -> nn.Module:
    """Register :class:`SpectralNorm` on ``module.<name>`` (a drop-in for PyTorch's ``spectral_norm``)."""
    weight = getattr(module, name)
    transposed = isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d))
    parametrize.register_parametrization(
        module, name, SpectralNorm(weight, 1 if transposed else 0, n_power_iterations)
    )
    return module
