"""A light FastGAN-style generator and discriminator for 32-256 px colour images (Liu et al., ICLR 2021).

Written for ganforge from the paper ("Towards Faster and Stabilized GAN Training for High-fidelity
Few-shot Image Synthesis"): the generator's upsampling blocks use GLU gating and BatchNorm, and
*skip-layer excitation* (SLE) lets a 4x4 / 8x8 feature map gate the channels of the 4x-8x larger maps
through a cheap squeeze path, so coarse structure steers fine detail without long residual paths.

The discriminator keeps FastGAN's down-sampling blocks (a strided conv path plus an average-pool
shortcut) with spectral normalisation and BatchNorm; FastGAN's auxiliary self-supervised decoders are
left out (DiffAugment does the regularising here, and they double D's cost on a CPU).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganforge.config import DataConfig, ModelConfig
from ganforge.errors import UserError
from ganforge.models.registry import register_model
from ganforge.models.spectral import spectral_norm
from ganforge.models.upconv import UpsampleConv2d

SIZES = (32, 64, 128, 256)


def check_size(name: str, size: int) -> None:
    """Sizes the light families draw: 32, 64, 128 or 256."""
    if size not in SIZES:
        raise UserError(
            f"model {name} draws {', '.join(map(str, SIZES))} px images, not {size}; use --image-size"
        )


def channel_plan(size: int, width: int) -> dict[int, int]:
    """Channels at each resolution from 4 up to ``size``: 8w up to 8x8, then halving as maps double."""
    res, plan = 4, {}
    while res <= size:
        plan[res] = max(min(8 * width, 64 * width // res), 8)
        res *= 2
    return plan


class GLU(nn.Module):
    """Gated linear unit over channels: the first half times the sigmoid of the second."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
            # Half the channels of a channels-last map is strided, and the CPU's sigmoid leaves its
            # vector path on it: this copy makes fastgan's step 3% faster (docs/performance.md). The
            # same values in bf16 (autocast's case); in fp32 the last bit may differ.
            b = b.contiguous(memory_format=torch.channels_last)
        return a * torch.sigmoid(b)


class UpBlock(nn.Module):
    """(N, cin, s, s) -> nearest 2x -> conv 3x3 to 2*cout -> BN -> GLU -> (N, cout, 2s, 2s).

    The upsampling and the conv run as one transposed conv with the same function (models/upconv.py):
    about half of ``fastgan``'s step went to these convs on a CPU, and that form does 4/9 of their work.
    """

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = UpsampleConv2d(cin, 2 * cout, bias=False)
        self.bn = nn.BatchNorm2d(2 * cout)
        self.glu = GLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.glu(self.bn(self.conv(x)))


class SkipExcitation(nn.Module):
    """SLE: pool the small map to 4x4, conv 4x4 -> LeakyReLU -> conv 1x1 -> sigmoid: one gate per channel."""

    def __init__(self, c_small: int, c_big: int) -> None:
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(4),
            nn.Conv2d(c_small, c_big, 4, bias=False),  # (N, c_big, 1, 1)
            nn.LeakyReLU(0.1),
            nn.Conv2d(c_big, c_big, 1, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, small: torch.Tensor, big: torch.Tensor) -> torch.Tensor:
        return big * self.gate(small)


class LightGenerator(nn.Module):
    """z (N, latent_dim) -> ConvTranspose 4x4 -> UpBlocks 8 ... size, SLE from 4->32, 8->64, 16->128,
    32->256 (those that exist) -> conv 3x3 -> tanh -> (N, C, size, size)."""

    def __init__(self, latent_dim: int, channels: int, size: int, width: int = 32) -> None:
        super().__init__()
        check_size("light", size)
        self.latent_dim = latent_dim
        plan = channel_plan(size, width)
        self.init = nn.Sequential(
            nn.ConvTranspose2d(latent_dim, 2 * plan[4], 4, bias=False),  # (N, 2*c4, 4, 4)
            nn.BatchNorm2d(2 * plan[4]),
            GLU(),
        )
        self.ups = nn.ModuleDict({str(r): UpBlock(plan[r // 2], plan[r]) for r in plan if r > 4})
        self.sle = nn.ModuleDict({str(r): SkipExcitation(plan[r // 8], plan[r]) for r in plan if r >= 32})
        self.to_rgb = nn.Conv2d(plan[size], channels, 3, padding=1)
        self.size = size

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        feats = {4: self.init(z.view(z.shape[0], -1, 1, 1))}
        res = 4
        while res < self.size:
            res *= 2
            x = self.ups[str(res)](feats[res // 2])
            feats[res] = self.sle[str(res)](feats[res // 8], x) if str(res) in self.sle else x
        return torch.tanh(self.to_rgb(feats[self.size]))


class DownBlock(nn.Module):
    """FastGAN's down block: (SN conv 4x4 stride 2 -> BN -> LeakyReLU) averaged with (avg-pool -> SN conv
    1x1 -> BN -> LeakyReLU).

    The BatchNorm matters: with spectral norm alone every layer is 1-Lipschitz and the averaging shrinks
    activations further, so D's outputs stayed near 0 and its hinge loss at 2.0 (chance) for the first
    750 steps on twemoji (measured); FastGAN's D has both.
    """

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            spectral_norm(nn.Conv2d(cin, cout, 4, 2, 1, bias=False)), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2)
        )
        self.skip = nn.Sequential(
            nn.AvgPool2d(2),
            spectral_norm(nn.Conv2d(cin, cout, 1, bias=False)),
            nn.BatchNorm2d(cout),
            nn.LeakyReLU(0.2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.main(x) + self.skip(x)) / 2


class LightDiscriminator(nn.Module):
    """(N, C, size, size) -> SN conv 3x3 -> DownBlocks to 4x4 -> SN conv 4x4 -> (N, 1) logit."""

    def __init__(self, channels: int, size: int, width: int = 32) -> None:
        super().__init__()
        check_size("light", size)
        plan = channel_plan(size, width)
        self.stem = nn.Sequential(
            spectral_norm(nn.Conv2d(channels, plan[size], 3, padding=1)), nn.LeakyReLU(0.2)
        )
        blocks = [DownBlock(plan[r], plan[r // 2]) for r in sorted(plan, reverse=True) if r > 4]
        self.blocks = nn.Sequential(*blocks)  # (N, c4, 4, 4)
        self.head = spectral_norm(nn.Conv2d(plan[4], 1, 4))
        self.depth = int(math.log2(size)) - 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x))).flatten(1)  # (N, 1)


@register_model("fastgan")
def _light(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    g = LightGenerator(model.latent_dim, data.channels, data.image_size, model.width)
    return g, LightDiscriminator(data.channels, data.image_size, model.width)
