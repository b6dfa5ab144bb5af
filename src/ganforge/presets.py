"""Named, complete configurations: ``ganforge train DATA --preset NAME``.

Each preset is a function that returns a fresh :class:`RunConfig`, registered where it is defined with
``@preset(name, description)``; its docstring says where the original was ambiguous and what was
chosen. ``ganforge presets`` lists them. A preset states every value it relies on: the dataclass
defaults are neutral (``config/fields.py``), and ``tests/test_presets.py`` holds the tutorial presets
to their configs field by field (``tests/golden/presets.json``).

To add one: write the function here with ``@preset``, and a line in README's presets table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ganforge.config import DataConfig, ModelConfig, OptimConfig, RunConfig, ScheduleConfig, TrainConfig
from ganforge.data import natural_shape
from ganforge.errors import UserError


@dataclass(frozen=True)
class Preset:
    """A registered preset: its name, a one-line description, and the function making its config."""

    name: str
    description: str
    make: Callable[[], RunConfig]

    def config(self) -> RunConfig:
        """A fresh config, named after the preset."""
        cfg = self.make()
        cfg.preset = self.name
        return cfg


PRESETS: dict[str, Preset] = {}


def preset(name: str, description: str) -> Callable[[Callable[[], RunConfig]], Callable[[], RunConfig]]:
    """Decorator: register a function returning a :class:`RunConfig` as preset ``name``."""

    def register(make: Callable[[], RunConfig]) -> Callable[[], RunConfig]:
        if name in PRESETS:
            raise ValueError(f"preset {name!r} is registered twice")
        PRESETS[name] = Preset(name, description, make)
        return make

    return register


def _by_steps(steps: int, grid_every: int, checkpoint_every: int, **train: Any) -> TrainConfig:
    """A recipe budgeted in steps: grids and checkpoints every so many steps rather than per epoch."""
    return TrainConfig(
        steps=steps,
        sample_every=grid_every,
        checkpoint_every=None,
        checkpoint_every_steps=checkpoint_every,
        **train,
    )


def _adam(lr: float, lr_d: float | None = None, **settings: Any) -> dict[str, OptimConfig]:
    """Adam for G and D with the same settings (and D's own learning rate if ``lr_d`` is given)."""
    return {
        "g_optim": OptimConfig(lr=lr, **settings),
        "d_optim": OptimConfig(lr=lr if lr_d is None else lr_d, **settings),
    }


def _keras_adam(lr: float, lr_d: float | None = None, beta1: float = 0.9, **settings: Any) -> dict[str, Any]:
    """Adam as Keras has it: beta1 0.9 and epsilon 1e-7 unless the tutorial says otherwise."""
    return _adam(lr, lr_d, beta1=beta1, **({"eps": 1e-7} | settings))


def _tutorial_model(name: str, latent_dim: int = 100) -> ModelConfig:
    """A tutorial's fixed networks (the width knob of the convolutional families does not apply: 64)."""
    return ModelConfig(name=name, latent_dim=latent_dim, width=64)


def _twemoji64() -> DataConfig:
    return DataConfig(source="twemoji", channels=3, image_size=64)


@preset("tf-dcgan-mnist", "TF2 DCGAN tutorial, 28x28 digits: BCE, Adam 1e-4, batch 256")
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
        data=DataConfig(source="mnist", channels=1, image_size=28),
        model=_tutorial_model("tf-dcgan"),
        train=TrainConfig(
            batch_size=256,
            epochs=50,
            loss="bce",
            scheme="simultaneous",
            **_keras_adam(1e-4, keras_epsilon=True),
            checkpoint_every=1,
        ),
    )


@preset("dcgan64", "anime-faces DCGAN, 64x64 RGB folder: noisy soft labels, split D batches")
def dcgan64() -> RunConfig:
    """The 64x64 RGB DCGAN of the anime-faces tutorial, on any folder (default: Twemoji, offline).

    Fully convolutional G from a 1x1x100 noise map; D conv 64-128-256-512 + dense; BatchNorm momentum 0.5
    (Keras' sense), LeakyReLU 0.2; Adam beta1 0.5, lr 1.5e-4 (G) and 2e-4 (D); noisy soft labels, real
    in [0.8, 1] and fake in [0, 0.2], G's targets drawn like the real ones; D trained on a real batch and
    then a fake batch (two updates), then G. Grids every 100 steps, checkpoints every 500.

    Chosen here: batch 64; 3000 steps (about 48 epochs of Twemoji) so a CPU run ends in tens of minutes;
    fakes for D drawn with G in training mode (Keras' ``predict`` would use BatchNorm's moving averages).
    """
    return RunConfig(
        data=_twemoji64(),
        model=_tutorial_model("dcgan64"),
        train=_by_steps(
            3000,
            grid_every=100,
            checkpoint_every=500,
            batch_size=64,
            loss="bce",
            d_separate_batches=True,
            real_label_low=0.8,
            fake_label_high=0.2,
            **_keras_adam(1.5e-4, 2e-4, beta1=0.5, keras_epsilon=True),
        ),
    )


