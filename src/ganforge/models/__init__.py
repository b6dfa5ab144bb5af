"""Registry of model families by short name: name -> builder of (generator, discriminator).

Every generator exposes ``latent_dim``; every discriminator returns one output per image, (N, 1).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from torch import nn

from ganforge.config import DataConfig, ModelConfig
from ganforge.errors import UserError
from ganforge.models.conditional import ConditionalDiscriminator, ConditionalGenerator
from ganforge.models.dcgan import DCGAN64Discriminator, DCGAN64Generator, DCGANDiscriminator, DCGANGenerator
from ganforge.models.lightgan import LightDiscriminator, LightGenerator
from ganforge.models.mlp import MLPDiscriminator, MLPGenerator
from ganforge.models.projected import ProjectedDiscriminator
from ganforge.models.sn_dcgan import SNDCGANDiscriminator, SNDCGANGenerator
from ganforge.models.tf1_cnn import TF1Discriminator, TF1Generator
from ganforge.models.tf_dcgan import TFDCGANDiscriminator, TFDCGANGenerator

Builder = Callable[[ModelConfig, DataConfig], tuple[nn.Module, nn.Module]]
MODELS: dict[str, Builder] = {}
# Families that build their own class-conditional networks from model.num_classes (a projection D, say);
# every other family is conditioned by the generic concatenation wrappers.
NATIVE_CONDITIONAL: set[str] = set()


def register_model(name: str, *, conditional: bool = False) -> Callable[[Builder], Builder]:
    """Decorator: make a builder available under ``name`` (config ``model.name``).

    ``conditional=True``: the builder reads ``model.conditional`` / ``model.num_classes`` itself.
    """

    def wrap(builder: Builder) -> Builder:
        MODELS[name] = builder
        if conditional:
            NATIVE_CONDITIONAL.add(name)
        return builder

    return wrap


def _require_size(name: str, data: DataConfig, size: int) -> None:
    if data.image_size != size:
        raise UserError(
            f"model {name} draws {size}x{size} images, not {data.image_size}x{data.image_size}; "
            f"use --image-size {size}"
        )


@register_model("tf-dcgan")
def _tf_dcgan(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    _require_size("tf-dcgan", data, 28)
    return TFDCGANGenerator(model.latent_dim, data.channels), TFDCGANDiscriminator(data.channels)


@register_model("tf1-cnn")
def _tf1_cnn(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    _require_size("tf1-cnn", data, 28)
    if model.latent_dim != 100:
        raise UserError("model tf1-cnn reshapes z into 2x2x25, so latent_dim must be 100")
    return TF1Generator(model.latent_dim, data.channels), TF1Discriminator(data.channels)


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


@register_model("dcgan64")
def _dcgan64(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    _require_size("dcgan64", data, 64)
    return DCGAN64Generator(model.latent_dim, data.channels), DCGAN64Discriminator(data.channels)


@register_model("dcgan")
def _dcgan(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    size = data.image_size
    if size not in (16, 32, 64, 128, 256):
        raise UserError(f"model dcgan needs an image size that is a power of two from 16 to 256, not {size}")
    g = DCGANGenerator(model.latent_dim, data.channels, size, model.width)
    return g, DCGANDiscriminator(data.channels, size, model.width)


@register_model("sn-dcgan", conditional=True)
def _sn_dcgan(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    k = model.num_classes if model.conditional else 0
    g = SNDCGANGenerator(model.latent_dim, data.channels, data.image_size, model.width, k)
    return g, SNDCGANDiscriminator(data.channels, data.image_size, model.width, k)


@register_model("fastgan")
def _light(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    g = LightGenerator(model.latent_dim, data.channels, data.image_size, model.width)
    return g, LightDiscriminator(data.channels, data.image_size, model.width)


@register_model("fastgan-projected")
def _light_projected(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    if data.channels not in (1, 3):
        raise UserError("model fastgan-projected judges images through an RGB network: it is not conditional")
    g = LightGenerator(model.latent_dim, data.channels, data.image_size, model.width)
    return g, ProjectedDiscriminator(data.channels, data.image_size, width=64)


def build_models(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    """Instantiate the generator and discriminator a config names (spectral norm on D if asked)."""
    if model.name not in MODELS:
        raise UserError(f"unknown model '{model.name}'; registered: {', '.join(sorted(MODELS))}")
    if model.conditional and model.num_classes < 2:
        raise UserError("conditional training needs labelled data with at least 2 classes")
    if model.conditional and model.name not in NATIVE_CONDITIONAL:
        generator, discriminator = _conditional(model, data)
    else:
        generator, discriminator = MODELS[model.name](model, data)
    if model.spectral_norm:
        apply_spectral_norm(discriminator)
    return generator, discriminator


def _conditional(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    k = model.num_classes
    if model.name == "tf1-cnn":
        raise UserError("model tf1-cnn reshapes exactly 100 noise values, so it cannot take a label too")
    builder = MODELS[model.name]
    wide_z = dataclasses.replace(model, latent_dim=model.latent_dim + k)
    generator, _ = builder(wide_z, data)
    _, discriminator = builder(model, dataclasses.replace(data, channels=data.channels + k))
    return ConditionalGenerator(generator, model.latent_dim, k), ConditionalDiscriminator(discriminator, k)


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) on every conv and linear layer of ``module``."""
    for m in list(module.modules()):
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.utils.parametrizations.spectral_norm(m)
    return module
