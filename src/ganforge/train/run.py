"""A training run as the CLI sees it: a config in, a run directory out.

``TrainingRun`` decides the order of things: the process group (once), the run directory
(:mod:`~ganforge.train.rundir`: lock, resume point), the data, then the loop and the standard callbacks
from the builder (:mod:`~ganforge.train.build`); it turns Ctrl-C / SIGTERM into "finish the step,
save, stop" and a lost peer or a full disk into one line that says how to continue.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import torch

from ganforge.config import RunConfig, validate
from ganforge.data import load_data
from ganforge.devices import resolve_device
from ganforge.errors import UserError, WriteFailed
from ganforge.platforms import stop_signals
from ganforge.train import distributed
from ganforge.train.build import build_loop, quality_reference, standard_callbacks
from ganforge.train.callbacks import Callback
from ganforge.train.context import TrainState
from ganforge.train.loop import Budget, check_batch_size
from ganforge.train.progress import Progress
from ganforge.train.rundir import RunDirectory

__all__ = ["TrainState", "TrainingRun", "default_run_dir"]


def default_run_dir(preset: str) -> Path:
    """``runs/<preset>-<YYYYmmdd-HHMMSS>``."""
    return Path("runs") / f"{preset}-{datetime.now():%Y%m%d-%H%M%S}"


class TrainingRun:
    """Trains a config into ``run_dir``; ``resume=True`` continues from the run's newest checkpoint.

    Args:
        cfg: the run's configuration. On resume it may differ from the saved one only in its budget
            (epochs, steps, minutes); None continues the saved config with ``budget``.
        run_dir: output folder (config.json, metrics.jsonl, losses.png, samples/, checkpoints/).
        resume: continue an existing run.
        show_progress: print progress to stderr.
        budget: on resume without ``cfg``, the new budget as dotted fields ({"train.steps": 5000}).
    """

    def __init__(
        self,
        cfg: RunConfig | None,
        run_dir: Path,
        resume: bool = False,
        show_progress: bool = True,
        budget: dict[str, Any] | None = None,
    ) -> None:
        if cfg is None and not resume:
            raise ValueError("a new run needs its config")
        self.dir = RunDirectory(run_dir)
        self.run_dir = self.dir.path
        device = (cfg or self.dir.configured()).train.device
        # Under torchrun the process group comes first: every later step has to agree across processes.
        self.world, self.device = distributed.setup(resolve_device(device))
        self.progress = Progress(None, enabled=show_progress and self.world.main)
        self.stop_signal: str | None = None
        try:
            checkpoint = self._claim(cfg, resume, budget)
            self.loop = build_loop(self.cfg, self.device)  # every process: wrapping for DDP is collective
            self.loop.run_config = self.cfg.to_dict()
            self._start(checkpoint, resume)
        except BaseException:
            if self.world.main:
                self.dir.abandon()
            raise

    @classmethod
    def resuming(cls, run_dir: Path, budget: dict[str, Any], show_progress: bool = True) -> TrainingRun:
        """Continue ``run_dir`` as it was configured, with ``budget`` ({"train.epochs": 10}) replacing
        its budget when given."""
        return cls(None, run_dir, resume=True, show_progress=show_progress, budget=budget)

    def _claim(self, cfg: RunConfig | None, resume: bool, budget: dict[str, Any] | None) -> dict | None:
        """Rank 0 takes the directory and loads the data first; the others follow once it succeeded.

        Returns the checkpoint to start from (None for a new run)."""
        if not self.world.main:
            failed = distributed.broadcast_text(None)
            if failed is not None:
                raise UserError(f"stopped: rank 0 could not start ({failed})")
            cfg, checkpoint = self.dir.resume_point(cfg, budget) if resume else (cfg, None)
            self._load(cfg, checkpoint)
            return checkpoint
        try:
            cfg, checkpoint = self.dir.claim(cfg, resume, budget)
            self._load(cfg, checkpoint)
        except BaseException as exc:
            # The other processes wait for this outcome: tell them, or they would wait until the timeout.
            distributed.broadcast_text(" ".join(str(exc).splitlines()) or type(exc).__name__)
            raise
        distributed.broadcast_text(None)  # the others may read the directory now
        return checkpoint

    def _load(self, cfg: RunConfig, checkpoint: dict | None) -> None:
        """Validate the config and load the data (rank 0 first, so a folder is decoded only once)."""
        self.cfg = validate(cfg)
        self.data = load_data(self.cfg.data)
        check_batch_size(len(self.data), self.cfg.train.batch_size)
        if self.cfg.model.conditional and checkpoint is None:
            if not self.data.class_names:
                raise UserError(
                    f"--conditional needs labelled data; {self.data.name} has no classes "
                    "(a folder needs one sub-folder per class)"
                )
            self.cfg.model.num_classes = len(self.data.class_names)
        wanted = self.cfg.train.eval_every and self.world.main
        self.quality = quality_reference(self.cfg) if wanted else None

    def _start(self, checkpoint: dict | None, resume: bool) -> None:
        if checkpoint is not None:
            self.loop.load_state_dict(checkpoint)
            if self.world.main:
                # Lines logged after the checkpoint describe work that is about to be redone.
                self.dir.rewind_metrics(self.state.step)
            self.progress.message(
                f"resumed {self.run_dir} at epoch {self.state.epoch} step {self.state.step}"
            )
        elif self.world.main:
            self.dir.start(self.cfg, self.data, self.progress.message)
            if resume:
                self.progress.message(f"resumed {self.run_dir} at epoch 0 step 0 (it had no checkpoint yet)")

    @property
    def state(self) -> TrainState:
        """Where training is."""
        return self.loop.state

    def callbacks(self) -> list[Callback]:
        """The standard callbacks of a run directory (replace this method to add your own)."""
        return standard_callbacks(
            self.cfg, self.run_dir, self.world.main, self.progress, self._last_good, self.quality
        )

    def _last_good(self) -> dict | None:
        return self.dir.last_good(self.progress.message)

    def train(self) -> TrainState:
        """Train until the budget (epochs, steps or minutes) is used up or a stop signal arrives."""
        t = self.cfg.train
        if self.world.main:
            self.dir.lock.acquire()
        budget = Budget(t.epochs, t.steps, t.minutes, time.monotonic(), self.state.elapsed)
        try:
            with self._signals():
                state = self.loop.run(self.data, budget, t.batch_size, self.callbacks())
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
            self._release()
        if self.stop_signal:
            self.progress.message(
                f"stopped by {self.stop_signal} at step {state.step}; checkpoint saved. "
                f"Continue with: ganforge train --resume {self.run_dir}"
            )
        return state

    def _release(self) -> None:
        self.dir.lock.release()
        self.loop.trainer.release_distributed()  # teardown collects them before leaving the group
        distributed.teardown()

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        """Ctrl-C / SIGTERM finish the current step, then the callbacks save a checkpoint and return."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, _frame: object) -> None:
            self.stop_signal = signal.Signals(signum).name
            self.loop.stop_training = True

        previous = {s: signal.signal(s, handler) for s in stop_signals()}
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
