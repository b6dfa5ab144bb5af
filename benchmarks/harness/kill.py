"""SIGKILL a training process again and again, resume it each time, and check nothing was lost.

Each cycle starts ``ganforge train`` (the first fresh, the rest with ``--resume``) and kills it with
SIGKILL at one of three moments, in turn: at a random time while it trains, half-way through its
1st or 2nd checkpoint write, and half-way through its 1st or 2nd sample-grid write. The
"half-way" moments are made reachable by running the child with torch.save / PIL's save slowed
down (they write half the bytes, raise a marker file, pause 0.3 s, then finish), so the kill lands
inside the write every time. On Linux each process is forked from a zygote that has imported torch and
ganforge once (``harness/zygote.py``): a process of its own, killed and resumed like any other, without
three seconds of imports per kill.

After every kill the harness checks that the next resume starts from the newest complete checkpoint,
and at the end that the run directory is consistent (no temporary files, metrics steps increasing,
every checkpoint readable, every PNG readable) and the final weights are finite.

``tests/train/test_kill_resume.py`` runs it with 21 kills and asserts; ``benchmarks/kill_resume.py``
runs it as long as asked and prints one line per kill:

    python benchmarks/kill_resume.py --kills 30
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from ganforge.checkpoint import list_checkpoints, load_checkpoint
from ganforge.errors import UserError
from ganforge.fileio import read_jsonl

from .zygote import Child, Zygote

MODES = ("random", "checkpoint-write", "sample-write")

# Runs once before the children start (in the zygote): the imports, and slow, observable writes.
PRELUDE = r"""
import io, os, sys, time
from pathlib import Path
import torch
from PIL import Image

marks = Path(os.environ["KILL_HARNESS_MARKS"])

