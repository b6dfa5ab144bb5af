"""Settings by their dotted path (``train.g_optim.lr``): read, override, and the rule of a resume.

``with_overrides`` is how the CLI, ``train_preset`` and the tests change a config, and ``resumed``
decides what a resumed run trains with; both live here so that the budget rule is written once.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from ganforge.config.reader import did_you_mean
from ganforge.errors import UserError

BUDGET = ("train.epochs", "train.steps", "train.minutes")  # the only fields a resume may change
# Filled in from the data when a run starts, so a fresh config cannot be expected to match them.
DERIVED = ("model.num_classes",)


def get_path(cfg: Any, dotted: str) -> Any:
    """The value at ``dotted`` (``train.g_optim.lr``) in a config."""
    value: Any = cfg
    for name in dotted.split("."):
        value = getattr(value, name)
    return value


def with_overrides(cfg: Any, overrides: dict[str, Any]) -> Any:
    """A copy of ``cfg`` with each dotted path set to its value.

    A budget among the overrides (epochs, steps, minutes) replaces the config's whole budget rather
    than adding a second limit to it: ``--minutes 5`` on a preset budgeted in steps trains 5 minutes.

    Raises:
        UserError: a path that names no field, with the closest one as a suggestion.
    """
    cfg = copy.deepcopy(cfg)
    if any(path in overrides for path in BUDGET):
        for path in BUDGET:
            _set(cfg, path, None)
    for path, value in overrides.items():
        _set(cfg, path, value)
    return cfg


def _set(cfg: Any, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    target, seen = cfg, []
    for name in [*parents, leaf]:
        fields = [f.name for f in dataclasses.fields(target)]
        if name not in fields:
            where = ".".join(seen) or "the config"
            raise UserError(
                f"unknown setting '{dotted}': {where} has no '{name}'{did_you_mean(name, fields)}"
            )
        seen.append(name)
        if name != leaf:
            target = getattr(target, name)
    setattr(target, leaf, value)


def flatten(cfg: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf setting of a config by its dotted path."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            out |= flatten(value, f"{prefix}{f.name}.")
        else:
            out[f"{prefix}{f.name}"] = value
    return out


def resumed(saved: Any, asked: Any) -> Any:
    """The config a resumed run continues with: ``saved``, with the budget of ``asked``.

    A different model, data or training setting would not be the same run; the budget is what a resume
    is for (train longer, or for a while more).

    Raises:
        UserError: ``asked`` differs from ``saved`` in anything but the budget.
    """
    mine, theirs = flatten(saved), flatten(asked)
    changed = [p for p in mine if p not in BUDGET + DERIVED and mine[p] != theirs.get(p)]
    if changed:
        path = changed[0]
        raise UserError(
            f"only the budget (--epochs/--steps/--minutes) can change on resume, not {path} "
            f"({mine[path]!r} in the run, {theirs.get(path)!r} asked)"
        )
    return with_overrides(saved, {path: get_path(asked, path) for path in BUDGET})
