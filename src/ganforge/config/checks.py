"""The one set of checks every entry point passes through: the CLI, ``train_preset`` and the ``GAN`` API.

:func:`validate` checks a whole :class:`RunConfig` (data shape, budget, then the training settings);
:func:`validate_train` the training settings alone (``GAN.fit`` takes its budget as arguments). Each
message names the field and what it must be.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Iterator
from typing import Any, Literal

from ganforge.augment import parse_policy
from ganforge.config.fields import RunConfig, ScheduleConfig, TrainConfig
from ganforge.config.paths import BUDGET, get_path
from ganforge.errors import UserError
from ganforge.losses import LOSSES

_TRAIN_POSITIVE = (
    "batch_size", "epochs", "steps", "minutes", "log_every", "sample_every", "checkpoint_every",
    "checkpoint_every_steps", "keep_checkpoints", "grid_size", "eval_every", "g_optim.lr", "d_optim.lr",
    "d_steps", "r1_every", "augment_ramp_images",
)  # fmt: skip


def validate(cfg: RunConfig, require_budget: bool = True) -> RunConfig:
    """Reject values no run can use (zero or negative sizes, empty budgets), with a message per field.

    ``require_budget=False``: the budget comes later (``GAN.from_config(cfg).fit(..., steps=N)``).
    """
    _literals(cfg)
    validate_train(cfg.train)
    _positive(cfg, ("data.image_size", "data.limit", "model.latent_dim", "model.width", "model.pack"), "")
    if cfg.train.d_joint_batch and cfg.model.pack > 1:
        # Packs are consecutive images: in one batch of both, a pack could hold a real and a fake.
        raise UserError("d_joint_batch cannot be combined with a packed D (model.pack > 1): use one")
    if cfg.data.channels not in (1, 3):
        raise UserError(f"data.channels must be 1 (grayscale) or 3 (RGB), got {cfg.data.channels}")
    if require_budget and all(get_path(cfg, name) is None for name in BUDGET):
        raise UserError("no training budget: give --epochs, --steps or --minutes")
    return cfg


def validate_train(t: TrainConfig) -> TrainConfig:
    """Reject training settings no run can use, one message per field."""
    _literals(t, "train.")
    for name, value in _numbers(t, "train."):
        if not math.isfinite(value):
            raise UserError(f"{name} must be a finite number, got {value!r}")
    _positive(t, _TRAIN_POSITIVE, "train.")
    _check_penalties(t)
    if t.max_restarts < 0 or t.d_win_steps <= 0 or t.min_diversity < 0:
        raise UserError("train.max_restarts and train.min_diversity must be >= 0, train.d_win_steps > 0")
    if t.eval_n is not None and t.eval_n < 2:
        raise UserError(f"train.eval_n must be at least 2, got {t.eval_n}")
    if not 0 < t.restart_lr_factor <= 1:
        raise UserError(f"train.restart_lr_factor must be in (0, 1], got {t.restart_lr_factor}")
    if t.ema_decay is not None and not 0 < t.ema_decay < 1:
        raise UserError(f"train.ema_decay must be between 0 and 1, got {t.ema_decay}")
    if t.ema_norm_samples < 2:  # one sample has no batch statistics
        raise UserError(f"train.ema_norm_samples must be at least 2, got {t.ema_norm_samples}")
    parse_policy(t.augment)
    _check_augment(t)
    _check_schedule(t.schedule)
    _check_scheme(t)
    return t


def _check_penalties(t: TrainConfig) -> None:
    for name in ("r1_gamma", "r2_gamma", "gp_weight"):
        value = getattr(t, name)
        auto = name != "gp_weight" and value == "auto"
        if not (auto or value is None or (_number(value) and value >= 0)):
            also = " or 'auto'" if name != "gp_weight" else ""
            raise UserError(f"train.{name} must be a number >= 0{also}, got {value!r}")


def _check_augment(t: TrainConfig) -> None:
    p = t.augment_p
    if p != "auto" and not (_number(p) and 0 <= p <= 1):
        raise UserError(f"train.augment_p must be a probability in [0, 1] or 'auto', got {p!r}")
    if not 0 < t.augment_target < 1:
        raise UserError(f"train.augment_target must be between 0 and 1, got {t.augment_target}")
    if p != 1.0 and not parse_policy(t.augment):
        raise UserError("train.augment_p needs augmentation operations: give --augment color,translation,...")


def _check_schedule(s: ScheduleConfig) -> None:
    for name in ("final_lr", "final_gamma", "start_ema"):
        if not 0 < getattr(s, name) <= 1:
            raise UserError(f"train.schedule.{name} must be in (0, 1], got {getattr(s, name)}")
    if not 0 <= s.start_beta2 < 1:
        raise UserError(f"train.schedule.start_beta2 must be in [0, 1), got {s.start_beta2}")


def _check_scheme(t: TrainConfig) -> None:
    """Combinations of loss, scheme and D settings that no update can carry out."""
    labels = (t.real_label_low, t.real_label_high, t.fake_label_low, t.fake_label_high)
    if not LOSSES[t.loss].uses_targets and labels != (1.0, 1.0, 0.0, 0.0):
        raise UserError(f"label smoothing / noisy labels do not apply to the {t.loss} loss")
    penalties = t.loss == "wgan-gp" or t.gp_weight or t.r1_gamma or t.r2_gamma
    if t.scheme == "simultaneous" and penalties:
        raise UserError("R1/R2 and gradient penalties (and wgan-gp) need --scheme alternating")
    if t.scheme == "simultaneous" and (t.d_steps != 1 or t.d_separate_batches or t.d_half_batch):
        raise UserError(
            "the simultaneous scheme updates D and G once per batch from one forward pass; "
            "d_steps, d_separate_batches and d_half_batch need --scheme alternating"
        )
    if t.reuse_fakes is True and not reuse_fits(t):
        raise UserError(
            "reuse_fakes hands the fakes of D's joint update to G's: it needs --scheme alternating "
            "with d_separate_batches and d_half_batch off"
        )
    if t.reuse_fakes not in (True, False, "auto"):
        raise UserError(f"train.reuse_fakes must be true, false or 'auto', got {t.reuse_fakes!r}")
    if t.d_separate_batches and t.d_joint_batch:
        raise UserError("d_separate_batches (two D updates) and d_joint_batch (one batch of both) contradict")
    if t.d_separate_batches and (t.gp_weight or t.loss == "wgan-gp"):
        raise UserError("the gradient penalty mixes real and fake images; it needs d_separate_batches off")
    if LOSSES[t.loss].relativistic and (t.d_separate_batches or t.d_half_batch):
        raise UserError(
            f"the {t.loss} loss pairs each real image with a fake one: it needs d_separate_batches and "
            "d_half_batch off"
        )


def reuse_fits(t: TrainConfig) -> bool:
    """Whether G's update can take the fakes of D's update before it: one joint D update on a batch of
    each, alternating with G's (what ``reuse_fakes`` needs)."""
    return t.scheme == "alternating" and not (t.d_separate_batches or t.d_half_batch)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _numbers(obj: Any, prefix: str = "") -> Iterator[tuple[str, float]]:
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
        value = get_path(obj, name)
        if value is not None and value <= 0:
            raise UserError(f"{prefix}{name} must be positive, got {value}")