@preset(
    "tf1-mnist",
    "TF1 notebook: avg-pool CNN D, 2x2x25-reshape transposed-conv G (collapses, as the original does)",
)
def tf1_mnist() -> RunConfig:
    """The TF1 MNIST GAN notebook (Adit Deshpande's "Generative Adversarial Networks", TensorFlow 1).

    D: conv 5x5x8 -> ReLU -> avg-pool -> conv 5x5x16 -> ReLU -> avg-pool -> FC 32 -> ReLU -> FC 1
    (truncated normal 0.02); G: z ~ N(-1, 1) -> 2x2x25 -> ReLU -> 5x5 transposed convs to 3x3x256, 6x6x128,
    12x12x64 (BatchNorm in training mode + ReLU), 28x28x1 (tanh), truncated normal 0.1, biases 0.1 (see
    TF1Generator); sigmoid cross-entropy; TF1 Adam defaults (lr 1e-3, epsilon 1e-8); batch 16; one D and
    one G update per iteration.

    Chosen here: images in [-1, 1] like every preset (the notebook feeds [0, 1] images to a tanh
    generator); fresh noise for the G update (the notebook reuses the D update's); 6000 iterations (the
    notebook runs 3000), a grid every 500. As written it collapses to one image, and so does the notebook
    trained in TensorFlow (docs/presets.md).
    """
    return RunConfig(
        data=DataConfig(source="mnist"),
        model=_tutorial_model("tf1-cnn"),
        train=_by_steps(
            6000,
            grid_every=500,
            checkpoint_every=1000,
            batch_size=16,
            loss="bce",
            **_adam(1e-3, beta1=0.9, eps=1e-8),  # TF1 Adam's defaults
            log_every=100,
        ),
    )


@preset(
    "mlp-latent10",
    "simple GAN trained with fit: 10-d latent, MLP G and D, minimax (learns only with --loss bce)",
)
def mlp_latent10() -> RunConfig:
    """The "simple GAN trained with fit": a 10-d latent, MLP G and D, minimax loss.

    G: Dense 128 -> ReLU -> Dense 256 -> ReLU -> Dense 784 -> tanh; D: flatten -> Dense 256 -> LeakyReLU 0.2
    -> Dense 128 -> LeakyReLU 0.2 -> Dense 1 (sigmoid inside the loss). Minimax loss: D maximises
    log D(x) + log(1 - D(G(z))), G minimises log(1 - D(G(z))) (the saturating form).

    Chosen here: hidden widths 128/256, tanh output (the data is scaled to [-1, 1]), Adam 2e-4 with
    beta1 0.5, batch 128, 30 epochs, a grid every epoch. fp32: these layers are too small for bf16
    autocast to pay for its casts (measured 10% slower, docs/performance.md).
    """
    return RunConfig(
        data=DataConfig(source="mnist"),
        model=_tutorial_model("mlp-latent10", latent_dim=10),
        train=TrainConfig(
            batch_size=128,
            epochs=30,
            loss="minimax",
            **_keras_adam(2e-4, beta1=0.5),
            log_every=100,
            precision="fp32",
        ),
    )


@preset("keras-gan-mlp", "Keras-GAN MLP: Dense 256/512/1024 G with BN, half-batch D, 5x5 grid")
def keras_gan_mlp() -> RunConfig:
    """Keras-GAN's MLP GAN (eriklindernoren/Keras-GAN, gan/gan.py).

    G: Dense 256/512/1024, each LeakyReLU 0.2 then BatchNorm (momentum 0.8) -> Dense 784 -> tanh; D:
    Dense 512/256 with LeakyReLU 0.2 -> Dense 1; Adam(2e-4, beta1 0.5); BCE with the non-saturating G loss;
    D trained on half a batch of real, then half a batch of fake images (two updates); batch 32; 30000
    iterations; a 5x5 grid every 200 iterations.
    """
    return RunConfig(
        data=DataConfig(source="mnist"),
        model=_tutorial_model("keras-gan-mlp"),
        train=_by_steps(
            30000,
            grid_every=200,
            checkpoint_every=5000,
            batch_size=32,
            loss="nonsaturating",
            d_separate_batches=True,
            d_half_batch=True,
            **_keras_adam(2e-4, beta1=0.5, keras_epsilon=True),
            log_every=200,
            grid_size=5,
        ),
    )