def halting(kind, write):
    def save(obj, target, *args, **kwargs):
        buffer = io.BytesIO()
        write(obj, buffer, *args, **kwargs)
        data = buffer.getvalue()
        with open(target, "wb") as f:
            f.write(data[: len(data) // 2])
            f.flush()
            (marks / kind).touch()
            time.sleep(0.3)
            f.write(data[len(data) // 2 :])
        (marks / kind).unlink()
    return save

torch.save = halting("checkpoint-write", torch.save)
pil_save = Image.Image.save
Image.Image.save = lambda self, fp, format=None, **kw: (
    halting("sample-write", lambda im, buf: pil_save(im, buf, format=format or "PNG", **kw))(self, fp)
    if isinstance(fp, (str, os.PathLike)) and Path(fp).parent.name == "samples"
    else pil_save(self, fp, format=format, **kw)
)
from ganforge.cli import main
import torch._dynamo  # (what the first optimiser imports: another second and a half)
"""
# Each child: the normal CLI.
CHILD = "sys.exit(main(sys.argv[1:]))\n"

TRAIN_FLAGS = [
    *("mnist", "--limit", "256", "--batch-size", "32", "--device", "cpu", "--seed", "5"),
    *("--log-every", "1", "--sample-every", "5", "--checkpoint-every-steps", "3", "--keep-checkpoints", "3"),
    # The EMA generator's BatchNorm statistics are measured before every save: on 64 samples, not 1024.
    *("--ema-norm-samples", "64"),
]


@dataclass
class Kill:
    """One cycle: how it was killed, the last step logged before, and where the next resume started."""

    mode: str
    logged_step: int
    newest_complete: int
    resumed_at: int | None = None
    temp_files: int = 0

    @property
    def lost_steps(self) -> int:
        return self.logged_step - self.newest_complete


def run(run_dir: Path, kills: int, seed: int = 0, final_steps: int = 6) -> list[Kill]:
    """Kill-and-resume ``kills`` times into ``run_dir``, then train to the end; returns every kill.

    Raises:
        AssertionError: a resume did not start from the newest complete checkpoint, or the run
            directory is inconsistent at the end.
    """
    marks = Path(tempfile.mkdtemp(prefix="kill-marks-"))
    env = {**os.environ, "KILL_HARNESS_MARKS": str(marks), "PYTHONUNBUFFERED": "1"}
    with Zygote(PRELUDE, env) as zygote:
        cycles = _Cycles(zygote, run_dir, marks, random.Random(seed))
        for cycle in range(kills):
            cycles.kill_one(MODES[cycle % len(MODES)])
        cycles.finish(final_steps)
    for kill in cycles.report:
        assert kill.resumed_at == kill.newest_complete, f"resumed at {kill.resumed_at}, expected {kill}"
    check_consistent(run_dir)
    return cycles.report


class _Cycles:
    """Training processes started one after another into one run directory, each killed but the last."""

    def __init__(self, zygote: Zygote, run_dir: Path, marks: Path, rng: random.Random) -> None:
        self.zygote, self.run_dir, self.marks, self.rng = zygote, run_dir, marks, rng
        self.log = run_dir.parent / f"{run_dir.name}.stderr"
        self.report: list[Kill] = []

    def kill_one(self, mode: str) -> None:
        """Start (or resume) training, SIGKILL it at a moment of kind ``mode``, and note what was left."""
        child = self._start(10**6)  # trains "forever" until killed
        _wait_for(lambda: _training(self.run_dir, self.log), child)
        if mode == "random":
            time.sleep(self.rng.uniform(0.0, 2.0))
        else:
            # Inside the 1st or 2nd such write of this process, so the run also moves on.
            for _ in range(self.rng.randint(1, 2)):
                _wait_for(lambda: not (self.marks / mode).exists(), child)
                _wait_for(lambda: (self.marks / mode).exists(), child)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        (self.marks / mode).unlink(missing_ok=True)
        temps = [p for p in self.run_dir.rglob("*") if ".tmp" in p.name]
        newest = newest_complete(self.run_dir)
        self.report.append(Kill(mode, _logged_step(self.run_dir), newest, temp_files=len(temps)))

    def finish(self, final_steps: int) -> None:
        """Resume once more and train ``final_steps`` past the newest checkpoint to a clean end."""
        child = self._start(newest_complete(self.run_dir) + final_steps)
        assert child.wait(timeout=600) == 0, self.log.read_text()

    def _start(self, steps: int) -> Child | subprocess.Popen:
        fresh = not self.report
        budget = ["--steps", str(steps)]
        if fresh:
            args = ["train", *TRAIN_FLAGS, *budget, "--out", str(self.run_dir)]
        else:
            args = ["train", "--resume", str(self.run_dir), *budget]
        child = self.zygote.start(CHILD, args, self.log)
        child.log = self.log  # type: ignore[union-attr]  # for error messages
        if not fresh:
            self.report[-1].resumed_at = _wait_resumed(self.log, child)
        return child


def check_consistent(run_dir: Path) -> None:
    """No temp files, strictly increasing metrics steps, readable checkpoints and PNGs, finite weights."""
    assert not [p for p in run_dir.rglob("*") if ".tmp" in p.name], "temporary files left behind"
    steps = [r["step"] for r in read_jsonl(run_dir / "metrics.jsonl") if "d_loss" in r]
    assert steps == sorted(set(steps)), "metrics.jsonl repeats or reorders steps"
    assert len(list_checkpoints(run_dir)) <= 3
    for png in (run_dir / "samples").glob("*.png"):
        with Image.open(png) as image:
            image.load()
    state = load_checkpoint(list_checkpoints(run_dir)[-1])
    weights = [*state["trainer"]["G"].values(), *state["trainer"]["D"].values()]
    assert all(torch.isfinite(w).all() for w in weights if w.is_floating_point()), "non-finite weights"


def _training(run_dir: Path, log: Path) -> bool:
    # The child is past start-up once it has printed a progress line of its own.
    return "img/s" in (log.read_text() if log.exists() else "")


def _wait_resumed(log: Path, child: subprocess.Popen) -> int:
    found: list[int] = []

    def resumed() -> bool:
        match = re.search(r"resumed .* at epoch \d+ step (\d+)", log.read_text())
        found.extend([int(match.group(1))] if match else [])
        return bool(match)

    _wait_for(resumed, child)
    return found[0]


def _wait_for(predicate, child: subprocess.Popen, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if child.poll() is not None:
            tail = Path(child.log).read_text()[-800:]  # type: ignore[attr-defined]
            raise AssertionError(f"the training process ended early with {child.returncode}:\n{tail}")
        if time.monotonic() > deadline:
            child.kill()
            raise AssertionError("timed out")
        time.sleep(0.01)


def _logged_step(run_dir: Path) -> int:
    steps = [r["step"] for r in read_jsonl(run_dir / "metrics.jsonl") if "d_loss" in r]
    return max(steps, default=0)


def newest_complete(run_dir: Path) -> int:
    for path in reversed(list_checkpoints(run_dir)):
        try:
            return int(load_checkpoint(path)["state"]["step"])
        except UserError:
            continue
    return 0
