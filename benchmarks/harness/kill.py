"""SIGKILL a training process again and again, resume it each time, and check nothing was lost.

Each cycle starts ``ganforge train`` (the first fresh, the rest with ``--resume``) and kills it with
SIGKILL at one of three moments, in turn: at a random time while it trains, half-way through its
1st or 2nd checkpoint write, and half-way through its 1st or 2nd sample-grid write. The
"half-way" moments are made reachable by running the child with torch.save / PIL's save slowed
down (they write half the bytes, raise a marker file, pause 0.3 s, then finish), so the kill lands
inside the write every time.

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
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from ganforge.checkpoint import list_checkpoints, load_checkpoint
from ganforge.errors import UserError
from ganforge.fileio import read_jsonl

MODES = ("random", "checkpoint-write", "sample-write")

# Runs inside the child: slow, observable writes, then the normal CLI.
CHILD = r"""
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
sys.exit(main(sys.argv[1:]))
"""

TRAIN_FLAGS = [
    *("mnist", "--limit", "256", "--batch-size", "32", "--device", "cpu", "--seed", "5"),
    *("--log-every", "1", "--sample-every", "5", "--checkpoint-every-steps", "3", "--keep-checkpoints", "3"),
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
    rng = random.Random(seed)
    marks = Path(tempfile.mkdtemp(prefix="kill-marks-"))
    env = {**os.environ, "KILL_HARNESS_MARKS": str(marks), "PYTHONUNBUFFERED": "1"}
    log = run_dir.parent / f"{run_dir.name}.stderr"
    report: list[Kill] = []
    for cycle in range(kills + 1):
        last = cycle == kills
        # Every child but the last trains "forever" until killed; the last finishes a few steps on.
        budget = ["--steps", str(newest_complete(run_dir) + final_steps if last else 10**6)]
        args = ["train", "--resume", str(run_dir), *budget] if cycle else ["train", *TRAIN_FLAGS, *budget]
        args += [] if cycle else ["--out", str(run_dir)]
        with open(log, "w") as err:
            child = subprocess.Popen([sys.executable, "-c", CHILD, *args], env=env, stderr=err, stdout=err)
        child.log = log  # type: ignore[attr-defined]  # for error messages
        if cycle:
            report[-1].resumed_at = _wait_resumed(log, child)
        if last:
            assert child.wait(timeout=600) == 0, log.read_text()
            break
        mode = MODES[cycle % len(MODES)]
        _wait_for(lambda: _training(run_dir, log), child)
        if mode == "random":
            time.sleep(rng.uniform(0.0, 2.0))
        else:
            # Inside the 1st or 2nd such write of this process, so the run also moves on.
            for _ in range(rng.randint(1, 2)):
                _wait_for(lambda mode=mode: not (marks / mode).exists(), child)
                _wait_for(lambda mode=mode: (marks / mode).exists(), child)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        (marks / mode).unlink(missing_ok=True)
        temps = [p for p in run_dir.rglob("*") if ".tmp" in p.name]
        report.append(Kill(mode, _logged_step(run_dir), newest_complete(run_dir), temp_files=len(temps)))
    for kill in report:
        assert kill.resumed_at == kill.newest_complete, f"resumed at {kill.resumed_at}, expected {kill}"
    check_consistent(run_dir)
    return report


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
