"""DCGAN family: the 64x64 anime-faces tutorial network and a paper-style DCGAN sized from the data."""

from __future__ import annotations

import itertools

import torch
from torch import nn

from ganforge.config import DataConfig, ModelConfig
from ganforge.models.inits import keras_init
from ganforge.models.registry import register_model, require_size
from ganforge.models.sizes import pyramid


class DCGAN64Generator(nn.Module):
    """z (N, latent_dim) as a 1x1 noise map -> (N, C, 64, 64) in [-1, 1].

    ConvTranspose 512 (4x4 valid) -> 256 -> 128 -> 64 (4x4 stride 2) -> Conv 64 (3x3) -> ConvTranspose C
    (4x4 stride 2) -> tanh, BatchNorm (Keras momentum 0.5) + LeakyReLU 0.2 between. Keras "same" padding
    for 4x4 stride-2 layers is symmetric (1 each side), which padding=1 reproduces exactly.
    """

    def __init__(self, latent_dim: int = 100, channels: int = 3) -> None:
        super().__init__()
        self.latent_dim = latent_dim

        def up(cin: int, cout: int, **kw) -> list[nn.Module]:
            return [
                nn.ConvTranspose2d(cin, cout, 4, **kw),
                nn.BatchNorm2d(cout, momentum=0.5, eps=1e-3),
                nn.LeakyReLU(0.2),
            ]

        self.net = nn.Sequential(
            *up(latent_dim, 512, stride=1, padding=0),  # (N, 512, 4, 4)
            *up(512, 256, stride=2, padding=1),  # (N, 256, 8, 8)
            *up(256, 128, stride=2, padding=1),  # (N, 128, 16, 16)
            *up(128, 64, stride=2, padding=1),  # (N, 64, 32, 32)
            nn.Conv2d(64, 64, 3, padding=1),
            nn.BatchNorm2d(64, momentum=0.5, eps=1e-3),
            nn.LeakyReLU(0.2),  # (N, 64, 32, 32)
            nn.ConvTranspose2d(64, channels, 4, stride=2, padding=1),  # (N, C, 64, 64)
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))


class DCGAN64Discriminator(nn.Module):
    """(N, C, 64, 64) -> Conv 64/128/256/512 (4x4 stride 2; BN after all but the first) -> Dense -> logit."""

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        widths = [channels, 64, 128, 256, 512]
        for i, (cin, cout) in enumerate(itertools.pairwise(widths)):
            layers.append(nn.Conv2d(cin, cout, 4, stride=2, padding=1))
            if i:
                layers.append(nn.BatchNorm2d(cout, momentum=0.5, eps=1e-3))
            layers.append(nn.LeakyReLU(0.2))
        self.features = nn.Sequential(*layers)  # (N, 512, 4, 4)
        self.fc = nn.Linear(512 * 4 * 4, 1)
        keras_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).flatten(1))  # (N, 1)


class DCGANGenerator(nn.Module):
    """Radford et al. (2016): z -> s0 x s0 -> doubling stages -> (N, C, size, size); BN + ReLU, tanh output.

    s0 is 4 for powers of two (the paper's pyramid) and 7 for 28 px (models/sizes.py).
    """

    def __init__(self, latent_dim: int, channels: int, size: int, width: int = 64) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        resolutions = pyramid(size, "dcgan")
        stages = len(resolutions) - 1  # s0 -> size
        chans = [min(width * 2 ** (stages - 1 - i), 512) for i in range(stages)]
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, chans[0], resolutions[0], 1, 0, bias=False),
            nn.BatchNorm2d(chans[0]),
            nn.ReLU(True),
        ]
        for cin, cout in itertools.pairwise(chans):
            layers += [
                nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(True),
            ]
        layers += [nn.ConvTranspose2d(chans[-1], channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))  # (N, C, size, size)


class DCGANDiscriminator(nn.Module):
    """Mirror of :class:`DCGANGenerator`: strided convs, BN (not the first), LeakyReLU 0.2, 4x4 -> logit."""

    def __init__(self, channels: int, size: int, width: int = 64) -> None:
        super().__init__()
        resolutions = pyramid(size, "dcgan")
        stages = len(resolutions) - 1
        chans = [min(width * 2**i, 512) for i in range(stages)]
        layers: list[nn.Module] = [nn.Conv2d(channels, chans[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for cin, cout in itertools.pairwise(chans):
            layers += [
                nn.Conv2d(cin, cout, 4, 2, 1, bias=False),
                nn.BatchNorm2d(cout),
                nn.LeakyReLU(0.2, True),
            ]
        layers.append(nn.Conv2d(chans[-1], 1, resolutions[0], 1, 0))  # (N, 1, 1, 1)
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten(1)  # (N, 1)


def dcgan_init(module: nn.Module) -> None:
    """The DCGAN paper's initialisation: conv weights N(0, 0.02), BatchNorm weights N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


@register_model("dcgan64")
def _dcgan64(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    require_size("dcgan64", data, 64)
    return DCGAN64Generator(model.latent_dim, data.channels), DCGAN64Discriminator(data.channels)


@register_model("dcgan")
def _dcgan(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    size = data.image_size
    g = DCGANGenerator(model.latent_dim, data.channels, size, model.width)
    return g, DCGANDiscriminator(data.channels, size, model.width)
