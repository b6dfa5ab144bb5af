"""The optimisers: Adam as PyTorch has it, or with Keras' epsilon placement; and which weights they update."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ganforge.config import OptimConfig


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


def trainable(net: nn.Module) -> list[nn.Parameter]:
    """The weights an optimiser updates: frozen parts (a projected D's feature network) are left out."""
    return [p for p in net.parameters() if p.requires_grad]
