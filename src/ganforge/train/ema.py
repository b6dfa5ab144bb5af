"""Exponential moving average of the generator's weights, the generator that grids and metrics use."""

from __future__ import annotations

import copy

import torch
from torch import nn

from ganforge.checkpoint import load_weights
from ganforge.sampling import NORM_SAMPLES, batch_norms, recompute_norms


class EMA:
    """Keeps ``shadow``, a frozen copy of a model whose weights trail the model's by ``decay`` per update.

    The decay ramps up as ``min(decay, (1 + n) / (10 + n))`` after n updates. With a fixed 0.999 the shadow
    would still hold 0.999^1000 = 37% of the random initial weights after 1000 updates (5% after 3000):
    its grids are washed-out noise while the generator already draws shapes. With the ramp the shadow
    averages roughly the last tenth of training until that is longer than ``1 / (1 - decay)`` updates.

    BatchNorm statistics cannot be averaged: the live generator's describe the live weights, not the
    averaged ones. :meth:`sampler` therefore measures them afresh for the shadow's own weights before
    it draws anything (``recompute_norms``, on ``norm_samples`` of its own samples): on Twemoji that
    halved SWD with FD unchanged (docs/fast-recipes.md). Training never reads the shadow, so this changes
    no training step.
    """

    def __init__(self, model: nn.Module, decay: float, norm_samples: int = NORM_SAMPLES) -> None:
        self.decay = decay
        self.norm_samples = norm_samples
        self.updates = 0
        self.shadow = copy.deepcopy(model).eval().requires_grad_(False)
        self.has_norms = bool(batch_norms(self.shadow))
        self._norms_current = False

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
        # Other buffers (a spectral norm's vectors, say) follow the model; BatchNorm's are measured anew.
        for shadow_buf, buf in zip(self.shadow.buffers(), model.buffers(), strict=True):
            shadow_buf.copy_(buf)
        self._norms_current = False

    def sampler(self) -> nn.Module:
        """The shadow, with BatchNorm statistics of its own weights: what grids, metrics and checkpoints
        use (measured once per update, on first use)."""
        if self.has_norms and not self._norms_current:
            recompute_norms(self.shadow, samples=self.norm_samples)
            self._norms_current = True
        return self.shadow

    def state_dict(self) -> dict:
        """The shadow (with BatchNorm statistics of its own weights: what sample, export and serve draw
        with), the update count, and whether the statistics were measured."""
        return {
            "G_ema": self.sampler().state_dict(),
            "ema_updates": self.updates,
            "ema_norms": "recomputed" if self.has_norms else "none",
        }

    def load_state_dict(self, state: dict, updates_before_ramp: int) -> None:
        """Restore what :meth:`state_dict` returned (``updates_before_ramp``: the count to assume for
        checkpoints from before the decay ramp was counted)."""
        load_weights(self.shadow, state["G_ema"], "EMA generator")
        self.updates = state.get("ema_updates", updates_before_ramp)
        # Statistics measured when saving are current; older checkpoints' are measured on first use.
        self._norms_current = state.get("ema_norms") == "recomputed"
