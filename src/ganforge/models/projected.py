"""Projected discriminator: small heads on frozen ImageNet features (Sauer et al., NeurIPS 2021).

"Projected GANs Converge Faster": D judges images in the feature space of a frozen pretrained network,
mixed by fixed random projections, with several small discriminators at different feature scales. The
pretrained features give D a head start: on small data it learns in thousands of steps what a D from
scratch needs far more for. Written for ganforge from the paper.

Layout for an (N, 3, s, s) image in [-1, 1] (feature sizes for s = 64):
- feature network, frozen: EfficientNet-Lite0 (ImageNet; the ``[rgb-metrics]`` extra's weights) cut after
  blocks 2, 4, 10 and 15: (24, s/4), (40, s/8), (112, s/16), (320, s/32) -> 16, 8, 4, 2 px.
- cross-channel mixing (CCM), fixed random: a 1x1 conv per scale to ``width`` channels.
- cross-scale mixing (CSM), fixed random: from the coarsest scale down, a 3x3 conv of the scale's CCM
  output plus the coarser result upsampled, so every scale also carries the coarser ones.
- heads, trained: per scale, spectral-norm down blocks with BatchNorm to 4x4 (or less) and a conv to
  one logit map.

The paper resizes every image to 224 px first; on a CPU that costs 12x the feature network's work at
64 px, so images go in at their own size here (feature maps of s/4 ... s/32).

"Frozen" means the feature network and both mixings never change: their weights have
``requires_grad=False`` (the trainer's optimiser leaves them out) and ``train()`` keeps the feature
network's BatchNorm in inference mode, so its running statistics are never updated. The output is
every head's logits side by side, (N, K): the losses average over them, as the paper's do.

Two families use it: ``fastgan-projected`` (the light G against this D alone) and ``fastgan-dual``
(the light G against this D and ``fastgan``'s pixel D together, :class:`DualDiscriminator`).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ganforge.config import DataConfig, ModelConfig
from ganforge.errors import UserError
from ganforge.models.lightgan import LightDiscriminator, LightGenerator
from ganforge.models.registry import register_model
from ganforge.models.spectral import spectral_norm
from ganforge.pretrained import load_efficientnet_lite0

# (last block index, channels) of the four feature scales of EfficientNet-Lite0
STAGES = ((2, 24), (4, 40), (10, 112), (15, 320))


class FrozenEfficientNet(nn.Module):
    """EfficientNet-Lite0 up to its last block, returning the four stage outputs; never trained."""

    def __init__(self) -> None:
        super().__init__()
        net, _ = load_efficientnet_lite0("the projected discriminator")
        self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
        self.blocks = net._blocks[: STAGES[-1][0] + 1]
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> FrozenEfficientNet:
        # Whatever the caller asks, BatchNorm stays in inference mode: its statistics are ImageNet's.
        return super().train(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        # [-1, 1] -> (pixels - 127) / 128, the input EfficientNet-Lite was trained on.
        x = self.stem(((x + 1) * 127.5 - 127) / 128)
        outs, ends = [], {end for end, _ in STAGES}
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in ends:
                outs.append(x)
        return outs


class RandomMixing(nn.Module):
    """Fixed random cross-channel (1x1) and cross-scale (3x3, coarse-to-fine) projections."""

    def __init__(self, width: int, generator: torch.Generator) -> None:
        super().__init__()
        self.ccm = nn.ModuleList([nn.Conv2d(c, width, 1) for _, c in STAGES])
        self.csm = nn.ModuleList([nn.Conv2d(width, width, 3, padding=1) for _ in STAGES])
        with torch.no_grad():
            for conv in (*self.ccm, *self.csm):
                # Kaiming-uniform like PyTorch's default, but drawn from a seeded generator: the
                # projection is part of the model and must not depend on the global RNG's state.
                bound = (6 / (conv.in_channels * conv.kernel_size[0] ** 2)) ** 0.5
                conv.weight.uniform_(-bound, bound, generator=generator)
                conv.bias.zero_()
        self.requires_grad_(False)

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        mixed = [ccm(f) for ccm, f in zip(self.ccm, feats, strict=True)]
        out: list[torch.Tensor] = [torch.empty(0)] * len(mixed)
        coarser = None
        for i in reversed(range(len(mixed))):
            x = mixed[i]
            if coarser is not None:
                x = x + F.interpolate(coarser, size=x.shape[-2:], mode="bilinear", align_corners=False)
            out[i] = coarser = self.csm[i](x)
        return out


class ScaleHead(nn.Module):
    """A small trained discriminator on one feature scale: down blocks to 4x4, then an SN conv to logits.

    Each down block is SN conv 4x4 stride 2 -> BatchNorm -> LeakyReLU 0.2, as in the paper's heads: the
    frozen features' scale is arbitrary, and without the normalisation D's logits grow to +-10 within a
    few hundred steps (measured), leaving G a saturated critic.
    """

    def __init__(self, width: int, resolution: int) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        res = resolution
        while res > 4:
            blocks += [
                spectral_norm(nn.Conv2d(width, width, 4, 2, 1)),
                nn.BatchNorm2d(width),
                nn.LeakyReLU(0.2),
            ]
            res //= 2
        self.blocks = nn.Sequential(*blocks)
        self.out = spectral_norm(nn.Conv2d(width, 1, min(res, 4)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.blocks(x)).flatten(1)  # (N, k)


class ProjectedDiscriminator(nn.Module):
    """(N, C, s, s) in [-1, 1] -> (N, K) logits of four heads on mixed frozen EfficientNet-Lite0 features.

    Args:
        channels: 1 (repeated to RGB) or 3.
        size: the image side (a power of two from 32 to 256).
        width: channels of the random projections and of each head.
        seed: seed of the fixed random projections.
    """

    def __init__(self, channels: int, size: int, width: int = 64, seed: int = 0) -> None:
        super().__init__()
        self.channels = channels
        self.features = FrozenEfficientNet()
        self.mixing = RandomMixing(width, torch.Generator().manual_seed(seed))
        resolutions = [max(size // 2 ** (i + 2), 1) for i in range(len(STAGES))]
        self.heads = nn.ModuleList([ScaleHead(width, r) for r in resolutions])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels == 1:
            x = x.expand(-1, 3, -1, -1)
        feats = self.mixing(self.features(x))
        return torch.cat([head(f) for head, f in zip(self.heads, feats, strict=True)], dim=1)


# Why the families with a projected D refuse labels and packs: the RGB network takes 3 channels.
RGB_ONLY = {
    "conditional": "its D judges images through an RGB network, which takes no label planes",
    "unpackable": "its D judges images through an RGB network, which takes one image at a time",
}


def _light_generator(name: str, model: ModelConfig, data: DataConfig) -> LightGenerator:
    """The light G of a family whose D looks through the RGB network: 1 or 3 channels only."""
    if data.channels not in (1, 3):
        raise UserError(f"model {name} judges images through an RGB network: give it 1 or 3 channels")
    return LightGenerator(model.latent_dim, data.channels, data.image_size, model.width)


@register_model("fastgan-projected", **RGB_ONLY)
def _light_projected(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    g = _light_generator("fastgan-projected", model, data)
    return g, ProjectedDiscriminator(data.channels, data.image_size, width=64)


class DualDiscriminator(nn.Module):
    """A pixel D and a projected D judging the same images, each with half the weight of the loss.

    The projected D learns fast from ImageNet features but alone lets colours and layouts drift (its
    runs' SWD was worse than ``dcgan``'s, docs/fast-recipes.md); the pixel D (``fastgan``'s) sees the
    pixels themselves. Ensembling a pretrained-feature D with the usual one is Kumari et al.'s
    "Ensembling Off-the-shelf Models for GAN Training" (CVPR 2022). The losses average over output
    columns, so the pixel D's single logit is repeated as many times as the projected D has logits:
    for every loss that is a mean over logits this is exactly half of each D's own loss. A gradient
    penalty (R1/R2, off in ``fastgan-dual``) differentiates the sum of all 2K columns, so there the
    pixel D counts K times.

    Output: (N, 2K) — the pixel logit K times, then the projected D's K logits.
    """

    def __init__(self, pixel: nn.Module, projected: ProjectedDiscriminator) -> None:
        super().__init__()
        self.pixel = pixel
        self.projected = projected

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature_logits = self.projected(x)  # (N, K)
        pixel_logit = self.pixel(x)  # (N, 1)
        return torch.cat([pixel_logit.expand(-1, feature_logits.shape[1]), feature_logits], dim=1)


@register_model("fastgan-dual", **RGB_ONLY)
def _light_dual(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    g = _light_generator("fastgan-dual", model, data)
    pixel = LightDiscriminator(data.channels, data.image_size, model.width)
    return g, DualDiscriminator(pixel, ProjectedDiscriminator(data.channels, data.image_size, width=64))