@preset("dcgan", "modern DCGAN for any size 16-256 and channel count, with G EMA")
def dcgan() -> RunConfig:
    """A modern DCGAN default for any square size 16-256 and any channel count (Radford et al. 2016).

    Strided (transposed) convs, BatchNorm, ReLU in G and LeakyReLU 0.2 in D, N(0, 0.02) init, Adam 2e-4
    with beta1 0.5, non-saturating loss, batch 64, generator EMA (0.999) for grids and samples. Set the
    size with --image-size and the channels with --channels; default data: Twemoji at 64x64.
    """
    return RunConfig(
        data=_twemoji64(),
        model=ModelConfig(name="dcgan", latent_dim=100, width=64),
        train=_by_steps(
            3000,
            grid_every=250,
            checkpoint_every=500,
            batch_size=64,
            loss="nonsaturating",
            **_adam(2e-4, beta1=0.5, eps=1e-8),
            ema_decay=0.999,
        ),
    )


@preset(
    "sn-dcgan", "fast default for 16-64 px grayscale (digits, fashion): SN D, hinge, batch 32, fast G, EMA"
)
def sn_dcgan() -> RunConfig:
    """The fast default for small images (digits, Fashion-MNIST, 16-64 px folders): SN-DCGAN + hinge.

    Generator: Linear -> BN/ReLU -> two nearest-upsample + 3x3 conv stages -> tanh; discriminator:
    spectral norm on every layer, no BatchNorm, LeakyReLU 0.1, global sum pooling (models/sn_dcgan.py).
    Hinge loss; batch 32 (about twice the updates per minute of batch 64, which scored a worse FD on
    Stacked MNIST after 10 minutes on three seeds of three, a worse mode KL on two, and FD-mnist-cnn 14.5
    against 13.4 on digits at 5 minutes: docs/fast-recipes.md); Adam with beta1 0 and a
    generator four times faster than the discriminator (8e-4 vs 2e-4: of the rates tried, the fastest to
    FD-mnist-cnn 40); generator EMA 0.995 with the warm-up ramp (0.999 lagged the fast generator: its raw
    weights scored better than the average at 3000 steps). Class-conditional with --conditional true
    through a projection discriminator and class-conditional BatchNorm. The sweep and the measurements:
    docs/fast-recipes.md.
    """
    return RunConfig(
        data=DataConfig(source="mnist", channels=1, image_size=28),
        model=ModelConfig(name="sn-dcgan", latent_dim=64, width=32),
        train=_by_steps(
            5000,
            grid_every=200,
            checkpoint_every=1000,
            batch_size=32,
            loss="hinge",
            **_adam(8e-4, 2e-4, beta1=0.0, eps=1e-8),
            ema_decay=0.995,
            log_every=50,
        ),
    )


@preset(
    "sn-dcgan-rgb", "fast default for colour under 32 px (stacked-mnist): sn-dcgan with a slower generator"
)
def sn_dcgan_rgb() -> RunConfig:
    """The fast default for colour images under 32 px (Stacked MNIST, small colour folders).

    :func:`sn_dcgan` with the generator's Adam rate halved to 4e-4 (D stays at 2e-4). On Stacked MNIST
    after 10 minutes (three digits per image, 1000 modes) it lowered the mode KL on seed 0, where it was
    chosen (0.079 against 0.123; G at 2e-4 gave 0.107), and met the target of 1000 modes and KL <= 0.1 on
    the seeds it was not chosen on (KL 0.069, 0.061, 0.077, 0.080 on seeds 1-4, against 0.063, 0.091,
    0.089, 0.098). On grayscale digits the halved rate is slower (FD-mnist-cnn 26.0 against 13.4 at 5
    minutes), so :func:`sn_dcgan` keeps 8e-4. docs/fast-recipes.md has the runs.
    """
    cfg = sn_dcgan()
    cfg.data = DataConfig(source="stacked-mnist", channels=3, image_size=28)
    cfg.train.g_optim.lr = 4e-4
    return cfg


