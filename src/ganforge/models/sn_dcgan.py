"""SN-DCGAN for small images (16-64 px): the fast default for digits, Fashion-MNIST and small folders.

A compact convolutional generator with BatchNorm, and a discriminator with spectral normalisation on
every layer and no BatchNorm (Miyato et al. 2018, "standard CNN", slimmed for a laptop CPU). Trained with
the hinge loss, TTUR learning rates and a generator EMA by the ``sn-dcgan`` preset.

Class-conditional runs use a projection discriminator (Miyato & Koyama 2018): D(x, y) = psi(h) +
<embed(y), h>, and a generator whose BatchNorm scale and shift depend on the class (conditional BN).
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.config import DataConfig, ModelConfig
from ganforge.models.registry import register_model
from ganforge.models.spectral import spectral_norm
from ganforge.models.upconv import UpsampleConv2d


def check_size(size: int) -> None:
    """Sizes this family draws: a multiple of 4 from 16 to 64 (two upsamplings from size / 4)."""
    if size % 4 or not 16 <= size <= 64:
        from ganforge.errors import UserError

        raise UserError(f"model sn-dcgan draws sizes that are multiples of 4 from 16 to 64, not {size}")


class ConditionalBatchNorm(nn.Module):
    """BatchNorm without its own affine part; scale and shift come from the class (1 + gamma_y, beta_y)."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.embed = nn.Embedding(num_classes, 2 * channels)
        nn.init.zeros_(self.embed.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # Class weights (N, K) blend the classes' scales and shifts: a walk between classes.
        rows = (
            labels.to(self.embed.weight.dtype) @ self.embed.weight if labels.ndim == 2 else self.embed(labels)
        )
        gamma, beta = rows[:, :, None, None].chunk(2, dim=1)
        return self.bn(x) * (1 + gamma) + beta


class SNDCGANGenerator(nn.Module):
    """z (N, latent_dim) -> Linear -> (N, 4w, s/4, s/4) -> 2x [upsample, conv 3x3, BN, ReLU] -> conv -> tanh.

    Nearest-neighbour upsampling followed by a 3x3 convolution instead of learned transposed
    convolutions: no checkerboard artefacts on thin strokes. Both run as one stride-2 transposed conv
    with a kernel tied to the 3x3 one (models/upconv.py): the same function with 4/9 of the products.
    """

    def __init__(self, latent_dim: int, channels: int, size: int, width: int = 64, num_classes: int = 0):
        super().__init__()
        check_size(size)
        self.latent_dim = latent_dim
        self.start = size // 4
        self.width = width
        if num_classes:
            self.num_classes = num_classes  # the trainer passes labels when this attribute exists
        w4, w2 = 4 * width, 2 * width
        self.fc = nn.Linear(latent_dim, w4 * self.start**2)
        self.norms = nn.ModuleList([self._norm(c, num_classes) for c in (w4, w2, width)])
        self.conv1 = UpsampleConv2d(w4, w2)
        self.conv2 = UpsampleConv2d(w2, width)
        self.out = nn.Conv2d(width, channels, 3, padding=1)

    @staticmethod
    def _norm(channels: int, num_classes: int) -> nn.Module:
        return ConditionalBatchNorm(channels, num_classes) if num_classes else nn.BatchNorm2d(channels)

    def _bn(self, i: int, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        norm = self.norms[i]
        return torch.relu(norm(x, labels) if labels is not None else norm(x))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        x = self.fc(z).view(z.shape[0], 4 * self.width, self.start, self.start)  # (N, 4w, s/4, s/4)
        x = self._bn(0, x, labels)
        x = self._bn(1, self.conv1(x), labels)  # (N, 2w, s/2, s/2)
        x = self._bn(2, self.conv2(x), labels)  # (N, w, s, s)
        return torch.tanh(self.out(x))  # (N, C, s, s)


class SNDCGANDiscriminator(nn.Module):
    """(N, C, s, s) -> SN conv 3x3 / 4x4 stride 2 pairs (w, 2w) -> SN conv 3x3 4w -> sum-pool -> SN linear.

    LeakyReLU 0.1 and no BatchNorm (spectral normalisation bounds each layer instead). Global sum pooling
    makes the head independent of the image size. With ``num_classes`` the output adds the projection
    <embed(y), h>.
    """

    def __init__(self, channels: int, size: int, width: int = 64, num_classes: int = 0) -> None:
        super().__init__()
        check_size(size)
        w2, w4 = 2 * width, 4 * width
        self.features = nn.Sequential(
            spectral_norm(nn.Conv2d(channels, width, 3, padding=1)),
            nn.LeakyReLU(0.1),
            spectral_norm(nn.Conv2d(width, w2, 4, stride=2, padding=1)),  # (N, 2w, s/2, s/2)
            nn.LeakyReLU(0.1),
            spectral_norm(nn.Conv2d(w2, w2, 3, padding=1)),
            nn.LeakyReLU(0.1),
            spectral_norm(nn.Conv2d(w2, w4, 4, stride=2, padding=1)),  # (N, 4w, s/4, s/4)
            nn.LeakyReLU(0.1),
            spectral_norm(nn.Conv2d(w4, w4, 3, padding=1)),
            nn.LeakyReLU(0.1),
        )
        self.head = spectral_norm(nn.Linear(w4, 1))
        if num_classes:
            self.num_classes = num_classes
            self.embed = spectral_norm(nn.Embedding(num_classes, w4))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x).sum(dim=(2, 3))  # (N, 4w)
        out = self.head(h)  # (N, 1)
        if labels is not None:
            out = out + (self.embed(labels) * h).sum(dim=1, keepdim=True)
        return out


@register_model("sn-dcgan", conditional="native")
def _sn_dcgan(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    k = model.num_classes if model.conditional else 0
    g = SNDCGANGenerator(model.latent_dim, data.channels, data.image_size, model.width, k)
    return g, SNDCGANDiscriminator(data.channels, data.image_size, model.width, k)
