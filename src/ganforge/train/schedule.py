"""Settings that move over a run: R3GAN's cosine schedules compressed into the run's own budget, and
the :class:`Dials` that set a step's learning rates, penalty weights and EMA decay.

The loop gives the trainer the run's progress t in [0, 1] before each step (the fraction of the steps,
epochs or minutes of the budget, whichever is furthest along); :class:`Schedule` turns it into the
factors and values of that step. A steps or epochs budget makes t a function of the step alone, so a
resumed run continues the very same schedule; a ``--minutes`` budget follows the training clock, which
a resume continues too (the clock is in every checkpoint), though not to the bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ganforge.config import ScheduleConfig, TrainConfig
from ganforge.losses import penalty_weight
from ganforge.train.ema import EMA


def cosine_ramp(t: float) -> float:
    """0 at t = 0, 1 at t = 1, flat at both ends: (1 - cos(pi t)) / 2, t clipped to [0, 1]."""
    t = min(max(t, 0.0), 1.0)
    return (1.0 - math.cos(math.pi * t)) / 2.0


def lerp(start: float, end: float, weight: float) -> float:
    """``start`` moved ``weight`` of the way to ``end``."""
    return start + (end - start) * weight


@dataclass(frozen=True)
class StepSettings:
    """What one step trains with, relative to the configured values.

    Attributes:
        lr: factor on both learning rates.
        gamma: factor on the R1/R2 weights.
        beta2: Adam's beta2 for (G, D); None keeps each optimiser's own.
        ema_half_life: factor on the EMA's half-life (in updates).
    """

    lr: float = 1.0
    gamma: float = 1.0
    beta2: tuple[float, float] | None = None
    ema_half_life: float = 1.0


class Schedule:
    """The settings of the step at progress t for a :class:`ScheduleConfig`.

    Args:
        cfg: the schedule (``constant`` gives the configured values at every t).
        beta2: the optimisers' configured beta2 for (G, D): where a cosine schedule's beta2 ends.
    """

    def __init__(self, cfg: ScheduleConfig, beta2: tuple[float, float]) -> None:
        self.cfg = cfg
        self.beta2 = beta2

    @property
    def constant(self) -> bool:
        """Whether every step trains with the configured values."""
        return self.cfg.kind == "constant"

    def at(self, t: float) -> StepSettings:
        """The settings at progress ``t``."""
        if self.constant:
            return StepSettings()
        w = cosine_ramp(t)
        c = self.cfg
        return StepSettings(
            lr=lerp(1.0, c.final_lr, w),
            gamma=lerp(1.0, c.final_gamma, w),
            beta2=(lerp(c.start_beta2, self.beta2[0], w), lerp(c.start_beta2, self.beta2[1], w)),
            ema_half_life=lerp(c.start_ema, 1.0, w),
        )


def half_life(decay: float) -> float:
    """Updates after which an EMA of ``decay`` has forgotten half: ln 0.5 / ln decay."""
    return math.log(0.5) / math.log(decay)


def decay_for(half_life_updates: float) -> float:
    """The EMA decay whose half-life is ``half_life_updates`` updates."""
    return 0.5 ** (1.0 / max(half_life_updates, 1e-6))


class Dials:
    """The settings a step trains with that can change during a run, in one place: the learning rates
    (divergence recovery lowers them), the R1/R2 weights ("auto" waits for the image size) and what a
    schedule moves (learning rates, beta2, the penalties' weights, the EMA's half-life).

    Args:
        cfg: the training config (its schedule, gammas, lazy interval, EMA decay).
        optimisers: G's and D's.
        penalty_weights: the (2,) device tensor the update functions read (updated in place).
        ema: the generator's EMA, whose decay a schedule moves (None: no EMA).
    """

    def __init__(
        self,
        cfg: TrainConfig,
        optimisers: tuple[torch.optim.Optimizer, torch.optim.Optimizer],
        penalty_weights: torch.Tensor,
        ema: EMA | None,
    ) -> None:
        self.cfg = cfg
        self.optimisers = optimisers
        self.penalty_weights = penalty_weights
        self.ema = ema
        self.schedule = Schedule(cfg.schedule, (cfg.g_optim.beta2, cfg.d_optim.beta2))
        self.progress = 0.0
        self.penalty_base: torch.Tensor | None = None  # known at the first step (image size, batch)
        self.base_lrs = self._current_lrs()

    def set_penalties(self, side: int, batch: int) -> None:
        """R1/R2 weights for images of ``side`` pixels in global batches of ``batch`` (times 1/2 and the
        lazy interval, as the update functions use them)."""
        gammas = [penalty_weight(g, side, batch) for g in (self.cfg.r1_gamma, self.cfg.r2_gamma)]
        self.penalty_base = torch.tensor(gammas) / 2 * self.cfg.r1_every
        self.penalty_weights.copy_(self.penalty_base * self.schedule.at(self.progress).gamma)

    def set_progress(self, t: float) -> None:
        """Apply the schedule's settings for progress ``t`` in [0, 1] of the budget (before a step)."""
        self.progress = t
        if self.schedule.constant:
            return
        now = self.schedule.at(t)
        for opt, bases, beta2 in zip(self.optimisers, self.base_lrs, now.beta2, strict=True):
            for group, base in zip(opt.param_groups, bases, strict=True):
                group["lr"] = base * now.lr
                group["betas"] = (group["betas"][0], beta2)
        if self.penalty_base is not None:
            self.penalty_weights.copy_(self.penalty_base * now.gamma)
        if self.ema:
            self.ema.decay = decay_for(half_life(self.cfg.ema_decay) * now.ema_half_life)

    def learning_rates(self) -> tuple[list[float], list[float]]:
        """G's and D's learning rates, one per parameter group, before any schedule's factor."""
        return list(self.base_lrs[0]), list(self.base_lrs[1])

    def set_learning_rates(self, g: list[float], d: list[float]) -> None:
        """Set G's and D's learning rates (a schedule scales them from the next step on)."""
        self.base_lrs = (list(g), list(d))
        for opt, rates in zip(self.optimisers, self.base_lrs, strict=True):
            for group, lr in zip(opt.param_groups, rates, strict=True):
                group["lr"] = lr

    def state_dict(self) -> dict:
        """The learning rates before the schedule's factor (what the optimisers hold is after it)."""
        return {} if self.schedule.constant else {"lr_base": [list(r) for r in self.base_lrs]}

    def load_state_dict(self, state: dict) -> None:
        """After the optimisers were restored: their rates, or the saved ones before the schedule."""
        self.base_lrs = tuple(state["lr_base"]) if "lr_base" in state else self._current_lrs()

    def _current_lrs(self) -> tuple[list[float], list[float]]:
        g, d = ([group["lr"] for group in opt.param_groups] for opt in self.optimisers)
        return g, d