@preset(
    "fastgan", "colour folders 32-256 px: light FastGAN-style G (skip-layer excitation) and D, DiffAugment"
)
def fastgan() -> RunConfig:
    """Colour folders, 32-256 px, few images: a light FastGAN-style G and D with DiffAugment.

    Generator with GLU up-blocks and skip-layer excitation, discriminator with FastGAN's down blocks
    (spectral norm and BatchNorm; models/lightgan.py); hinge loss; DiffAugment color + translation on
    every image D sees (cutout too slowed the first half hour: SWD 50 without it against 100 with it at
    11 CPU minutes on Twemoji, docs/fast-recipes.md; add it with --augment for a few hundred images);
    batch 16 with a generator faster than D (Adam 5e-4 vs 2e-4, beta1 0.5) and EMA 0.995: on Twemoji
    after 30 CPU minutes, three seeds, FD-efficientnet-lite0 0.47-0.50x dcgan's, where batch 32 gave
    0.50-0.57 (docs/fast-recipes.md). Where no CUDA graph is captured, G's update reuses the fakes of
    D's update before it (reuse_fakes auto, FastGAN's own step): one G forward pass a step, 16% less CPU
    a step and, at equal CPU time on three seeds, FD 151.8 and SWD 23.8 against 167.4 and 29.6
    (docs/colour-pilots.md). Default data: Twemoji at 64x64.
    """
    train = _colour_train(batch_size=16, lr_g=5e-4, ema_decay=0.995)
    train.reuse_fakes = "auto"
    return RunConfig(
        data=_twemoji64(),
        model=ModelConfig(name="fastgan", latent_dim=128, width=16),
        train=train,
    )


@preset(
    "projected-gan",
    "colour folders 32-256 px: light G, projected D on frozen EfficientNet-Lite0 features, DiffAugment",
)
def projected_gan() -> RunConfig:
    """Colour folders: the light FastGAN-style G against a projected D on frozen EfficientNet-Lite0.

    Sauer et al. 2021: four small spectral-norm heads on fixed random mixings of the frozen ImageNet
    network's features (models/projected.py); hinge loss, DiffAugment; batch 32 with G and D at Adam
    2e-4 and EMA 0.999 (``fastgan``'s faster settings are not measured with this D, whose one
    30-CPU-minute run collapsed partly even with these). Needs the ``[rgb-metrics]`` extra (the
    network's weights). Judge it with SWD as well as FD-efficientnet-lite0: D trains on the very
    features that FD measures.
    """
    return RunConfig(
        data=_twemoji64(),
        model=ModelConfig(name="fastgan-projected", latent_dim=128, width=16),
        train=_colour_train(),
    )


@preset(
    "fastgan-dual",
    "colour folders 32-256 px: fastgan with a second, projected D on frozen EfficientNet-Lite0 features",
)
def fastgan_dual() -> RunConfig:
    """``fastgan`` with two discriminators: its own pixel D and a projected D, half the loss each.

    The pixel D keeps colours and layouts in check, the projected D (frozen EfficientNet-Lite0 features,
    models/projected.py) brings ImageNet's features, as Kumari et al. (CVPR 2022) ensemble pretrained
    networks with the usual D. DiffAugment translation only: without colour jitter the pixel D holds G
    to the data's colours (mean SWD 29.1 against 35.8 with it, equal FD, three seeds). Every other
    setting is ``fastgan``'s but the reused fakes (fresh fakes for G, as measured with this D). On
    Twemoji after 30 CPU minutes, three seeds (``fastgan`` without reused fakes then):
    FD-efficientnet-lite0 80.8-88.6 against ``fastgan``'s 95.0-106.8, SWD 23.8-36.3 against 18.4-37.5,
    in 60% of its steps (docs/fast-recipes.md); the FD lead is a head start (level with ``fastgan`` at
    60 CPU minutes on a second host, SWD still worse). FD measures the features this D trains on: judge
    it by SWD too. Needs the ``[rgb-metrics]`` extra (the network's weights).
    """
    cfg = fastgan()
    cfg.model.name = "fastgan-dual"
    cfg.train.augment = "translation"
    cfg.train.reuse_fakes = False
    return cfg


