"""Quality during training: metrics on the (EMA) generator every N steps, the best checkpoint, class collapse.

Each evaluation draws ``n`` images from fixed noise, so successive numbers differ only because the
generator changed. Results go to ``metrics.jsonl`` (``{"step", "quality": {...}}``), ``quality.png``
and, when the Fréchet distance improves, ``checkpoints/best.pt``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ganforge.checkpoint import checkpoint_dir, make_checkpoint, write_checkpoint
from ganforge.fileio import read_jsonl
from ganforge.latent import cycled_labels
from ganforge.metrics.evaluate import Reference, evaluate
from ganforge.metrics.extractors import Extractor
from ganforge.train.callbacks.base import Callback
from ganforge.train.callbacks.health import Report, warn_report
from ganforge.train.plots import plot_quality

if TYPE_CHECKING:
    from ganforge.train.context import TrainingContext

# A class is collapsing when it gets less than this share of the samples, or more than the upper one.
CLASS_SHARE_LOW, CLASS_SHARE_HIGH = 0.02, 0.30


class QualityEvaluator(Callback):
    """Evaluates the sampling generator every ``every`` steps and at the end of training.

    Args:
        every: steps between evaluations.
        reference: the real images' features to compare with (e.g. of the test split).
        extractor: the feature extractor (its name is in the metric names).
        n: images generated per evaluation.
        run_dir: where ``quality.png`` and ``checkpoints/best.pt`` go (None: neither is written).
        config: the run's config dict, stored inside ``best.pt``.
        report: receives the quality records and class-collapse warnings.
    """

    def __init__(
        self,
        every: int,
        reference: Reference,
        extractor: Extractor,
        n: int = 2000,
        run_dir: Path | None = None,
        config: dict[str, Any] | None = None,
        report: Report = warn_report,
    ) -> None:
        self.every = every
        self.reference = reference
        self.extractor = extractor
        self.n = n
        self.run_dir = Path(run_dir) if run_dir else None
        self.config = config or {}
        self.report = report
        self.best: float | None = None
        self.evaluated_at = -1
        self.history: list[dict[str, Any]] = []
        self._collapse_warned = False

    def on_train_begin(self, ctx: TrainingContext) -> None:
        # The run's earlier measurements, read once: the curve continues them, and a resumed run keeps
        # competing with the best it had.
        log = self.run_dir / "metrics.jsonl" if self.run_dir else None
        earlier = read_jsonl(log) if log and log.is_file() else []
        self.history = [r for r in earlier if "quality" in r and r.get("step", 0) <= ctx.state.step]
        if self.run_dir and (checkpoint_dir(self.run_dir) / "best.pt").is_file():
            scores = [r["quality"][self.fd_key] for r in self.history if self.fd_key in r["quality"]]
            self.best = min(scores) if scores else None

    def on_restore(self, ctx: TrainingContext) -> None:
        self.history = [r for r in self.history if r["step"] <= ctx.state.step]

    @property
    def fd_key(self) -> str:
        """The name of the Fréchet distance in the records, e.g. ``FD-mnist-cnn``."""
        return f"FD-{self.extractor.name}"

    def on_step_end(self, ctx: TrainingContext, stats: dict[str, torch.Tensor], n_images: int) -> None:
        if ctx.state.step % self.every == 0:
            self.evaluate(ctx)

    def on_train_end(self, ctx: TrainingContext) -> None:
        if self.evaluated_at != ctx.state.step and ctx.weights_finite():
            self.evaluate(ctx)

    def evaluate(self, ctx: TrainingContext) -> dict[str, Any]:
        """Evaluate now; returns the metrics."""
        images = ctx.generate(self.n, seed=0)
        classes = getattr(ctx, "num_classes", None)
        requested = cycled_labels(self.n, classes)
        result = evaluate(images, self.reference, self.extractor, seed=0, requested=requested)
        metrics = result["metrics"]
        self.evaluated_at = ctx.state.step
        record = {
            "step": ctx.state.step,
            "wall_time": round(ctx.state.elapsed, 3),  # training clock when the samples were drawn
            "quality": metrics,
            "provenance": result["provenance"],
            "message": self._summary(ctx, metrics),
        }
        self.history.append(record)
        self.report(ctx, record)
        if self.run_dir:
            plot_quality(self.history, self.run_dir / "quality.png")
        if self.best is None or metrics[self.fd_key] < self.best:
            self.best = metrics[self.fd_key]
            if self.run_dir:
                state = make_checkpoint(ctx.state_dict(), self.config, quality=metrics)
                write_checkpoint(checkpoint_dir(self.run_dir) / "best.pt", state)
        self._check_classes(ctx, metrics)
        return metrics

    def _summary(self, ctx: TrainingContext, metrics: dict[str, Any]) -> str:
        parts = [f"quality at step {ctx.state.step}: {self.fd_key} {metrics[self.fd_key]:.2f}"]
        if "classes_covered" in metrics:
            parts.append(f"classes covered {metrics['classes_covered']}")
        if "SWD" in metrics:
            parts.append(f"SWD {metrics['SWD']:.1f}")
        parts.append(f"precision {metrics['precision']:.2f} recall {metrics['recall']:.2f}")
        return ", ".join(parts)

    def _check_classes(self, ctx: TrainingContext, metrics: dict[str, Any]) -> None:
        shares = metrics.get("class_histogram")
        if not shares:
            return
        low = [i for i, s in enumerate(shares) if s < CLASS_SHARE_LOW]
        high = [i for i, s in enumerate(shares) if s > CLASS_SHARE_HIGH]
        if not (low or high):
            self._collapse_warned = False
            return
        if self._collapse_warned:
            return
        self._collapse_warned = True
        detail = "; ".join(
            text
            for text in (
                f"classes {low} under {CLASS_SHARE_LOW:.0%} of samples" if low else "",
                f"classes {high} over {CLASS_SHARE_HIGH:.0%}" if high else "",
            )
            if text
        )
        self.report(
            ctx,
            {
                "step": ctx.state.step,
                "warning": "class_collapse",
                "message": f"warning: class collapse: {detail}",
            },
        )
