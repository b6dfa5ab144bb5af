"""Exponential moving average of the generator's weights, the generator that grids and metrics use."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Keeps ``shadow``, a frozen copy of a model whose weights trail the model's by ``decay`` per update.

    The decay ramps up as ``min(decay, (1 + n) / (10 + n))`` after n updates. With a fixed 0.999 the shadow
    would still hold 0.999^1000 = 37% of the random initial weights after 1000 updates (5% after 3000):
    its grids are washed-out noise while the generator already draws shapes. With the ramp the shadow
    averages roughly the last tenth of training until that is longer than ``1 / (1 - decay)`` updates.

    Buffers (BatchNorm statistics) are copied as they are: averaging them has no meaning.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.shadow = copy.deepcopy(model).eval().requires_grad_(False)

    def current_decay(self) -> float:
        """The decay the next update uses."""
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """shadow <- d * shadow + (1 - d) * model, d = :meth:`current_decay`."""
        shadow_params = list(self.shadow.parameters())
        params = [p.detach() for p in model.parameters()]
        torch._foreach_lerp_(shadow_params, params, 1 - self.current_decay())
        self.updates += 1
        for shadow_buf, buf in zip(self.shadow.buffers(), model.buffers(), strict=True):
            shadow_buf.copy_(buf)
