"""Registry of model families by short name: name -> builder of (generator, discriminator)."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ganforge.config import DataConfig, ModelConfig
from ganforge.errors import UserError
from ganforge.models.tf_dcgan import TFDCGANDiscriminator, TFDCGANGenerator

Builder = Callable[[ModelConfig, DataConfig], tuple[nn.Module, nn.Module]]
MODELS: dict[str, Builder] = {}


def register_model(name: str) -> Callable[[Builder], Builder]:
    """Decorator: make a builder available under ``name`` (config ``model.name``)."""

    def wrap(builder: Builder) -> Builder:
        MODELS[name] = builder
        return builder

    return wrap


@register_model("tf-dcgan")
def _tf_dcgan(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    if data.image_size != 28:
        raise UserError(
            f"model tf-dcgan draws 28x28 images, not {data.image_size}x{data.image_size}; use --image-size 28"
        )
    return TFDCGANGenerator(model.latent_dim, data.channels), TFDCGANDiscriminator(data.channels)


def build_models(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    """Instantiate the generator and discriminator a config names."""
    if model.name not in MODELS:
        raise UserError(f"unknown model '{model.name}'; registered: {', '.join(sorted(MODELS))}")
    return MODELS[model.name](model, data)
