"""The registry of model families by short name: name -> builder of (generator, discriminator).

Each family file registers its own builder with :func:`register_model`; ``models/__init__.py`` imports
them all. Every generator exposes ``latent_dim``; every discriminator returns one output per image,
(N, 1). A user's own networks can be named in a config as ``"module:callable"`` (the one place a config
names code: the CLI must rebuild networks it has never seen); the callable takes the model and data
configs and returns (generator, discriminator).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from ganforge.config import DataConfig, ModelConfig
from ganforge.errors import UserError
from ganforge.models.conditional import ConditionalDiscriminator, ConditionalGenerator
from ganforge.models.packed import PackedDiscriminator
from ganforge.models.spectral import spectral_norm

Builder = Callable[[ModelConfig, DataConfig], tuple[nn.Module, nn.Module]]


@dataclass(frozen=True)
class Family:
    """A registered family.

    Attributes:
        build: the builder.
        conditional: "native" (the builder reads model.conditional / num_classes itself), "wrap" (the
            generic one-hot concatenation wrappers condition it), or a sentence saying why it cannot be.
        unpackable: why its discriminator cannot judge packs of images (``--pack``); "" if it can.
    """

    build: Builder
    conditional: str = "wrap"
    unpackable: str = ""


MODELS: dict[str, Family] = {}


def register_model(
    name: str, *, conditional: str = "wrap", unpackable: str = ""
) -> Callable[[Builder], Builder]:
    """Decorator: make a builder available under ``name`` (config ``model.name``, flag ``--model``).

    Args:
        conditional: "native", "wrap", or the reason the family cannot take labels.
        unpackable: the reason its discriminator cannot take ``pack`` times the channels ("" if it can).
    """

    def wrap(builder: Builder) -> Builder:
        MODELS[name] = Family(builder, conditional, unpackable)
        return builder

    return wrap


def require_size(name: str, data: DataConfig, size: int) -> None:
    """A family that draws one size only says so, with the flag to use."""
    if data.image_size != size:
        raise UserError(
            f"model {name} draws {size}x{size} images, not {data.image_size}x{data.image_size}; "
            f"use --image-size {size}"
        )


def build_models(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    """Instantiate the generator and discriminator a config names (spectral norm on D if asked)."""
    family = _family(model.name)
    if model.conditional and model.num_classes < 2:
        raise UserError("conditional training needs labelled data with at least 2 classes")
    if model.conditional and family.conditional not in ("native", "wrap"):
        raise UserError(f"model {model.name} cannot be class-conditional: {family.conditional}")
    if model.pack > 1:
        return _packed(family, model, data)
    if model.conditional and family.conditional == "wrap":
        generator, discriminator = _wrapped(family.build, model, data)
    else:
        generator, discriminator = family.build(model, data)
    if model.spectral_norm:
        apply_spectral_norm(discriminator)
    return generator, discriminator


def _family(name: str) -> Family:
    if name in MODELS:
        return MODELS[name]
    if ":" in name:
        return Family(_user_builder(name), "native")
    raise UserError(f"unknown model '{name}'; registered: {', '.join(sorted(MODELS))} (or 'module:callable')")


def _user_builder(name: str) -> Builder:
    """The callable ``module:attribute`` names: a user's own networks."""
    module_name, _, attribute = name.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(
            f"model '{name}' names module {module_name!r}, which cannot be imported ({exc}); install it or "
            "put its folder on PYTHONPATH"
        ) from None
    builder = getattr(module, attribute, None)
    if not callable(builder):
        raise UserError(f"model '{name}': module {module_name!r} has no callable {attribute!r}")
    return _checked(builder, name)


def _checked(builder: Builder, name: str) -> Builder:
    def build(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
        nets = builder(model, data)
        if not (isinstance(nets, tuple) and len(nets) == 2 and all(isinstance(n, nn.Module) for n in nets)):
            raise UserError(f"model '{name}' must return (generator, discriminator), two torch modules")
        return nets

    return build


def _wrapped(build: Builder, model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    k = model.num_classes
    wide_z = dataclasses.replace(model, latent_dim=model.latent_dim + k)
    generator, _ = build(wide_z, data)
    _, discriminator = build(model, dataclasses.replace(data, channels=data.channels + k))
    return ConditionalGenerator(generator, model.latent_dim, k), ConditionalDiscriminator(discriminator, k)


def _packed(family: Family, model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    """G as the family builds it; D built for ``pack`` times the channels, judging packs (PacGAN)."""
    if model.conditional:
        raise UserError("--pack needs an unconditional run: a pack of images has no single label")
    if family.unpackable:
        raise UserError(f"model {model.name} cannot judge packs of images (--pack): {family.unpackable}")
    generator, _ = family.build(model, data)
    _, base = family.build(model, dataclasses.replace(data, channels=data.channels * model.pack))
    if model.spectral_norm:
        apply_spectral_norm(base)
    return generator, PackedDiscriminator(base, model.pack)


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) on every conv and linear layer of ``module``."""
    for m in list(module.modules()):
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            spectral_norm(m)
    return module
