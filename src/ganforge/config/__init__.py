"""Typed run configuration: what a run trains, on what, and how.

The resolved :class:`RunConfig` is written to ``config.json`` in the run directory and inside every
checkpoint, so ``sample``/``animate``/``--resume`` rebuild a run from the checkpoint alone.

- ``fields``: the dataclasses, each setting with its default, flag and help (the one source of flags);
- ``reader``: JSON in, typed and checked;
- ``checks``: :func:`validate`, the one set of checks every entry point passes through;
- ``paths``: settings by dotted path, :func:`with_overrides` and the resume rule :func:`resumed`.
"""

from ganforge.config.checks import reuse_fits, validate, validate_train
from ganforge.config.fields import (
    DataConfig,
    LossName,
    ModelConfig,
    OptimConfig,
    Precision,
    RunConfig,
    ScheduleConfig,
    ScheduleKind,
    Scheme,
    TrainConfig,
    setting,
)
from ganforge.config.paths import BUDGET, flatten, get_path, resumed, with_overrides

__all__ = [
    "BUDGET",
    "DataConfig",
    "LossName",
    "ModelConfig",
    "OptimConfig",
    "Precision",
    "RunConfig",
    "ScheduleConfig",
    "ScheduleKind",
    "Scheme",
    "TrainConfig",
    "flatten",
    "get_path",
    "resumed",
    "reuse_fits",
    "setting",
    "validate",
    "validate_train",
    "with_overrides",
]
