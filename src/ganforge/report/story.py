"""What a run directory says about its run, read tolerantly.

Any file may be missing (a run in progress, a run stopped early), half-written (a crash, a full disk)
or damaged: each such file becomes a line in :attr:`RunStory.problems` and the rest is still read.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from ganforge.checkpoint import checkpoint_dir, list_checkpoints
from ganforge.errors import UserError
from ganforge.fileio import read_jsonl_counted
from ganforge.sampling import sample_grids
from ganforge.train.lock import training_pid

MAX_FRAMES = 24  # grids shown in the strip and the GIF: enough for the story, keeps the file small
_RUN_FILES = ("config.json", "metrics.jsonl", "samples", "checkpoints")


@dataclass
class Picture:
    """A grid from ``samples/``: its label ("step 400") and the image."""

    label: str
    image: Image.Image


@dataclass
class CheckpointInfo:
    """A checkpoint file: name, training step (None for best.pt when unknown), size in bytes."""

    name: str
    step: int | None
    size: int
    best: bool = False


@dataclass
class RunStory:
    """Everything the report shows, gathered once from the run directory."""

    run_dir: Path
    config: dict[str, Any] | None
    records: list[dict[str, Any]]
    grids: list[Picture]
    grid_count: int
    final: Picture | None
    checkpoints: list[CheckpointInfo]
    training_pid: int | None
    problems: list[str] = field(default_factory=list)

    def losses(self) -> list[dict[str, Any]]:
        """The periodic training-statistics lines (losses, mean D outputs, speed)."""
        return [r for r in self.records if "d_loss" in r and isinstance(r.get("step"), (int, float))]

    def events(self) -> list[dict[str, Any]]:
        """Warnings, divergence restarts and other events, in log order."""
        return [r for r in self.records if "warning" in r or "event" in r]

    def quality(self) -> list[dict[str, Any]]:
        """Quality records as ``{"step", "metrics", "provenance", "source"}``, from training and ``eval``."""
        out = []
        for r in self.records:
            if isinstance(r.get("quality"), dict):
                out.append(
                    {
                        "step": r.get("step"),
                        "metrics": r["quality"],
                        "provenance": r.get("provenance"),
                        "source": "during training",
                    }
                )
            elif isinstance(r.get("eval"), dict) and isinstance(r["eval"].get("metrics"), dict):
                out.append(
                    {
                        "step": r.get("step"),
                        "metrics": r["eval"]["metrics"],
                        "provenance": r["eval"].get("provenance"),
                        "source": "ganforge eval",
                    }
                )
        return out

    def last_step(self) -> int | None:
        """The newest step any record or checkpoint mentions."""
        steps = [r["step"] for r in self.records if isinstance(r.get("step"), int)]
        steps += [c.step for c in self.checkpoints if c.step is not None]
        return max(steps) if steps else None


def read_story(run_dir: Path) -> RunStory:
    """Read ``run_dir`` into a :class:`RunStory`.

    Raises:
        UserError: ``run_dir`` is not a directory, or holds none of a run's files.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"run directory {run_dir} does not exist; give the --out folder of a training run")
    if not any((run_dir / name).exists() for name in _RUN_FILES):
        raise UserError(
            f"{run_dir} does not look like a ganforge run (no config.json, metrics.jsonl, samples/ or "
            "checkpoints/); give the --out folder of a training run"
        )
    problems: list[str] = []
    config = _read_config(run_dir / "config.json", problems)
    records = _read_records(run_dir / "metrics.jsonl", problems)
    grids, count = _read_grids(run_dir / "samples", problems)
    final = _open_picture(run_dir / "samples" / "final_grid.png", "final samples", problems)
    story = RunStory(run_dir, config, records, grids, count, final, [], training_pid(run_dir), problems)
    story.checkpoints = _checkpoints(run_dir, story.quality(), problems)
    return story


def _read_config(path: Path, problems: list[str]) -> dict[str, Any] | None:
    if not path.is_file():
        problems.append("config.json is missing: preset, data and settings are unknown")
        return None
    try:
        config = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        problems.append(f"config.json cannot be read ({type(exc).__name__}: {exc})")
        return None
    if not isinstance(config, dict):
        problems.append("config.json is damaged: not a JSON object")
        return None
    return config


def _read_records(path: Path, problems: list[str]) -> list[dict[str, Any]]:
    if not path.is_file():
        problems.append("metrics.jsonl is missing: no losses, quality or events to show")
        return []
    try:
        records, bad = read_jsonl_counted(path)
    except OSError as exc:
        problems.append(f"metrics.jsonl cannot be read ({exc.strerror})")
        return []
    if bad:
        problems.append(
            f"metrics.jsonl: {bad} damaged line(s) skipped (a crash or a full disk can cut the last)"
        )
    return records


def _read_grids(samples: Path, problems: list[str]) -> tuple[list[Picture], int]:
    found = sample_grids(samples)
    if not found:
        problems.append("no sample grids yet (samples/step_*.png or epoch_*.png)")
        return [], 0
    # Evenly spaced, always keeping the first and the newest.
    keep = sorted({round(i * (len(found) - 1) / (MAX_FRAMES - 1)) for i in range(MAX_FRAMES)})
    pictures = []
    for number, kind, path in (found[i] for i in keep if i < len(found)):
        picture = _open_picture(path, f"{kind} {number}", problems)
        if picture is not None:
            pictures.append(picture)
    return pictures, len(found)


def _open_picture(path: Path, label: str, problems: list[str]) -> Picture | None:
    if not path.is_file():
        return None
    try:
        with Image.open(path) as image:
            image.load()
            return Picture(label, image.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        problems.append(f"{path.parent.name}/{path.name} is damaged and not shown ({type(exc).__name__})")
        return None


def _checkpoints(run_dir: Path, quality: list[dict[str, Any]], problems: list[str]) -> list[CheckpointInfo]:
    found = [CheckpointInfo(p.name, int(p.stem.split("_")[1]), _size(p)) for p in list_checkpoints(run_dir)]
    best = checkpoint_dir(run_dir) / "best.pt"
    if best.is_file():
        found.append(CheckpointInfo("best.pt", _best_step(quality), _size(best), best=True))
    if not found:
        problems.append("no checkpoints yet (checkpoints/step_*.pt)")
    for c in found:
        if c.size == 0:
            problems.append(f"checkpoints/{c.name} is empty (damaged)")
    return found


def _best_step(quality: list[dict[str, Any]]) -> int | None:
    """The step of the lowest Fréchet distance measured during training: what best.pt holds."""
    scored = [
        (value, q["step"])
        for q in quality
        if q["source"] == "during training"
        for key, value in q["metrics"].items()
        if key.startswith("FD-") and isinstance(value, (int, float)) and math.isfinite(value)
    ]
    return min(scored)[1] if scored else None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
