"""Typed run configuration: what a run trains, on what, and how.

The resolved :class:`RunConfig` is written to ``config.json`` in the run directory and inside every
checkpoint, so ``sample``/``animate``/``--resume`` rebuild a run from the checkpoint alone.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ganforge.augment import parse_policy
from ganforge.errors import UserError
from ganforge.fileio import write_atomic
from ganforge.losses import LOSSES

Scheme = Literal["simultaneous", "alternating"]
Precision = Literal["auto", "fp32", "bf16"]
LossName = Literal["bce", "nonsaturating", "minimax", "lsgan", "hinge", "wgan-gp"]
BUDGET = ("train.epochs", "train.steps", "train.minutes")  # the only fields a resume may change


@dataclass
class DataConfig:
    """Where the training images come from and how they are shaped."""

    source: str = "mnist"  # "mnist", "fashion-mnist", or a folder of images
    split: str = "train"  # "train" or "test" for the built-in datasets
    data_dir: str | None = None  # a folder holding the standard idx files
    channels: int = 1  # 1 = grayscale, 3 = RGB (image folders are converted)
    image_size: int = 28  # square side the model draws; folders are resized to it
    limit: int | None = None  # use only the first N images (quick trials, tests)


@dataclass
class ModelConfig:
    """Which registered generator/discriminator family, and its few knobs."""

    name: str = "tf-dcgan"
    latent_dim: int = 100
    width: int = 64  # base channel count of convolutional families (dcgan)
    spectral_norm: bool = False  # spectral normalisation on every discriminator layer
    conditional: bool = False  # class-conditional G and D (needs labelled data)
    num_classes: int = 0  # set from the data when conditional


@dataclass
class OptimConfig:
    """Adam settings for one network."""

    lr: float = 1e-4
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-7  # Keras' Adam default; PyTorch's is 1e-8
    # Keras/TF Adam adds epsilon after the bias correction ("epsilon hat"); True reproduces that exactly.
    keras_epsilon: bool = False


@dataclass
class TrainConfig:
    """How long and how a run trains, and how often it reports, samples and saves."""

    batch_size: int = 256
    epochs: int | None = None  # a budget: epochs, steps or minutes (the first reached ends the run)
    steps: int | None = None
    minutes: float | None = None
    loss: LossName = "bce"  # bce (= nonsaturating), minimax, lsgan, hinge, wgan-gp
    # D targets are uniform in [low, high]; one-sided label smoothing: real_label_low = real_label_high = 0.9
    real_label_low: float = 1.0
    real_label_high: float = 1.0
    fake_label_low: float = 0.0
    fake_label_high: float = 0.0
    scheme: Scheme = "alternating"  # "simultaneous" (TF2 tutorial) or "alternating" (D then G)
    d_steps: int = 1  # discriminator updates (each on its own batch) per generator update
    d_separate_batches: bool = False  # D updates on a real batch, then on a fake batch (two optimiser steps)
    d_half_batch: bool = False  # D sees half a batch of real and half of fake (Keras-GAN)
    r1_gamma: float = 0.0  # R1 penalty weight (0 = off)
    r1_every: int = 1  # lazy R1: apply every N discriminator steps, scaled by N
    gp_weight: float | None = None  # gradient penalty weight; None = 10 for wgan-gp, else off
    ema_decay: float | None = None  # generator EMA (e.g. 0.999); grids and samples use it
    # DiffAugment on every image D sees (real and fake, D's and G's updates): "color,translation,cutout"
    augment: str = ""
    g_optim: OptimConfig = field(default_factory=OptimConfig)
    d_optim: OptimConfig = field(default_factory=OptimConfig)
    seed: int = 0
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:1", ...
    # "auto": bf16 autocast where the device multiplies bf16 natively, else fp32 (docs/performance.md).
    precision: Precision = "auto"
    channels_last: bool = True  # NHWC memory layout for convolutional networks
    sync_bn: bool = False  # several GPU processes: BatchNorm statistics over the global batch
    cuda_graphs: bool = True  # one GPU: replay each update as a captured CUDA graph
    log_every: int = 20  # steps between metrics.jsonl lines / plain progress lines
    sample_every: int | None = None  # steps between grids; None = after every epoch
    checkpoint_every: int | None = 5  # epochs between checkpoints (None = only at the end)
    checkpoint_every_steps: int | None = None  # steps between checkpoints, for step-based runs
    keep_checkpoints: int = 3
    grid_size: int = 4  # the fixed-noise grid is grid_size x grid_size
    # Divergence: NaN/Inf is looked for every log_every steps; the run goes back to its last good
    # checkpoint with both learning rates times restart_lr_factor, at most max_restarts times.
    max_restarts: int = 3
    restart_lr_factor: float = 0.5
    # Health warnings: D winning (D(x) > 0.99 and D(G(z)) < 0.01) for this many steps in a row, and
    # samples whose spread falls under this fraction of the data's (checked at every grid).
    d_win_steps: int = 2000
    min_diversity: float = 0.2
    # Quality during training: metrics on the EMA generator every eval_every steps (None = off), from
    # eval_n samples, against eval_against (default: the test split of mnist / fashion-mnist).
    eval_every: int | None = None
    eval_n: int = 2000
    eval_against: str | None = None
    tensorboard: bool = False  # also write RUN/tensorboard/ event files (the [tensorboard] extra)


@dataclass
class RunConfig:
    """Everything needed to rebuild a run: preset name, data, model and training settings."""

    preset: str = "tf-dcgan-mnist"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (nested dataclasses become dicts)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Build from a dict, rejecting unknown keys and wrong types with a clear message."""
        return _build(cls, data, "config")

    def save(self, path: Path) -> None:
        """Write as indented JSON (atomically: a crash never leaves half a config)."""
        write_atomic(Path(path), (json.dumps(self.to_dict(), indent=2) + "\n").encode())

    @classmethod
    def load(cls, path: Path) -> RunConfig:
        """Read a JSON file written by :meth:`save` (or by hand)."""
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise UserError(f"config file {path} does not exist") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"config file {path} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise UserError(f"config file {path} must hold a JSON object")
        return cls.from_dict(data)


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise UserError(f"{where} must be an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(names)}"
            raise UserError(f"unknown key {key!r} in {where}{hint}")
        kwargs[key] = _convert(hints[key], value, f"{where}.{key}")
    return cls(**kwargs)


def _convert(hint: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
        args = typing.get_args(hint)
    if typing.get_origin(hint) is Literal:
        if value not in args:
            raise UserError(f"{where} must be one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if typing.get_origin(hint) in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise UserError(f"{where} must be a list, got {value!r}")
        item = args[0] if args else Any
        converted = [v if item is Any else _convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(converted) if typing.get_origin(hint) is tuple else converted
    checks = {
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
        bool: isinstance(value, bool),
    }
    if hint not in checks:  # a field type this reader does not know: a bug here, said plainly
        raise UserError(f"{where}: the config reader cannot read a field of type {hint!r}")
    ok = checks[hint]
    if not ok:
        raise UserError(f"{where} must be {hint.__name__}, got {value!r}")
    return float(value) if hint is float else value


def _get(cfg: Any, dotted: str) -> Any:
    value: Any = cfg
    for name in dotted.split("."):
        value = getattr(value, name)
    return value


def _numbers(obj: Any, prefix: str = "") -> typing.Iterator[tuple[str, float]]:
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            yield from _numbers(value, f"{prefix}{f.name}.")
        elif isinstance(value, float):
            yield f"{prefix}{f.name}", value


def _literals(obj: Any, prefix: str = "") -> None:
    """Every ``Literal`` field holds one of its values (a config built in Python skips the reader)."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        value, hint = getattr(obj, f.name), hints[f.name]
        if dataclasses.is_dataclass(value):
            _literals(value, f"{prefix}{f.name}.")
        elif typing.get_origin(hint) is Literal and value not in typing.get_args(hint):
            choices = ", ".join(typing.get_args(hint))
            raise UserError(f"unknown {prefix}{f.name} {value!r}; choose one of: {choices}")


def _positive(obj: Any, names: tuple[str, ...], prefix: str) -> None:
    for name in names:
        value = _get(obj, name)
        if value is not None and value <= 0:
            raise UserError(f"{prefix}{name} must be positive, got {value}")


_TRAIN_POSITIVE = (
    "batch_size", "epochs", "steps", "minutes", "log_every", "sample_every", "checkpoint_every",
    "checkpoint_every_steps", "keep_checkpoints", "grid_size", "eval_every", "g_optim.lr", "d_optim.lr",
    "d_steps", "r1_every",
)  # fmt: skip


def validate_train(t: TrainConfig) -> TrainConfig:
    """Reject training settings no run can use, one message per field; the ``GAN`` API and the CLI
    both pass through here (the budget is checked by :func:`validate`: ``GAN.fit`` takes its own)."""
    _literals(t, "train.")
    for name, value in _numbers(t, "train."):
        if not math.isfinite(value):
            raise UserError(f"{name} must be a finite number, got {value!r}")
    _positive(t, _TRAIN_POSITIVE, "train.")
    for name in ("r1_gamma", "gp_weight"):
        if (getattr(t, name) or 0) < 0:
            raise UserError(f"train.{name} must not be negative, got {getattr(t, name)}")
    if t.max_restarts < 0 or t.d_win_steps <= 0 or t.min_diversity < 0:
        raise UserError("train.max_restarts and train.min_diversity must be >= 0, train.d_win_steps > 0")
    if t.eval_n < 2:
        raise UserError(f"train.eval_n must be at least 2, got {t.eval_n}")
    if not 0 < t.restart_lr_factor <= 1:
        raise UserError(f"train.restart_lr_factor must be in (0, 1], got {t.restart_lr_factor}")
    if t.ema_decay is not None and not 0 < t.ema_decay < 1:
        raise UserError(f"train.ema_decay must be between 0 and 1, got {t.ema_decay}")
    parse_policy(t.augment)
    _check_scheme(t)
    return t


def _check_scheme(t: TrainConfig) -> None:
    """Combinations of loss, scheme and D settings that no update can carry out."""
    labels = (t.real_label_low, t.real_label_high, t.fake_label_low, t.fake_label_high)
    if not LOSSES[t.loss].uses_targets and labels != (1.0, 1.0, 0.0, 0.0):
        raise UserError(f"label smoothing / noisy labels do not apply to the {t.loss} loss")
    if t.scheme == "simultaneous" and (t.loss == "wgan-gp" or t.gp_weight or t.r1_gamma):
        raise UserError("R1 and gradient penalties (and wgan-gp) need --scheme alternating")
    if t.scheme == "simultaneous" and (t.d_steps != 1 or t.d_separate_batches or t.d_half_batch):
        raise UserError(
            "the simultaneous scheme updates D and G once per batch from one forward pass; "
            "d_steps, d_separate_batches and d_half_batch need --scheme alternating"
        )
    if t.d_separate_batches and (t.gp_weight or t.loss == "wgan-gp"):
        raise UserError("the gradient penalty mixes real and fake images; it needs d_separate_batches off")


def validate(cfg: RunConfig) -> RunConfig:
    """Reject values no run can use (zero or negative sizes, empty budgets), with a message per field."""
    _literals(cfg)
    validate_train(cfg.train)
    d = cfg.data
    for name, value in _numbers(cfg):
        if not math.isfinite(value):
            raise UserError(f"{name} must be a finite number, got {value!r}")
    _positive(cfg, ("data.image_size", "data.limit", "model.latent_dim"), "")
    if d.channels not in (1, 3):
        raise UserError(f"data.channels must be 1 (grayscale) or 3 (RGB), got {d.channels}")
    if all(_get(cfg, name) is None for name in BUDGET):
        raise UserError("no training budget: give --epochs, --steps or --minutes")
    return cfg


def resumed(saved: RunConfig, asked: RunConfig) -> RunConfig:
    """The config a resumed run continues with: ``saved`` as it was, with only the budget of ``asked``.

    A different model, data or training setting would not be the same run; the budget is what a resume
    is for (train longer, or for a while more).
    """
    for name in BUDGET:
        setattr(saved.train, name.split(".")[1], _get(asked, name))
    return saved
