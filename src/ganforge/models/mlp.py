"""Fully connected GANs on flattened images: the Keras-GAN MLP and the "simple GAN trained with fit"."""

from __future__ import annotations

import torch
from torch import nn

from ganforge.config import DataConfig, ModelConfig
from ganforge.models.registry import register_model


class MLPGenerator(nn.Module):
    """z (N, latent_dim) -> images (N, C, H, W) in [-1, 1] through Dense layers.

    Args:
        latent_dim: size of z.
        hidden: widths of the hidden Dense layers.
        image_shape: (C, H, W) of the output.
        activation: "leaky" (LeakyReLU 0.2) or "relu" after each hidden layer.
        bn_momentum: Keras-style BatchNorm momentum after each hidden layer (None = no BatchNorm).
    """

    def __init__(
        self,
        latent_dim: int,
        hidden: tuple[int, ...],
        image_shape: tuple[int, int, int],
        activation: str = "leaky",
        bn_momentum: float | None = None,
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.image_shape = image_shape
        layers: list[nn.Module] = []
        width = latent_dim
        for out in hidden:
            layers.append(nn.Linear(width, out))
            layers.append(nn.LeakyReLU(0.2) if activation == "leaky" else nn.ReLU())
            if bn_momentum is not None:
                # Keras applies BatchNormalization after the activation in Keras-GAN; Keras momentum m
                # is PyTorch momentum 1 - m.
                layers.append(nn.BatchNorm1d(out, momentum=1 - bn_momentum, eps=1e-3))
            width = out
        c, h, w = image_shape
        layers += [nn.Linear(width, c * h * w), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, *self.image_shape)  # (N, C, H, W)


class MLPDiscriminator(nn.Module):
    """images (N, C, H, W) -> flattened -> Dense + LeakyReLU 0.2 layers -> one logit (N, 1)."""

    def __init__(self, image_shape: tuple[int, int, int], hidden: tuple[int, ...]) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = image_shape[0] * image_shape[1] * image_shape[2]
        for out in hidden:
            layers += [nn.Linear(width, out), nn.LeakyReLU(0.2)]
            width = out
        layers.append(nn.Linear(width, 1))  # a logit: the sigmoid lives in the BCE-with-logits loss
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@register_model("keras-gan-mlp")
def _keras_gan_mlp(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    shape = (data.channels, data.image_size, data.image_size)
    g = MLPGenerator(model.latent_dim, (256, 512, 1024), shape, activation="leaky", bn_momentum=0.8)
    return g, MLPDiscriminator(shape, (512, 256))


@register_model("mlp-latent10")
def _mlp_latent10(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    shape = (data.channels, data.image_size, data.image_size)
    g = MLPGenerator(model.latent_dim, (128, 256), shape, activation="relu")
    return g, MLPDiscriminator(shape, (256, 128))