@preset(
    "r3gan",
    "R3GAN: relativistic loss with R1 + R2, normalisation-free grouped-conv ResNets, cosine schedules",
)
def r3gan() -> RunConfig:
    """R3GAN (Huang et al. 2024), compressed to a laptop budget: RpGAN + R1 + R2 and a modern ResNet.

    Loss: the relativistic pairing loss softplus(D(fake) - D(real)) with zero-centred gradient penalties
    on real (R1) and generated (R2) images, both with weight gamma; the paper applies them at every step,
    here every 4th D step with 4x the weight (lazy, as StyleGAN2): on a CPU the double backward is the
    dearest part of a step; in the pilots the lazy form (with the dense start) scored better than
    every-step penalties (with the paper's start), docs/fast-recipes.md.
    Networks: normalisation-free residual G and D with inverted-bottleneck blocks and grouped 3x3
    convolutions, Fixup-style initialisation (models/r3gan.py). Adam with beta1 0; cosine schedules over
    the run's own budget for the learning rates (to a quarter), gamma (to a tenth), Adam's beta2 (0.9 up
    to 0.99) and the EMA half-life (growing tenfold).

    Chosen here: width 16, one block per stage and batch 16 so a CPU step costs about what fastgan's
    does; DiffAugment color + translation on what D sees; G and D at 2e-4; EMA 0.999 at the end of the
    schedule. Default data: Twemoji at 64x64; any size s * 2^k from 16 to 256 (s in 4..7), 1 or 3
    channels, class-conditional with --conditional true.
    """
    return RunConfig(
        data=_twemoji64(),
        model=ModelConfig(name="r3gan", latent_dim=64, width=16),
        train=_by_steps(
            20000,
            grid_every=500,
            checkpoint_every=2000,
            batch_size=16,
            loss="rpgan",
            r1_gamma=0.05,
            r2_gamma=0.05,
            r1_every=4,
            augment="color,translation",
            **_adam(2e-4, beta1=0.0, beta2=0.99, eps=1e-8),
            ema_decay=0.999,
            schedule=ScheduleConfig(kind="cosine"),
            log_every=50,
        ),
    )


def _colour_train(batch_size: int = 32, lr_g: float = 2e-4, ema_decay: float = 0.999) -> TrainConfig:
    """The colour recipes' training: hinge, DiffAugment, Adam (D at 2e-4, beta1 0.5), EMA; 20000 steps."""
    return _by_steps(
        20000,
        grid_every=500,
        checkpoint_every=2000,
        batch_size=batch_size,
        loss="hinge",
        augment="color,translation",
        **_adam(lr_g, 2e-4, beta1=0.5, eps=1e-8),
        ema_decay=ema_decay,
        log_every=50,
    )


# What `ganforge train [DATA]` trains without --preset, by the data's colour and size (_default_name).
GRAY_DEFAULT = "sn-dcgan"
SMALL_COLOUR_DEFAULT = "sn-dcgan-rgb"
COLOUR_DEFAULT = "fastgan"
DEFAULTS_HELP = (
    f"{GRAY_DEFAULT} for grayscale up to 64 px (mnist, fashion-mnist), {SMALL_COLOUR_DEFAULT} for colour "
    f"under 32 px (stacked-mnist), {COLOUR_DEFAULT} for colour 32 px and up (twemoji) and anything larger"
)


def default_preset(source: str, channels: int | None = None, image_size: int | None = None) -> RunConfig:
    """The config ``ganforge train DATA`` starts from without ``--preset``, for that data.

    Grayscale images up to 64 px (mnist, fashion-mnist, small grayscale folders or stores) get
    :data:`GRAY_DEFAULT`; colour images under 32 px (stacked-mnist) :data:`SMALL_COLOUR_DEFAULT`; colour
    data of 32 px and up and anything larger than 64 px :data:`COLOUR_DEFAULT`. ``channels`` and
    ``image_size`` are what the user asked for; otherwise the data's own (see
    :func:`ganforge.data.natural_shape`), else the preset's. The config's ``preset`` names the choice.
    """
    natural_channels, natural_size = natural_shape(source)
    channels = channels or natural_channels
    size = image_size or natural_size
    cfg = get_preset(_default_name(channels, size))
    cfg.data.source, cfg.data.channels = source, channels
    if size:
        cfg.data.image_size = size
    return cfg


def _default_name(channels: int, size: int | None) -> str:
    """Which default preset draws ``channels`` at ``size`` (None: the data has no single size)."""
    if size is not None and size < 32:  # the colour default draws 32 px and up
        return GRAY_DEFAULT if channels == 1 else SMALL_COLOUR_DEFAULT
    return GRAY_DEFAULT if channels == 1 and (size or 28) <= 64 else COLOUR_DEFAULT


def get_preset(name: str) -> RunConfig:
    """A fresh config for preset ``name``."""
    if name not in PRESETS:
        raise UserError(f"unknown preset '{name}'; see 'ganforge presets' ({', '.join(PRESETS)})")
    return PRESETS[name].config()
