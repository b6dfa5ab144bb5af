"""A training run as the CLI sees it: a config in, a run directory out.

``TrainingRun`` builds the data, the networks and a :class:`~ganforge.gan.GAN` from a :class:`RunConfig`,
adds the standard callbacks (metrics.jsonl, grids, checkpoints, losses.png), handles resume and turns
Ctrl-C / SIGTERM into "finish the step, save, stop".
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import fields
from datetime import datetime
from pathlib import Path

import torch

from ganforge.checkpoint import list_checkpoints, load_newest_readable
from ganforge.config import RunConfig, validate
from ganforge.data import ImageData, load_data
from ganforge.errors import UserError, WriteFailed
from ganforge.fileio import remove_stale_temps, write_atomic
from ganforge.gan import GAN, TrainState, check_batch_size, resolve_device
from ganforge.metrics.evaluate import Reference, build_reference, load_reference
from ganforge.metrics.extractors import Extractor, default_extractor, get_extractor
from ganforge.models import build_models
from ganforge.train import distributed
from ganforge.train.callbacks import (
    Callback,
    Checkpointer,
    ImageGrid,
    LossPlot,
    MetricsLogger,
    truncate_metrics,
)
from ganforge.train.health import DivergenceGuard, HealthMonitor, Report
from ganforge.train.lock import RunLock
from ganforge.train.progress import Progress
from ganforge.train.quality import QualityEvaluator
from ganforge.train.tensorboard import TensorBoard

__all__ = ["TrainState", "TrainingRun", "default_run_dir"]


def default_run_dir(preset: str) -> Path:
    """``runs/<preset>-<YYYYmmdd-HHMMSS>``."""
    return Path("runs") / f"{preset}-{datetime.now():%Y%m%d-%H%M%S}"


class TrainingRun:
    """Trains a config into ``run_dir``; ``resume=True`` continues from the run's newest checkpoint.

    Args:
        cfg: the run's configuration. On resume only its budget fields (epochs, steps, minutes) are
            taken; everything else comes from the checkpoint.
        run_dir: output folder (config.json, metrics.jsonl, losses.png, samples/, checkpoints/).
        resume: continue an existing run.
        show_progress: print progress to stderr.
    """

    def __init__(
        self, cfg: RunConfig, run_dir: Path, resume: bool = False, show_progress: bool = True
    ) -> None:
        self.run_dir = Path(run_dir)
        # Under torchrun the process group comes first: every later step has to agree across processes.
        self.world, _ = distributed.setup(resolve_device(cfg.train.device))
        self.lock = RunLock(self.run_dir)
        self.progress = Progress(None, enabled=show_progress and self.world.main)
        self.stop_signal: str | None = None
        created = not self.run_dir.exists()
        try:
            if self.world.main:
                cfg, checkpoint = self._prepare_main(cfg, resume)
            else:
                failed = distributed.broadcast_text(None)
                if failed is not None:
                    raise UserError(f"stopped: rank 0 could not start ({failed})")
                cfg, checkpoint = self._resume_point(cfg) if resume else (cfg, None)
                self._load(cfg, checkpoint)
            self._build(checkpoint, resume)
        except BaseException:
            if self.world.main:
                self._abandon(created)
            raise

    def _prepare_main(self, cfg: RunConfig, resume: bool) -> tuple[RunConfig, dict | None]:
        try:
            if resume and not self.run_dir.is_dir():
                raise UserError(f"nothing to resume: {self.run_dir} does not exist")
            self.lock.acquire()  # before anything in the directory is read or written
            cfg, checkpoint = self._checked_start(cfg, resume)
            self._load(cfg, checkpoint)
        except BaseException as exc:
            # The other processes wait for this outcome: tell them, or they would wait until the timeout.
            distributed.broadcast_text(" ".join(str(exc).splitlines()) or type(exc).__name__)
            raise
        distributed.broadcast_text(None)  # the others may read the directory now
        return cfg, checkpoint

    def _abandon(self, created: bool) -> None:
        self.lock.release()
        if created:  # a mistake in the input leaves no empty run directory behind
            with contextlib.suppress(OSError):  # also when --out could not be created at all
                (self.run_dir / ".lock").unlink(missing_ok=True)
                self.run_dir.rmdir()  # only if nothing else was written

    def _checked_start(self, cfg: RunConfig, resume: bool) -> tuple[RunConfig, dict | None]:
        if resume:
            remove_stale_temps(self.run_dir)  # half-written files of a killed process
            return self._resume_point(cfg)
        if list_checkpoints(self.run_dir):
            raise UserError(
                f"{self.run_dir} already holds a run; continue it with --resume {self.run_dir} "
                "or pick another --out"
            )
        return cfg, None

    def _load(self, cfg: RunConfig, checkpoint: dict | None) -> None:
        """Validate the config and load the data (rank 0 first, so a folder is decoded only once)."""
        self.cfg = validate(cfg)
        t = self.cfg.train
        self.data = load_data(self.cfg.data)
        check_batch_size(len(self.data), t.batch_size)
        if self.cfg.model.conditional and checkpoint is None:
            if not self.data.class_names:
                raise UserError(
                    f"--conditional needs labelled data; {self.data.name} has no classes "
                    "(a folder needs one sub-folder per class)"
                )
            self.cfg.model.num_classes = len(self.data.class_names)
        self.quality_setup = self._quality_setup() if t.eval_every and self.world.main else None

    def _build(self, checkpoint: dict | None, resume: bool) -> None:
        """Networks and optimisers (every process: wrapping them for DDP is collective), then the state."""
        t = self.cfg.train
        torch.manual_seed(t.seed)  # weights initialise identically for a given seed
        generator, discriminator = build_models(self.cfg.model, self.cfg.data)
        self.gan = GAN(generator, discriminator, config=t, latent_dim=self.cfg.model.latent_dim)
        if checkpoint is not None:
            self.gan.load_state_dict(checkpoint)
            if self.world.main:
                # Lines logged after the checkpoint describe work that is about to be redone.
                truncate_metrics(self.run_dir / "metrics.jsonl", self.gan.state.step)
            self.progress.message(
                f"resumed {self.run_dir} at epoch {self.gan.state.epoch} step {self.gan.state.step}"
            )
        elif self.world.main:
            self._start_dir(self.data)
            if resume:
                self.progress.message(f"resumed {self.run_dir} at epoch 0 step 0 (it had no checkpoint yet)")

    @property
    def state(self) -> TrainState:
        """Where training is."""
        return self.gan.state

    def callbacks(self) -> list[Callback]:
        """The standard callbacks of a run directory (the divergence guard first: it may rewind)."""
        t = self.cfg.train
        metrics = self.run_dir / "metrics.jsonl"
        main = self.world.main
        # Every process averages the logged statistics and agrees on checkpoints and recoveries; only
        # rank 0 writes files and draws pictures.
        logger = MetricsLogger(metrics if main else None, t.log_every, self.progress if main else None)
        loggers: list[MetricsLogger] = [logger]
        if t.tensorboard:
            board = self.run_dir / "tensorboard"
            loggers.append(TensorBoard(board, t.log_every, t.sample_every, self.cfg.to_dict()))

        def report(gan: GAN, record: dict) -> None:
            for each in loggers:
                each.event(gan, record)

        everywhere: list[Callback] = [
            DivergenceGuard(t.log_every, t.max_restarts, t.restart_lr_factor, self._last_good, report=report),
            *loggers,
        ]
        rank0: list[Callback] = [
            HealthMonitor(t.log_every, t.d_win_steps, t.min_diversity, t.sample_every, report=report),
            ImageGrid(self.run_dir / "samples", every_steps=t.sample_every),
        ]
        checkpointer = Checkpointer(
            self.run_dir, self.cfg.to_dict(), t.checkpoint_every, t.checkpoint_every_steps, t.keep_checkpoints
        )
        plots = [
            *self._quality(report),
            LossPlot(metrics, self.run_dir / "losses.png", every_steps=t.sample_every),
        ]
        return everywhere + (rank0 if main else []) + [checkpointer] + (plots if main else [])

    def _quality_setup(self) -> tuple[Reference, Extractor]:
        # Built before training starts, so a missing extractor or reference fails at once, and the
        # reference features are computed (or read from the cache) once, not at every evaluation.
        t, source = self.cfg.train, self.cfg.data.source
        # Digits against their test split; other data (twemoji, folders) against the training images
        # themselves, with EfficientNet-Lite0 features and the SWD.
        against = t.eval_against or (f"{source}:test" if source in ("mnist", "fashion-mnist") else source)
        d = self.cfg.data
        data, name = load_reference(against, (d.channels, d.image_size, d.image_size))
        extractor = get_extractor(default_extractor(name.split(":")[0]))
        return build_reference(data, name, extractor), extractor

    def _quality(self, report: Report) -> list[Callback]:
        if self.quality_setup is None:
            return []
        reference, extractor = self.quality_setup
        t = self.cfg.train
        evaluator = QualityEvaluator(
            t.eval_every, reference, extractor, t.eval_n, self.run_dir, self.cfg.to_dict(), report
        )
        return [evaluator]

    def _last_good(self) -> dict | None:
        # Checkpoints are only written from finite states, so the newest readable one is good.
        if not list_checkpoints(self.run_dir):
            return None
        return load_newest_readable(self.run_dir, self.progress.message)

    def fit(self) -> TrainState:
        """Train until the budget (epochs, steps or minutes) is used up or a stop signal arrives."""
        t = self.cfg.train
        if self.world.main:
            self.lock.acquire()
        try:
            with self._signals():
                state = self.gan.fit(
                    self.data,
                    epochs=t.epochs,
                    steps=t.steps,
                    minutes=t.minutes,
                    batch_size=t.batch_size,
                    callbacks=self.callbacks(),
                )
        except WriteFailed as exc:
            raise WriteFailed(
                f"{exc}. Training stopped at step {self.state.step}; free space, then continue with: "
                f"ganforge train --resume {self.run_dir}"
            ) from None
        except (torch.distributed.DistError, RuntimeError) as exc:
            if not _lost_peer(exc):
                raise
            raise UserError(
                f"rank {self.world.rank} lost the other processes at step {self.state.step} "
                f"({_first_line(exc)}); the run continues from its last checkpoint with: "
                f"ganforge train --resume {self.run_dir}"
            ) from None
        finally:
            self.lock.release()
            self.gan.trainer.release_distributed()  # teardown collects them before leaving the group
            distributed.teardown()
        if self.stop_signal:
            self.progress.message(
                f"stopped by {self.stop_signal} at step {state.step}; checkpoint saved. "
                f"Continue with: ganforge train --resume {self.run_dir}"
            )
        return state

    # ----- run directory --------------------------------------------------------------------------

    def _resume_point(self, cfg: RunConfig) -> tuple[RunConfig, dict | None]:
        config_file = self.run_dir / "config.json"
        if not list_checkpoints(self.run_dir):
            if not config_file.is_file():
                raise UserError(f"nothing to resume: {self.run_dir} is not a ganforge run directory")
            # Stopped before its first checkpoint: nothing was saved, so it starts over as configured.
            saved, checkpoint = RunConfig.load(config_file), None
        else:
            checkpoint = load_newest_readable(self.run_dir, lambda text: print(text, file=sys.stderr))
            saved = RunConfig.from_dict(checkpoint["config"])
            if config_file.is_file():
                _check_same_run(RunConfig.load(config_file), saved)
        # Only the budget may change on resume: a different model or data would not be this run.
        saved.train.epochs, saved.train.steps, saved.train.minutes = (
            cfg.train.epochs,
            cfg.train.steps,
            cfg.train.minutes,
        )
        return saved, checkpoint

    def _start_dir(self, data: ImageData) -> None:
        (self.run_dir / "samples").mkdir(parents=True, exist_ok=True)
        self.cfg.save(self.run_dir / "config.json")
        (self.run_dir / "metrics.jsonl").write_text("")
        if data.skipped:
            text = f"{len(data.skipped)} files skipped (unreadable):\n" + "\n".join(data.skipped) + "\n"
            write_atomic(self.run_dir / "skipped_files.txt", text.encode())
            self.progress.message(f"skipped {len(data.skipped)} unreadable files; see skipped_files.txt")

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        """Ctrl-C / SIGTERM finish the current step, then the callbacks save a checkpoint and return."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, _frame: object) -> None:
            self.stop_signal = signal.Signals(signum).name
            self.gan.stop_training = True

        previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, h in previous.items():
                signal.signal(s, h)


