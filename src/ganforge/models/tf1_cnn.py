"""The TF1-style MNIST GAN: a small average-pooling CNN discriminator and a 4-layer transposed-conv generator.

Weights are drawn from a truncated normal with std 0.02 (TF1's ``truncated_normal_initializer``), biases 0.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class TF1Generator(nn.Module):
    """z (N, 100) -> reshape 2x2x25 -> ReLU -> ConvTranspose to 3x3x256, 6x6x128, 12x12x64, 28x28xC -> tanh.

    The notebook gives the shapes, not the kernels; kernels are chosen to produce exactly those shapes:
    3x3 stride 2 (2 -> 3), 4x4 stride 2 (3 -> 6, 6 -> 12), 6x6 stride 2 without padding (12 -> 28).
    """

    def __init__(self, latent_dim: int = 100, channels: int = 1) -> None:
        super().__init__()
        if latent_dim != 100:
            raise ValueError("the TF1 generator reshapes a 100-d z into 2x2x25")
        self.latent_dim = latent_dim
        self.up1 = nn.ConvTranspose2d(25, 256, 3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(256)
        self.up2 = nn.ConvTranspose2d(256, 128, 4, stride=2, padding=1)
        self.bn2 = nn.BatchNorm2d(128)
        self.up3 = nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1)
        self.bn3 = nn.BatchNorm2d(64)
        self.up4 = nn.ConvTranspose2d(64, channels, 6, stride=2)
        truncated_normal_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = F.relu(z.view(-1, 2, 2, 25).permute(0, 3, 1, 2))  # (N, 25, 2, 2), TF's channels-last reshape
        x = F.relu(self.bn1(self.up1(x)))  # (N, 256, 3, 3)
        x = F.relu(self.bn2(self.up2(x)))  # (N, 128, 6, 6)
        x = F.relu(self.bn3(self.up3(x)))  # (N, 64, 12, 12)
        return torch.tanh(self.up4(x))  # (N, C, 28, 28)


class TF1Discriminator(nn.Module):
    """(N, C, 28, 28) -> conv5x5x8, ReLU, avgpool -> conv5x5x16, ReLU, avgpool -> FC 32, ReLU -> FC 1."""

    def __init__(self, channels: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 8, 5, padding=2)
        self.conv2 = nn.Conv2d(8, 16, 5, padding=2)
        self.fc1 = nn.Linear(7 * 7 * 16, 32)
        self.fc2 = nn.Linear(32, 1)
        truncated_normal_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool2d(F.relu(self.conv1(x)), 2)  # (N, 8, 14, 14)
        x = F.avg_pool2d(F.relu(self.conv2(x)), 2)  # (N, 16, 7, 7)
        x = F.relu(self.fc1(x.flatten(1)))  # (N, 32)
        return self.fc2(x)  # (N, 1) logit


def truncated_normal_init(module: nn.Module, std: float = 0.02) -> None:
    """TF1's truncated_normal_initializer(stddev=std) on conv/linear weights (cut at 2 std), zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.trunc_normal_(m.weight, std=std, a=-2 * std, b=2 * std)
            nn.init.zeros_(m.bias)
