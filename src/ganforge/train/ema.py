"""Exponential moving average of the generator's weights, the generator that grids and metrics use."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Keeps ``shadow``, a frozen copy of a model whose weights trail the model's by ``decay`` per update.

    Buffers (BatchNorm statistics) are copied as they are: averaging them has no meaning.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.shadow = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """shadow <- decay * shadow + (1 - decay) * model."""
        shadow_params = list(self.shadow.parameters())
        params = [p.detach() for p in model.parameters()]
        torch._foreach_lerp_(shadow_params, params, 1 - self.decay)
        for shadow_buf, buf in zip(self.shadow.buffers(), model.buffers(), strict=True):
            shadow_buf.copy_(buf)