def _lost_peer(exc: BaseException) -> bool:
    """A collective failed because another process died or stopped answering (gloo / NCCL wording)."""
    if isinstance(exc, torch.distributed.DistError):
        return True
    text = str(exc)
    return distributed.size() > 1 and any(
        m in text for m in ("gloo", "NCCL", "Connection closed", "timed out")
    )


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0][:200] if lines else type(exc).__name__


def _check_same_run(configured: RunConfig, checkpointed: RunConfig) -> None:
    """A checkpoint copied in from another run (another preset, model or data) is refused, by name."""
    pairs = {
        "preset": (configured.preset, checkpointed.preset),
        "model": (configured.model, checkpointed.model),
        "data.source": (configured.data.source, checkpointed.data.source),
        "data.image_size": (configured.data.image_size, checkpointed.data.image_size),
        "data.channels": (configured.data.channels, checkpointed.data.channels),
    }
    for name, (mine, theirs) in pairs.items():
        if mine != theirs:
            if name == "model":
                diff = [f.name for f in fields(mine) if getattr(mine, f.name) != getattr(theirs, f.name)]
                name, mine, theirs = f"model.{diff[0]}", getattr(mine, diff[0]), getattr(theirs, diff[0])
            raise UserError(
                f"the newest checkpoint does not belong to this run: its {name} is {theirs!r}, "
                f"config.json says {mine!r}; move the foreign checkpoint out of checkpoints/"
            )
