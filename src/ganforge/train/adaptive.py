"""The augmentation strength p, fixed or tuned on the fly as StyleGAN2-ADA describes (Karras et al. 2020).

Written from the paper's equations: after every D update the sign of D's outputs on the real images
is accumulated; every ``INTERVAL`` updates the overfitting signal r_t = E[sign(D(x_real))] is compared
with a target, and p moves by sign(r_t - target) * (images seen) / ``ramp_images``, clipped to [0, 1].
A discriminator that grows sure of the training images (r_t above the target) gets more augmentation.

With a relativistic loss D's outputs are defined only up to a shift, so the signal there is
E[sign(D(x_real) - D(x_fake))] over the real/fake pairs it scores: how often D ranks a real image
above its fake partner, the same notion of D being too sure of the training set.

Everything stays on the device (no host sync per step); p, the running sums and the update count are
in every checkpoint, so a resumed run continues exactly where it was.
"""

from __future__ import annotations

import torch

from ganforge.config import TrainConfig
from ganforge.train import distributed

INTERVAL = 4  # D updates between adjustments (the ADA paper's)


class AugmentStrength:
    """p for a gated augmentation: a 0-d device tensor that the update functions read.

    Args:
        cfg: ``augment_p`` (a number, or "auto"), ``augment_target`` and ``augment_ramp_images``.
        relativistic: the loss scores real/fake pairs (see the module docstring).
        device: where p and the sums live.
    """

    def __init__(self, cfg: TrainConfig, relativistic: bool, device: torch.device) -> None:
        self.adaptive = cfg.augment_p == "auto"
        self.target = cfg.augment_target
        self.ramp_images = cfg.augment_ramp_images
        self.relativistic = relativistic
        start = 0.0 if self.adaptive else float(cfg.augment_p)
        self.p = torch.full((), start, device=device)
        self._signs = torch.zeros((), device=device)
        self._count = torch.zeros((), device=device)
        self._images = 0
        self._updates = 0

    @torch.no_grad()
    def observe(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> None:
        """Take note of one D update's outputs; adjust p every ``INTERVAL`` updates."""
        if not self.adaptive:
            return
        scores = real_out.float() - fake_out.float() if self.relativistic else real_out.float()
        self._signs += scores.sign().sum()
        self._count += scores.numel()
        self._images += real_out.shape[0] * distributed.size()
        self._updates += 1
        if self._updates % INTERVAL == 0:
            self._adjust()

    def _adjust(self) -> None:
        sums = distributed.mean_over_ranks({"signs": self._signs, "count": self._count})
        r_t = sums["signs"] / sums["count"].clamp(min=1)
        step = self._images / self.ramp_images
        self.p.copy_((self.p + torch.sign(r_t - self.target) * step).clamp(0.0, 1.0))
        self._signs.zero_()
        self._count.zero_()
        self._images = 0

    def state_dict(self) -> dict:
        """p, the running sums and the update count."""
        return {
            "p": self.p.detach().cpu(),
            "signs": self._signs.detach().cpu(),
            "count": self._count.detach().cpu(),
            "images": self._images,
            "updates": self._updates,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.p.copy_(state["p"])
        self._signs.copy_(state["signs"])
        self._count.copy_(state["count"])
        self._images = int(state["images"])
        self._updates = int(state["updates"])
