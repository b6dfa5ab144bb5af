"""The builder: a :class:`RunConfig` in, the objects a run trains with out (loop, callbacks, reference).

Kept apart from :mod:`ganforge.train.run` (which decides *when* to build and handles the run directory
and signals) so that what a run is made of can be read, and replaced, in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ganforge.config import RunConfig
from ganforge.metrics.evaluate import (
    Reference,
    default_against,
    default_samples,
    extractor_for,
    reference_for,
)
from ganforge.metrics.extractors import Extractor
from ganforge.models import build_models
from ganforge.train import distributed
from ganforge.train.callbacks import Callback, Checkpointer, ImageGrid, LossPlot, MetricsLogger
from ganforge.train.callbacks.health import DivergenceGuard, HealthMonitor, Report
from ganforge.train.callbacks.quality import QualityEvaluator
from ganforge.train.callbacks.tensorboard import TensorBoard
from ganforge.train.context import TrainingContext
from ganforge.train.loop import Loop
from ganforge.train.progress import Progress
from ganforge.train.trainer import Trainer


def build_loop(cfg: RunConfig, device: torch.device) -> Loop:
    """Networks (seeded), trainer and loop for ``cfg`` on ``device``."""
    t = cfg.train
    torch.manual_seed(t.seed)  # weights initialise identically for a given seed
    generator, discriminator = build_models(cfg.model, cfg.data)
    trainer = Trainer(generator, discriminator, t, cfg.model.latent_dim, device)
    loop = Loop(trainer, t, cfg.model.latent_dim, device)
    distributed.reseed(t.seed, 0)
    return loop


def quality_reference(cfg: RunConfig) -> tuple[Reference, Extractor]:
    """The reference and extractor of ``--eval-every``, built before training so a missing extractor
    fails at once and the reference features are computed (or read from the cache) once."""
    d = cfg.data
    against = cfg.train.eval_against or default_against(d.source)
    extractor = extractor_for(against)
    return reference_for(against, (d.channels, d.image_size, d.image_size), extractor), extractor


def standard_callbacks(
    cfg: RunConfig,
    run_dir: Path,
    main: bool,
    progress: Progress,
    last_good: Callable[[], dict[str, Any] | None],
    quality: tuple[Reference, Extractor] | None = None,
) -> list[Callback]:
    """The callbacks of ``ganforge train``, in order (the divergence guard first: it may rewind).

    Every process averages the logged statistics and agrees on checkpoints and recoveries; only the
    ``main`` process writes files and draws pictures.
    """
    t = cfg.train
    metrics = run_dir / "metrics.jsonl"
    logger = MetricsLogger(metrics if main else None, t.log_every, progress if main else None)
    loggers: list[MetricsLogger] = [logger]
    if t.tensorboard:
        loggers.append(TensorBoard(run_dir / "tensorboard", t.log_every, t.sample_every, cfg.to_dict()))

    def report(ctx: TrainingContext, record: dict[str, Any]) -> None:
        for each in loggers:
            each.event(ctx, record)

    guard = DivergenceGuard(t.log_every, t.max_restarts, t.restart_lr_factor, last_good, report=report)
    checkpointer = Checkpointer(
        run_dir, cfg.to_dict(), t.checkpoint_every, t.checkpoint_every_steps, t.keep_checkpoints
    )
    if not main:
        return [guard, *loggers, checkpointer]
    return [
        guard,
        *loggers,
        HealthMonitor(t.log_every, t.d_win_steps, t.min_diversity, t.sample_every, report=report),
        ImageGrid(run_dir / "samples", every_steps=t.sample_every),
        checkpointer,
        *_quality(cfg, run_dir, quality, report),
        LossPlot(logger, run_dir / "losses.png", every_steps=t.sample_every),
    ]


def _quality(
    cfg: RunConfig, run_dir: Path, quality: tuple[Reference, Extractor] | None, report: Report
) -> list[Callback]:
    if quality is None:
        return []
    reference, extractor = quality
    t = cfg.train
    n = t.eval_n or default_samples(extractor, 2000)
    return [QualityEvaluator(t.eval_every, reference, extractor, n, run_dir, cfg.to_dict(), report)]
