"""The TensorFlow 2 DCGAN tutorial's networks (tensorflow.org/tutorials/generative/dcgan), faithfully.

Keras defaults that differ from PyTorch's are matched: LeakyReLU slope 0.3, BatchNorm momentum 0.99 in
Keras' sense (0.01 in PyTorch's) with epsilon 1e-3, Glorot-uniform kernels, zero biases. Keras "same"
padding is asymmetric for stride-2 layers with a 5x5 kernel (1 before, 2 after); it is reproduced
exactly so every output pixel sees the same inputs as in TensorFlow.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ganforge.config import DataConfig, ModelConfig
from ganforge.models.dropout import FastDropout
from ganforge.models.inits import keras_init
from ganforge.models.registry import register_model, require_size
from ganforge.models.tf_same import crop, same_pad

KERAS_LEAKY_SLOPE = 0.3
KERAS_BN = {"momentum": 0.01, "eps": 1e-3}


class TFDCGANGenerator(nn.Module):
    """z (N, latent_dim) -> images (N, channels, 28, 28) in [-1, 1]."""

    def __init__(self, latent_dim: int = 100, channels: int = 1) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.fc = nn.Linear(latent_dim, 7 * 7 * 256, bias=False)
        self.bn0 = nn.BatchNorm1d(7 * 7 * 256, **KERAS_BN)
        self.up1 = nn.ConvTranspose2d(256, 128, 5, stride=1, padding=2, bias=False)
        self.bn1 = nn.BatchNorm2d(128, **KERAS_BN)
        # padding=1 puts TF's one-before/two-after alignment in place; the extra last row/col is cropped.
        self.up2 = nn.ConvTranspose2d(128, 64, 5, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64, **KERAS_BN)
        self.up3 = nn.ConvTranspose2d(64, channels, 5, stride=2, padding=1, bias=False)
        keras_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.bn0(self.fc(z)), KERAS_LEAKY_SLOPE)
        x = x.view(-1, 7, 7, 256).permute(0, 3, 1, 2)  # Keras reshapes channels-last: (N, 256, 7, 7)
        x = F.leaky_relu(self.bn1(self.up1(x)), KERAS_LEAKY_SLOPE)  # (N, 128, 7, 7)
        x = crop(self.up2(x), 14)  # (N, 64, 14, 14)
        x = F.leaky_relu(self.bn2(x), KERAS_LEAKY_SLOPE)
        x = crop(self.up3(x), 28)  # (N, channels, 28, 28)
        return torch.tanh(x)


class TFDCGANDiscriminator(nn.Module):
    """images (N, channels, 28, 28) -> one logit per image (N, 1)."""

    def __init__(self, channels: int = 1, dropout: float = 0.3) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 64, 5, stride=2)
        self.conv2 = nn.Conv2d(64, 128, 5, stride=2)
        self.drop = FastDropout(dropout)
        self.fc = nn.Linear(128 * 7 * 7, 1)
        keras_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(F.leaky_relu(self.conv1(same_pad(x)), KERAS_LEAKY_SLOPE))  # (N, 64, 14, 14)
        x = self.drop(F.leaky_relu(self.conv2(same_pad(x)), KERAS_LEAKY_SLOPE))  # (N, 128, 7, 7)
        # Keras flattens channels-last; matching the order keeps Dense weights interchangeable.
        return self.fc(x.permute(0, 2, 3, 1).flatten(1))  # (N, 1)


@register_model("tf-dcgan")
def _tf_dcgan(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    require_size("tf-dcgan", data, 28)
    return TFDCGANGenerator(model.latent_dim, data.channels), TFDCGANDiscriminator(data.channels)
