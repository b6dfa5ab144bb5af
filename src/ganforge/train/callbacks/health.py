"""Training health: NaN/Inf detection with recovery, and warnings about runs that have stopped learning.

``DivergenceGuard`` looks for non-finite losses and weights every ``every`` steps (one logging interval),
puts training back to its last good state with lower learning rates, and gives up with a clear message
after ``max_restarts`` recoveries, so a diverged run never reloads forever. ``HealthMonitor`` warns, once
per episode, when the discriminator wins completely for a long stretch or the samples lose their variety.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from ganforge.errors import UserError
from ganforge.train import distributed
from ganforge.train.callbacks.base import Callback

if TYPE_CHECKING:
    from ganforge.train.context import TrainingContext

Report = Callable[["TrainingContext", dict[str, Any]], None]


class TrainingDiverged(UserError):
    """NaN/Inf came back after every allowed recovery."""


def warn_report(_ctx: TrainingContext, record: dict[str, Any]) -> None:
    """The default report outside a run directory: a Python warning."""
    warnings.warn(record["message"], RuntimeWarning, stacklevel=2)


class DivergenceGuard(Callback):
    """Detects NaN/Inf within ``every`` steps and restarts from the last good state with lower learning rates.

    Args:
        every: steps between checks (the run uses its logging interval).
        max_restarts: recoveries allowed; one more divergence raises :class:`TrainingDiverged`.
        lr_factor: both networks' learning rates are multiplied by this at each recovery.
        last_good: returns the state to go back to (a run reads its newest checkpoint); when it is
            missing or returns None, the state at the start of ``fit`` is used.
        report: receives one record per recovery (``metrics.jsonl`` in a run).
    """

    def __init__(
        self,
        every: int = 20,
        max_restarts: int = 3,
        lr_factor: float = 0.5,
        last_good: Callable[[], dict[str, Any] | None] | None = None,
        report: Report = warn_report,
    ) -> None:
        self.every = every
        self.max_restarts = max_restarts
        self.lr_factor = lr_factor
        self.last_good = last_good
        self.report = report
        self.restarts = 0
        self.failed_steps: list[int] = []
        self._total: torch.Tensor | None = None  # sum of every stat since the last check
        self._start: dict[str, Any] | None = None

    def on_train_begin(self, ctx: TrainingContext) -> None:
        self._start = _cpu_copy(ctx.state_dict())
        self._total = None

    def on_step_end(self, ctx: TrainingContext, stats: dict[str, torch.Tensor], n_images: int) -> None:
        # A NaN or Inf anywhere makes the running sum non-finite; it stays on the device until the check.
        total = torch.stack([v.float().sum() for v in stats.values()]).sum()
        self._total = total if self._total is None else self._total + total
        if ctx.state.step % self.every == 0 or ctx.budget_reached():
            self.check(ctx)

    def on_epoch_end(self, ctx: TrainingContext) -> None:
        self.check(ctx)  # before the epoch's checkpoint and grid

    def on_train_end(self, ctx: TrainingContext) -> None:
        if not self._healthy(ctx):
            # Stopped between checks with a diverged state: the Checkpointer will not save it.
            self.report(
                ctx,
                {
                    "step": ctx.state.step,
                    "event": "diverged at the end",
                    "message": f"NaN/Inf at step {ctx.state.step}; these steps were not saved "
                    "(resume continues from the last good checkpoint)",
                },
            )

    def check(self, ctx: TrainingContext) -> None:
        """Recover now if the losses since the last check or the weights are not finite."""
        if self._healthy(ctx):
            return
        self.failed_steps.append(ctx.state.step)
        if self.restarts >= self.max_restarts:
            raise TrainingDiverged(
                f"training diverged (NaN/Inf) at steps {', '.join(map(str, self.failed_steps))}, "
                f"{self.restarts} recoveries allowed (--max-restarts); every checkpoint written before is "
                "kept and none after: try a lower learning rate or another loss"
            )
        self._recover(ctx)

    def _healthy(self, ctx: TrainingContext) -> bool:
        finite = self._total is None or bool(torch.isfinite(self._total))
        self._total = None
        weights = ctx.weights_finite()  # agreed between processes: every one must call it
        return weights and not distributed.any_rank(not finite, ctx.device)

    def _recover(self, ctx: TrainingContext) -> None:
        failed = ctx.state.step
        # The current rates already include earlier recoveries; the restored state may not.
        rates = [[lr * self.lr_factor for lr in group] for group in ctx.learning_rates()]
        state = self.last_good() if self.last_good else None
        ctx.restore(state if state is not None else _cpu_copy(self._start))
        ctx.set_learning_rates(*rates)
        self.restarts += 1
        self.report(
            ctx,
            {
                "step": ctx.state.step,
                "event": "restart",
                "failed_step": failed,
                "restart": self.restarts,
                "lr_g": rates[0][0],
                "lr_d": rates[1][0],
                "message": f"NaN/Inf detected at step {failed}: restarted from step {ctx.state.step} "
                f"with learning rates x{self.lr_factor} (recovery {self.restarts} of {self.max_restarts})",
            },
        )


class HealthMonitor(Callback):
    """Warns when D wins completely for ``d_win_steps`` steps, or samples lose their variety.

    Variety is the mean pairwise distance between 64 generated images, as a fraction of the same for
    real images. Samples count as collapsing when it is under ``min_diversity`` after having reached
    twice that, or from step ``collapse_after`` on (an untrained generator draws near-identical blobs;
    that is not yet a collapse). Each warning is given once per episode.

    Args:
        every: steps between D checks (the logging interval).
        d_win_steps: length of the stretch of D(x) > 0.99 and D(G(z)) < 0.01 that triggers a warning.
        min_diversity: the variety ratio under which samples count as collapsing.
        diversity_every: steps between variety checks (None: after every epoch).
        collapse_after: from this step on, low variety is a collapse even if it was never higher.
        report: receives one record per warning.
    """

    def __init__(
        self,
        every: int = 20,
        d_win_steps: int = 2000,
        min_diversity: float = 0.2,
        diversity_every: int | None = None,
        collapse_after: int = 1000,
        report: Report = warn_report,
    ) -> None:
        self.every = every
        self.collapse_after = collapse_after
        self.d_win_steps = d_win_steps
        self.min_diversity = min_diversity
        self.diversity_every = diversity_every
        self.report = report
        self.win_since: int | None = None
        self.warned: set[str] = set()
        self.real_spread: float | None = None
        self.peak_diversity = 0.0
        self._fooled: torch.Tensor | None = None  # was D fooled once since the last check (device bool)
        self._steps = 0

    def on_train_begin(self, ctx: TrainingContext) -> None:
        data = ctx.train_data
        if data is not None and len(data) > 1:
            pick = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))[:64]
            self.real_spread = spread(data.images[pick])
        self._fooled, self._steps = None, 0

    def on_step_end(self, ctx: TrainingContext, stats: dict[str, torch.Tensor], n_images: int) -> None:
        if "d_real" in stats and ctx.sigmoid_outputs:
            fooled = (stats["d_real"] <= 0.99) | (stats["d_fake"] >= 0.01)
            self._fooled = fooled if self._fooled is None else self._fooled | fooled
            self._steps += 1
        if ctx.state.step % self.every == 0:
            self._check_d(ctx)
        if self.diversity_every and ctx.state.step % self.diversity_every == 0:
            self.check_diversity(ctx)

    def on_epoch_end(self, ctx: TrainingContext) -> None:
        if not self.diversity_every:
            self.check_diversity(ctx)

    def on_restore(self, ctx: TrainingContext) -> None:
        self.win_since, self._fooled, self._steps = None, None, 0

    def _check_d(self, ctx: TrainingContext) -> None:
        if self._fooled is None:
            return
        fooled, steps = bool(self._fooled), self._steps
        self._fooled, self._steps = None, 0
        if fooled:  # D was fooled at least once in the interval: the episode is over
            self.win_since = None
            self.warned.discard("d_wins")
            return
        self.win_since = self.win_since if self.win_since is not None else ctx.state.step - steps
        if ctx.state.step - self.win_since >= self.d_win_steps:
            self._warn(
                ctx,
                "d_wins",
                f"the discriminator has won completely since step {self.win_since} (D(x) > 0.99, "
                "D(G(z)) < 0.01): the generator gets almost no gradient; try the non-saturating loss, "
                "label smoothing, R1 or a lower D learning rate",
            )

    def check_diversity(self, ctx: TrainingContext) -> float | None:
        """The variety ratio of fresh samples now (None without real data to compare with)."""
        if not self.real_spread:
            return None
        ratio = spread(ctx.generate(64, seed=12345)) / self.real_spread
        self.peak_diversity = max(self.peak_diversity, ratio)
        if ratio >= self.min_diversity:
            self.warned.discard("collapse")
        elif self.peak_diversity >= 2 * self.min_diversity or ctx.state.step >= self.collapse_after:
            self._warn(
                ctx,
                "collapse",
                f"samples are collapsing: their variety is {ratio:.0%} of the data's "
                f"(under {self.min_diversity:.0%}; its best was {self.peak_diversity:.0%}); look at the "
                "grids, consider restarting from an earlier checkpoint",
            )
        return ratio

    def _warn(self, ctx: TrainingContext, kind: str, message: str) -> None:
        if kind in self.warned:
            return
        self.warned.add(kind)
        self.report(ctx, {"step": ctx.state.step, "warning": kind, "message": f"warning: {message}"})


def spread(images: torch.Tensor) -> float:
    """Mean pairwise Euclidean distance between uint8 images, scaled to [0, 1] pixels."""
    flat = images.reshape(len(images), -1).float() / 255
    n = len(flat)
    return float(torch.cdist(flat, flat).sum() / (n * (n - 1))) if n > 1 else 0.0


def _cpu_copy(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: _cpu_copy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu_copy(v) for v in obj)
    return obj
