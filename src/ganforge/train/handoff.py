"""``reuse_fakes``: one G forward pass a step, made for D's update and handed on to G's.

FastGAN's own ``train.py`` (and PyTorch's DCGAN tutorial) do this; ganforge otherwise draws fresh fakes
for G's update, which costs a second G forward pass: 133 ms on one AVX2 CPU thread for ``fastgan``,
whose whole step took 606 ms there, and 507 ms with this hand-off (docs/colour-pilots.md, twenty-fifth
session).
"""

from __future__ import annotations

import torch

from ganforge.config import TrainConfig, reuse_fits
from ganforge.train.graphs import graphs_allowed
from ganforge.train.updates import Updates

Inputs = dict[str, torch.Tensor | None]


def reuses_fakes(cfg: TrainConfig, device: torch.device) -> bool:
    """``reuse_fakes`` as set, or for ``auto`` wherever no CUDA graph is captured and the scheme allows
    it: a replayed graph makes G's second forward pass cheap, and the hand-off cannot be captured."""
    if cfg.reuse_fakes != "auto":
        return bool(cfg.reuse_fakes)
    return reuse_fits(cfg) and not graphs_allowed(cfg, device)


class FakeHandoff:
    """Holds the fakes of the D update just before a G update, still attached to G's autograd graph."""

    def __init__(self, updates: Updates, cfg: TrainConfig, device: torch.device) -> None:
        self.updates = updates
        self.on = reuses_fakes(cfg, device)
        self.cfg = cfg
        self.kept: tuple[torch.Tensor, torch.Tensor | None] | None = None

    def give(self, fakes: Inputs, d_updates: int) -> Inputs:
        """D's fake inputs: ``fakes`` as drawn, or, when G's update follows this (the ``d_updates``-th)
        D update, the fakes G makes from them now, kept for G and given to D detached."""
        if not (self.on and d_updates % self.cfg.d_steps == 0):
            return fakes
        # Through G's DDP wrapper: G's backward, in its own update, all-reduces as it would otherwise.
        fake = self.updates.g(fakes["z"], fakes["fake_labels"], self.updates.g_ddp)  # type: ignore[arg-type]
        self.kept = (fake, fakes["fake_labels"])
        return fakes | {"z": None, "fake": fake.detach()}

    def take(self) -> Inputs | None:
        """G's ``z``, ``labels`` and ``fake`` from the kept fakes (handed over once), or None."""
        if self.kept is None:
            return None
        (fake, labels), self.kept = self.kept, None
        return {"z": None, "labels": labels, "fake": fake}
