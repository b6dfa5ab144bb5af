"""Named, complete configurations: ``ganforge train DATA --preset NAME``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ganforge.config import DataConfig, ModelConfig, OptimConfig, RunConfig, TrainConfig
from ganforge.errors import UserError


@dataclass(frozen=True)
class Preset:
    """A preset: a one-line description and a function returning a fresh config."""

    description: str
    make: Callable[[], RunConfig]


def tf_dcgan_mnist() -> RunConfig:
    """The TensorFlow 2 DCGAN tutorial (tensorflow.org/tutorials/generative/dcgan), faithfully.

    Generator Dense(100 -> 7*7*256) + BN + LeakyReLU -> ConvTranspose 128/64/1 (5x5, tanh); discriminator
    Conv 64/128 (5x5, stride 2) + LeakyReLU + Dropout 0.3 -> Dense(1) logit; BCE from logits; Adam 1e-4
    (Keras' epsilon 1e-7) for both; batch 256; 50 epochs; both gradients from one forward pass.

    Choices where the tutorial is silent or we deviate:
    - The last batch of an epoch is partial (60000 = 234 x 256 + 96), as ``Dataset.batch`` leaves it;
      the generator draws as many fakes as there are real images in the batch (the tutorial draws 256).
    - Checkpoints every epoch (the tutorial: every 15) so a crash loses at most one epoch; 3 are kept.
    - Grids are drawn with BatchNorm in inference mode, as the tutorial's ``training=False``.
    """
    return RunConfig(
        preset="tf-dcgan-mnist",
        data=DataConfig(source="mnist", channels=1, image_size=28),
        model=ModelConfig(name="tf-dcgan", latent_dim=100),
        train=TrainConfig(
            batch_size=256,
            epochs=50,
            loss="bce",
            g_optim=OptimConfig(lr=1e-4),
            d_optim=OptimConfig(lr=1e-4),
            checkpoint_every=1,
            keep_checkpoints=3,
            grid_size=4,
        ),
    )


PRESETS: dict[str, Preset] = {
    "tf-dcgan-mnist": Preset(
        "TF2 DCGAN tutorial on 28x28 digits: BCE, Adam 1e-4, batch 256, 50 epochs", tf_dcgan_mnist
    ),
}
DEFAULT_PRESET = "tf-dcgan-mnist"


def get_preset(name: str) -> RunConfig:
    """A fresh config for preset ``name``."""
    if name not in PRESETS:
        raise UserError(f"unknown preset '{name}'; see 'ganforge presets' ({', '.join(PRESETS)})")
    return PRESETS[name].make()
