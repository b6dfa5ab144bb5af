"""PacGAN's packed discriminator (Lin et al. 2018), around any family's discriminator.

D judges ``pack`` images at once, stacked along the channels: a pack of fakes from a generator that
draws too few kinds of image looks unlike a pack of reals even when each image alone looks real, so the
discriminator can punish missing modes and uneven mode frequencies, which a one-image D cannot see. The
base network is the family's own discriminator built for ``pack`` times the channels.

Every image gets its pack's output, so D's output keeps one row per image: the losses, their targets,
the relativistic pairs and the logged statistics work unchanged, and the mean over images is the mean
over packs.
"""

from __future__ import annotations

import torch
from torch import nn


class PackedDiscriminator(nn.Module):
    """D(x_1..x_N) = base(packs of ``pack`` consecutive images, channels stacked), one row per image.

    A batch that does not split into whole packs (the last, shorter batch of an epoch) completes its last
    pack with images from the start of the batch; their extra outputs are dropped.
    """

    def __init__(self, base: nn.Module, pack: int) -> None:
        super().__init__()
        self.base = base
        self.pack = pack

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        short = -n % self.pack
        if short:
            x = x[torch.arange(n + short, device=x.device) % n]
        out = self.base(x.reshape(-1, self.pack * c, h, w))  # (packs, 1)
        return out.repeat_interleave(self.pack, dim=0)[:n]  # (N, 1)


def pack_outputs(outputs: torch.Tensor, pack: int) -> torch.Tensor:
    """One row per pack from :class:`PackedDiscriminator`'s per-image rows (the first of each pack).

    A gradient penalty differentiates these: summing the per-image rows would count each pack ``pack``
    times and scale the penalty by ``pack`` squared.
    """
    return outputs[::pack]
