"""The training run: data in, a run directory out (config, metrics, grids, checkpoints).

One :class:`TrainingRun` owns a run directory. Its loop is deliberately thin: the step itself lives in
:class:`~ganforge.train.trainer.Trainer`, files in :mod:`ganforge.checkpoint` and :mod:`ganforge.sampling`.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import torch

from ganforge.checkpoint import find_checkpoint, list_checkpoints, load_checkpoint, save_checkpoint
from ganforge.config import RunConfig, validate
from ganforge.data import ImageData, load_data, to_unit_range
from ganforge.errors import UserError
from ganforge.fileio import write_atomic
from ganforge.models import build_models
from ganforge.sampling import generate, make_grid, save_png
from ganforge.train.progress import Progress
from ganforge.train.trainer import Trainer


@dataclass
class TrainState:
    """Where a run is: global step, completed epochs, batches done in the current epoch, seconds trained."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    elapsed: float = 0.0


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; anything else as torch understands it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown device '{name}'; use auto, cpu or cuda[:N]") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device '{name}' asked for, but this PyTorch sees no CUDA GPU; use --device cpu")
    return device


def default_run_dir(preset: str) -> Path:
    """``runs/<preset>-<YYYYmmdd-HHMMSS>``."""
    return Path("runs") / f"{preset}-{datetime.now():%Y%m%d-%H%M%S}"


