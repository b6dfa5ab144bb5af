"""The run configuration's dataclasses: every setting, its default, its command-line flag and its help.

This is the one home of a setting. ``ganforge train``'s flags are generated from these fields
(``ganforge/commands/flags.py``): a new setting is one :func:`setting` here, plus the code that reads it.
A field without a flag says why (``flag=None, why=...``); ``tests/test_config.py`` checks both.

Defaults are neutral where a field has no natural value, and otherwise the default recipe's
(``sn-dcgan`` on MNIST); every preset states what it relies on (``presets.py``).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ganforge.config.reader import build, read_json_object
from ganforge.fileio import write_atomic

Scheme = Literal["simultaneous", "alternating"]
Precision = Literal["auto", "fp32", "bf16"]
LossName = Literal["bce", "nonsaturating", "minimax", "lsgan", "hinge", "wgan-gp", "rpgan"]
ScheduleKind = Literal["constant", "cosine"]
Auto = Literal["auto"]


def setting(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    flag: str | None = "",
    why: str = "",
    factory: Any = None,
) -> Any:
    """A config field with its help and flag.

    Args:
        help: one line for ``--help`` (and this file's reader).
        flag: the flag's name; "" derives it from the field's path (``train.batch_size`` ->
            ``--batch-size``, ``train.g_optim.lr`` -> ``--lr-g``); None: no flag, and ``why`` says why.
        factory: a default factory (nested dataclasses) instead of ``default``.
    """
    meta = {"help": help, "flag": flag, "why": why}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclass
class DataConfig:
    """Where the training images come from and how they are shaped."""

    source: str = setting(
        "mnist", help="mnist, fashion-mnist, stacked-mnist, twemoji, a folder or a prepared store",
        flag=None, why="the train command's positional DATA argument",
    )  # fmt: skip
    split: str = setting("train", help="train or test (built-in datasets)")
    data_dir: str | None = setting(None, help="folder holding the idx files of mnist / fashion-mnist")
    channels: int = setting(1, help="1 (grayscale) or 3 (RGB); image folders are converted")
    image_size: int = setting(28, help="square image side the model draws; folders are resized to it")
    limit: int | None = setting(None, help="use only the first N images (quick trials, tests)")


@dataclass
class ModelConfig:
    """Which generator/discriminator family, and its few knobs."""

    name: str = setting(
        "sn-dcgan",
        help="model family: a registered name (ganforge presets, models/) or your own 'module:callable'",
        flag="--model",
    )
    latent_dim: int = setting(64, help="size of the noise vector")
    width: int = setting(32, help="base channel count of the convolutional families")
    spectral_norm: bool = setting(False, help="spectral normalisation on every discriminator layer")
    conditional: bool = setting(False, help="class-conditional G and D (labelled data)")
    pack: int = setting(1, help="PacGAN: D judges packs of N images at once (2 counters mode collapse)")
    num_classes: int = setting(
        0, help="classes of a conditional run", flag=None, why="set from the data's classes at the start"
    )


@dataclass
class OptimConfig:
    """Adam settings for one network (flags end in -g or -d)."""

    lr: float = setting(2e-4, help="Adam learning rate")
    beta1: float = setting(0.5, help="Adam beta1")
    beta2: float = setting(0.999, help="Adam beta2")
    eps: float = setting(1e-8, help="Adam epsilon (PyTorch's default; Keras' is 1e-7)")
    keras_epsilon: bool = setting(
        False, help="add epsilon after the bias correction, as Keras/TF Adam does (the TF ports)"
    )


@dataclass
class ScheduleConfig:
    """How settings move over a run: ``constant``, or ``cosine`` over the budget (R3GAN's schedules).

    With ``cosine`` the progress t runs from 0 to 1 over the budget (steps, epochs, or the minutes of a
    ``--minutes`` run, whichever ends first), and each setting moves by (1 - cos(pi t)) / 2 from its
    start to its end value: the learning rates and the R1/R2 weights fall to ``final_lr`` and
    ``final_gamma`` times their configured values, Adam's beta2 rises from ``start_beta2`` to the
    optimiser's, and the EMA's half-life grows from ``start_ema`` times to the full half-life that
    ``ema_decay`` sets.
    """

    kind: ScheduleKind = setting("constant", help="constant, or cosine over the budget", flag="--schedule")
    final_lr: float = setting(0.25, help="cosine: learning rates end at this fraction")
    final_gamma: float = setting(0.1, help="cosine: R1/R2 weights end at this fraction")
    start_beta2: float = setting(0.9, help="cosine: Adam beta2 starts here and rises to the optimiser's")
    start_ema: float = setting(0.1, help="cosine: the EMA half-life starts at this fraction of its end")


@dataclass
class TrainConfig:
    """How long and how a run trains, and how often it reports, samples and saves."""

    batch_size: int = setting(64, help="images per batch (all processes together)")
    epochs: int | None = setting(None, help="train for N epochs (a budget; the first limit reached ends)")
    steps: int | None = setting(None, help="train until global step N")
    minutes: float | None = setting(None, help="train for this many wall-clock minutes (this invocation)")
    loss: LossName = setting(
        "nonsaturating", help="bce (= nonsaturating), minimax, lsgan, hinge, wgan-gp, rpgan"
    )
    real_label_low: float = setting(1.0, help="D's real targets are uniform in [low, high] (smoothing: 0.9)")
    real_label_high: float = setting(1.0, help="upper end of the real targets")
    fake_label_low: float = setting(0.0, help="D's fake targets are uniform in [low, high]")
    fake_label_high: float = setting(0.0, help="upper end of the fake targets")
    scheme: Scheme = setting(
        "alternating", help="simultaneous (one forward pass, TF2 tutorial) or alternating"
    )
    d_steps: int = setting(1, help="discriminator updates (each on its own batch) per generator update")
    d_separate_batches: bool = setting(False, help="D updates on a real batch, then on a fake one (Keras)")
    d_half_batch: bool = setting(False, help="D sees half a batch of real and half of fake (Keras-GAN)")
    d_joint_batch: bool = setting(
        False, help="D judges reals and fakes as one batch, so its BatchNorm normalises them alike"
    )
    reuse_fakes: bool | Auto = setting(
        False,
        help="G's update reuses the fakes of the D update before it: one G forward per step, as FastGAN's "
        "train.py (no CUDA graphs); auto: wherever no CUDA graph is captured (CPU, MPS, several GPUs)",
    )
    r1_gamma: float | Auto = setting(
        0.0, help="R1 penalty weight on real images (0 = off; auto = 0.0002 * side^2 / batch)"
    )
    r2_gamma: float | Auto = setting(0.0, help="R2: the same zero-centred penalty on generated images")
    r1_every: int = setting(1, help="lazy R1/R2: on D steps 1, N+1, 2N+1, ..., scaled by N")
    gp_weight: float | None = setting(
        None, help="gradient penalty weight (default 10 with wgan-gp, else off)"
    )
    ema_decay: float | None = setting(None, help="generator EMA decay, e.g. 0.999 (grids and samples use it)")
    ema_norm_samples: int = setting(
        1024, help="EMA generator with BatchNorm: its statistics are measured on this many of its own samples"
    )
    augment: str = setting("", help="DiffAugment on what D sees: color,translation,cutout (or none)")
    augment_p: float | Auto = setting(
        1.0, help="probability each augmentation applies, or auto: tuned from D's overfitting (ADA)"
    )
    augment_target: float = setting(0.6, help="auto --augment-p: the target of r_t = E[sign(D(real))]")
    augment_ramp_images: int = setting(100_000, help="auto --augment-p: images over which p can go 0 -> 1")
    mirror: bool = setting(False, help="x-flipped copies of every image double the data")
    schedule: ScheduleConfig = setting(help="schedules (flags --schedule...)", factory=ScheduleConfig)
    g_optim: OptimConfig = setting(help="the generator's Adam (flags ...-g)", factory=OptimConfig)
    d_optim: OptimConfig = setting(help="the discriminator's Adam (flags ...-d)", factory=OptimConfig)
    seed: int = setting(0, help="seed for weights, data order and noise (runs repeat exactly on CPU)")
    device: str = setting("auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N, mps")
    precision: Precision = setting(
        "auto", help="auto (bf16 where the device multiplies it natively), bf16, fp32"
    )
    channels_last: bool = setting(True, help="NHWC layout for convolutional networks")
    sync_bn: bool = setting(False, help="several GPU processes: BatchNorm statistics over the global batch")
    cuda_graphs: bool = setting(True, help="one GPU: replay each update as a captured CUDA graph")
    log_every: int = setting(20, help="steps between metrics.jsonl lines / plain progress lines")
    sample_every: int | None = setting(None, help="steps between sample grids (default: every epoch)")
    checkpoint_every: int | None = setting(5, help="epochs between checkpoints (none: only at the end)")
    checkpoint_every_steps: int | None = setting(None, help="steps between checkpoints, for step budgets")
    keep_checkpoints: int = setting(3, help="how many recent checkpoints to keep")
    grid_size: int = setting(4, help="the fixed-noise grid is N x N images")
    max_restarts: int = setting(
        3, help="NaN/Inf recoveries (back to the last good checkpoint) before stopping"
    )
    restart_lr_factor: float = setting(0.5, help="learning-rate multiplier at each recovery")
    d_win_steps: int = setting(2000, help="warn when D wins completely for this many steps in a row")
    min_diversity: float = setting(0.2, help="warn when sample spread falls under this share of the data's")
    eval_every: int | None = setting(None, help="steps between quality evaluations (FD, KID, SWD, classes)")
    eval_n: int | None = setting(
        None, help="images per quality evaluation (default 2000; 26000 for stacked-mnist's mode count)"
    )
    eval_against: str | None = setting(
        None, help="reference for --eval-every (default: the test split of built-in sets, else DATA itself)"
    )
    tensorboard: bool = setting(False, help="also log to RUN/tensorboard (the [tensorboard] extra)")


@dataclass
class RunConfig:
    """Everything needed to rebuild a run: preset name, data, model and training settings."""

    preset: str = setting(
        "custom",
        help="the preset the run started from",
        flag=None,
        why="chosen by the train command's --preset",
    )
    data: DataConfig = setting(help="the data", factory=DataConfig)
    model: ModelConfig = setting(help="the networks", factory=ModelConfig)
    train: TrainConfig = setting(help="the training", factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (nested dataclasses become dicts)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Build from a dict, rejecting unknown keys and wrong types with a clear message."""
        return build(cls, data, "config")

    def save(self, path: Path) -> None:
        """Write as indented JSON (atomically: a crash never leaves half a config)."""
        write_atomic(Path(path), (json.dumps(self.to_dict(), indent=2) + "\n").encode())

    @classmethod
    def load(cls, path: Path) -> RunConfig:
        """Read a JSON file written by :meth:`save` (or by hand, or by ``ganforge train --dry-run``)."""
        return cls.from_dict(read_json_object(Path(path), "config file"))