class TrainingRun:
    """Trains a config into ``run_dir``; ``resume=True`` continues from the run's newest checkpoint.

    Args:
        cfg: the run's configuration. On resume only its budget fields (epochs, steps, minutes) are
            taken; everything else comes from the checkpoint.
        run_dir: output folder (config.json, metrics.jsonl, samples/, checkpoints/).
        resume: continue an existing run.
        show_progress: print progress to stderr.
    """

    def __init__(
        self, cfg: RunConfig, run_dir: Path, resume: bool = False, show_progress: bool = True
    ) -> None:
        self.run_dir = Path(run_dir)
        checkpoint = None
        if resume:
            cfg, checkpoint = self._resume_point(cfg)
        else:
            self._check_fresh()
        self.cfg = validate(cfg)
        t = self.cfg.train
        self.device = resolve_device(t.device)
        torch.manual_seed(t.seed)  # weights initialise identically for a given seed
        self.data = load_data(self.cfg.data)
        if len(self.data) < t.batch_size:
            raise UserError(
                f"the data has {len(self.data)} images, fewer than one batch of {t.batch_size}; "
                "use a smaller --batch-size"
            )
        generator, discriminator = build_models(self.cfg.model, self.cfg.data)
        self.trainer = Trainer(generator, discriminator, t, self.cfg.model.latent_dim, self.device)
        seeded = torch.Generator().manual_seed(t.seed + 1)
        self.fixed_noise = torch.randn(t.grid_size**2, self.cfg.model.latent_dim, generator=seeded)
        self.state = TrainState()
        self.batches_per_epoch = math.ceil(len(self.data) / t.batch_size)
        self.progress = Progress(self._total_steps(), enabled=show_progress)
        self._stop_signal: str | None = None
        if checkpoint is not None:
            self._restore(checkpoint)
        else:
            self._start_dir(self.data)

    # ----- set-up -----------------------------------------------------------------------------------

    def _check_fresh(self) -> None:
        if list_checkpoints(self.run_dir):
            raise UserError(
                f"{self.run_dir} already holds a run; continue it with --resume {self.run_dir} "
                "or pick another --out"
            )

    def _resume_point(self, cfg: RunConfig) -> tuple[RunConfig, dict]:
        if not (self.run_dir / "config.json").is_file() and not list_checkpoints(self.run_dir):
            raise UserError(f"nothing to resume: {self.run_dir} is not a ganforge run directory")
        checkpoint = load_checkpoint(find_checkpoint(self.run_dir))
        saved = RunConfig.from_dict(checkpoint["config"])
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

    def _restore(self, checkpoint: dict) -> None:
        self.trainer.load_state_dict(checkpoint["trainer"])
        self.state = TrainState(**checkpoint["state"])
        self.fixed_noise = checkpoint["fixed_noise"]
        torch.set_rng_state(checkpoint["rng"]["torch"])
        if torch.cuda.is_available() and checkpoint["rng"].get("cuda"):
            torch.cuda.set_rng_state_all(checkpoint["rng"]["cuda"])
        self._truncate_metrics(self.state.step)
        self.progress.message(f"resumed {self.run_dir} at epoch {self.state.epoch} step {self.state.step}")

    def _truncate_metrics(self, step: int) -> None:
        # Lines logged after the checkpoint describe work that is about to be redone.
        path = self.run_dir / "metrics.jsonl"
        if not path.is_file():
            return
        kept = [ln for ln in path.read_text().splitlines() if ln.strip() and _line_step(ln) <= step]
        write_atomic(path, "".join(ln + "\n" for ln in kept).encode())

    def _total_steps(self) -> int | None:
        t = self.cfg.train
        by_epochs = t.epochs * self.batches_per_epoch if t.epochs else None
        limits = [s for s in (t.steps, by_epochs) if s]
        return min(limits) if limits else None

    # ----- the loop ---------------------------------------------------------------------------------

    def fit(self) -> TrainState:
        """Train until the budget (epochs, steps or minutes) is used up or a stop signal arrives."""
        with self._signals():
            self._session_start = time.monotonic()
            self._elapsed_before = self.state.elapsed
            self._reset_interval()
            saved_at = self.state.step if self.state.step else -1  # a resumed run starts at a checkpoint
            while not self._budget_reached():
                self._run_epoch()
                if self.state.batch_in_epoch == self.batches_per_epoch:
                    saved_at = self._end_epoch(saved_at)
                if self._stop_signal:
                    break
            self._log_interval()
            save_png(
                make_grid(
                    generate(self.trainer.sampler, self.fixed_noise), self.cfg.train.grid_size, scale=2
                ),
                self.run_dir / "samples" / "final.png",
            )
            if saved_at != self.state.step:
                self._checkpoint()
        if self._stop_signal:
            self.progress.message(
                f"stopped by {self._stop_signal} at step {self.state.step}; checkpoint saved. "
                f"Continue with: ganforge train --resume {self.run_dir}"
            )
        return self.state

    def _run_epoch(self) -> None:
        t = self.cfg.train
        order = torch.randperm(
            len(self.data), generator=torch.Generator().manual_seed(t.seed * 1_000_003 + self.state.epoch)
        )
        for b in range(self.state.batch_in_epoch, self.batches_per_epoch):
            idx = order[b * t.batch_size : (b + 1) * t.batch_size]
            stats = self.trainer.step(to_unit_range(self.data.images[idx], self.device))
            self._accumulate(stats, len(idx))
            self.state.step += 1
            self.state.batch_in_epoch = b + 1
            self._after_step()
            if self._stop_signal or self._budget_reached():
                return

    def _after_step(self) -> None:
        t, step = self.cfg.train, self.state.step
        if step % t.log_every == 0:
            self._log_interval()
        if t.sample_every and step % t.sample_every == 0:
            self._save_grid(f"step_{step:07d}.png")
        if t.checkpoint_every_steps and step % t.checkpoint_every_steps == 0:
            self._checkpoint()

    def _end_epoch(self, saved_at: int) -> int:
        self.state.epoch += 1
        self.state.batch_in_epoch = 0
        t = self.cfg.train
        if not t.sample_every:
            self._save_grid(f"epoch_{self.state.epoch:04d}.png")
        if t.checkpoint_every and self.state.epoch % t.checkpoint_every == 0:
            self._checkpoint()
            saved_at = self.state.step
        self.progress.message(
            f"epoch {self.state.epoch} done at step {self.state.step} ({self._elapsed():.0f}s trained)"
        )
        return saved_at

    def _budget_reached(self) -> bool:
        t, s = self.cfg.train, self.state
        if t.steps is not None and s.step >= t.steps:
            return True
        if t.epochs is not None and s.epoch >= t.epochs:
            return True
        return t.minutes is not None and time.monotonic() - self._session_start >= t.minutes * 60

    def _elapsed(self) -> float:
        return self._elapsed_before + time.monotonic() - self._session_start

    # ----- logging ----------------------------------------------------------------------------------

    def _reset_interval(self) -> None:
        self._sums: dict[str, torch.Tensor] = {}
        self._count = 0
        self._images = 0
        self._interval_start = time.monotonic()

    def _accumulate(self, stats: dict[str, torch.Tensor], n_images: int) -> None:
        # Sums stay on the device: reading a loss every step would force a sync every step.
        for key, value in stats.items():
            self._sums[key] = self._sums[key] + value if key in self._sums else value.clone()
        self._count += 1
        self._images += n_images

    def _log_interval(self) -> None:
        if not self._count:
            return
        seconds = time.monotonic() - self._interval_start
        means = {k: float(v) / self._count for k, v in self._sums.items()}
        self.state.elapsed = self._elapsed()
        record = {
            "step": self.state.step,
            "epoch": self.state.epoch + 1,
            **means,
            "images_per_sec": self._images / max(seconds, 1e-9),
            "wall_time": round(self.state.elapsed, 3),
        }
        with open(self.run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        total = self.progress.total
        rate = self._count / max(seconds, 1e-9)
        eta = (total - self.state.step) / rate if total else self._minutes_left()
        self.progress.update(record, eta)
        self._reset_interval()

    def _minutes_left(self) -> float | None:
        minutes = self.cfg.train.minutes
        return None if minutes is None else minutes * 60 - (time.monotonic() - self._session_start)

    # ----- files ------------------------------------------------------------------------------------

    def _save_grid(self, name: str) -> None:
        images = generate(self.trainer.sampler, self.fixed_noise)
        save_png(make_grid(images, self.cfg.train.grid_size, scale=2), self.run_dir / "samples" / name)

    def _checkpoint(self) -> None:
        self.state.elapsed = self._elapsed()
        rng = {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }
        state = {
            "config": self.cfg.to_dict(),
            "state": self.state.__dict__.copy(),
            "trainer": self.trainer.state_dict(),
            "fixed_noise": self.fixed_noise,
            "rng": rng,
        }
        save_checkpoint(self.run_dir, self.state.step, state, self.cfg.train.keep_checkpoints)

    @contextlib.contextmanager
    def _signals(self):
        """Ctrl-C / SIGTERM finish the current step, save a checkpoint and return cleanly."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, _frame):
            self._stop_signal = signal.Signals(signum).name

        previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, h in previous.items():
                signal.signal(s, h)


def _line_step(line: str) -> int:
    try:
        return int(json.loads(line).get("step", 0))
    except (ValueError, AttributeError):
        return 0
