"""What the local page can ask of a run: its facts, a grid from a seed, a walk between two seeds.

Every request is validated here before any work (:func:`parse_grid`, :func:`parse_walk`): integers in
range, a cap on images per request, and a checkpoint chosen by *name* from the run's own listing, so
no request can make the server read a file outside the run directory. Generators are loaded on first
use and kept (a few at a time); one lock serialises loading and drawing, because inference switches a
shared module between train and eval mode and concurrent requests must not see each other's state.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from ganforge.checkpoint import checkpoint_dir, list_checkpoints
from ganforge.errors import UserError
from ganforge.latent import seeded_noise, truncate
from ganforge.sampling import generate, load_run_generator, make_grid, side_by_side, walk_frames

MAX_IMAGES = 64  # images per grid request: a 64-image grid of 256 px is already 2048 px wide
MAX_FRAMES = 24  # frames per walk request
MAX_SEED = 2**31 - 1
MAX_WAITING = 16  # drawings queued behind the one in progress before new ones are turned away
CACHED_GENERATORS = 3
_INT = re.compile(r"^-?\d{1,12}$")
_FLOAT = re.compile(r"^-?(\d+\.?\d*|\.\d+)$")


class BadRequest(UserError):
    """A request the page should not have sent: answered 400 with this message."""


class NotReady(UserError):
    """A request that is fine but cannot be served yet (no checkpoint, damaged file): answered 409."""


class Busy(UserError):
    """Too many drawings already waiting: answered 429, so a flood of requests cannot pile up threads."""


@dataclass(frozen=True)
class GridRequest:
    """A grid of ``count`` images from ``seed`` (what ``ganforge sample --seed --n`` draws)."""

    checkpoint: str
    seed: int
    count: int
    truncation: float
    label: int | None


@dataclass(frozen=True)
class WalkRequest:
    """``frames`` pictures along the great circle from seed ``start`` to seed ``end``."""

    checkpoint: str
    start: int
    end: int
    frames: int
    truncation: float
    label: int | None


class Studio:
    """A run directory as the page sees it; thread-safe."""

    def __init__(self, run_dir: Path, device: torch.device) -> None:
        self.run_dir = Path(run_dir)
        self.device = device
        self._lock = threading.Lock()
        self._queue = threading.BoundedSemaphore(MAX_WAITING)
        self._generators: OrderedDict[tuple[str, int, int], tuple[torch.nn.Module, Any, int]] = OrderedDict()

    def checkpoints(self) -> list[str]:
        """The run's checkpoint names, newest step last, then ``best.pt`` if there is one."""
        names = [p.name for p in list_checkpoints(self.run_dir)]
        if (checkpoint_dir(self.run_dir) / "best.pt").is_file():
            names.append("best.pt")
        return names

    def info(self) -> dict[str, Any]:
        """What the page needs to draw its controls."""
        names = self.checkpoints()
        facts: dict[str, Any] = {"run": self.run_dir.name, "checkpoints": names, "limits": _limits()}
        if not names:
            return {**facts, "default": None, "conditional": False, "num_classes": 0}
        default = _default(names)
        _, cfg, step = self._generator(default)
        return {
            **facts,
            "default": default,
            "step": step,
            "preset": cfg.preset,
            "image_size": cfg.data.image_size,
            "channels": cfg.data.channels,
            "conditional": bool(cfg.model.conditional),
            "num_classes": cfg.model.num_classes if cfg.model.conditional else 0,
        }

    @contextlib.contextmanager
    def _turn(self) -> Iterator[None]:
        """Wait for the generator, or refuse at once when too many requests already wait for it."""
        queue = self._queue
        if not queue.acquire(blocking=False):
            raise Busy(f"busy: {MAX_WAITING} drawings are already waiting; try again in a moment")
        try:
            with self._lock:
                yield
        finally:
            queue.release()

    def grid(self, request: GridRequest) -> bytes:
        """The PNG ``ganforge sample --seed S --n N [--truncation] [--label]`` would write for ``request``."""
        with self._turn():
            generator, cfg, _ = self._generator(request.checkpoint, locked=True)
            _check_label(cfg, request.label)
            noise = truncate(
                seeded_noise(request.seed, request.count, generator.latent_dim), request.truncation
            )
            labels = None if request.label is None else torch.full((request.count,), request.label)
            return _png(make_grid(generate(generator, noise, labels)))

    def walk(self, request: WalkRequest) -> bytes:
        """One PNG: the walk's frames side by side (what ``ganforge interpolate`` animates)."""
        with self._turn():
            generator, cfg, _ = self._generator(request.checkpoint, locked=True)
            _check_label(cfg, request.label)
            frames = walk_frames(
                generator,
                [request.start, request.end],
                request.frames,
                psi=request.truncation,
                label=request.label,
            )
        return _png(side_by_side(frames))

    def _generator(self, name: str, locked: bool = False) -> tuple[torch.nn.Module, Any, int]:
        if not locked:
            with self._lock:
                return self._generator(name, locked=True)
        if name not in self.checkpoints():
            raise BadRequest(f"checkpoint {name!r} is not one of this run's: {', '.join(self.checkpoints())}")
        path = checkpoint_dir(self.run_dir) / name  # a name from the listing: never a path from the request
        try:
            stat = path.stat()
        except OSError:  # a running training removes its older checkpoints as it writes new ones
            raise NotReady(
                f"checkpoint {name} was just removed; reload the page for the current list"
            ) from None
        key = (name, stat.st_mtime_ns, stat.st_size)  # best.pt is rewritten in place as training improves
        if key not in self._generators:
            try:
                self._generators[key] = load_run_generator(path, self.device)
            except UserError as exc:
                raise NotReady(f"checkpoint {name} cannot be used: {exc}") from None
            while len(self._generators) > CACHED_GENERATORS:
                self._generators.popitem(last=False)
        self._generators.move_to_end(key)
        return self._generators[key]


def parse_grid(query: dict[str, list[str]], checkpoints: list[str]) -> GridRequest:
    """Validate a grid request's query parameters; raises :class:`BadRequest` with what is wrong."""
    q = _single(query, {"checkpoint", "seed", "count", "truncation", "label"})
    return GridRequest(
        checkpoint=_checkpoint(q.get("checkpoint"), checkpoints),
        seed=_int(q, "seed", 0, MAX_SEED, default=0),
        count=_int(q, "count", 1, MAX_IMAGES, default=16),
        truncation=_float(q, "truncation", 0.0, 1.0, default=1.0),
        label=_int(q, "label", 0, 10**6, default=None),
    )


def parse_walk(query: dict[str, list[str]], checkpoints: list[str]) -> WalkRequest:
    """Validate a walk request's query parameters; raises :class:`BadRequest` with what is wrong."""
    q = _single(query, {"checkpoint", "from", "to", "frames", "truncation", "label"})
    return WalkRequest(
        checkpoint=_checkpoint(q.get("checkpoint"), checkpoints),
        start=_int(q, "from", 0, MAX_SEED, default=0),
        end=_int(q, "to", 0, MAX_SEED, default=1),
        frames=_int(q, "frames", 2, MAX_FRAMES, default=8),
        truncation=_float(q, "truncation", 0.0, 1.0, default=1.0),
        label=_int(q, "label", 0, 10**6, default=None),
    )


def _single(query: dict[str, list[str]], allowed: set[str]) -> dict[str, str]:
    unknown = sorted(set(query) - allowed)
    if unknown:
        raise BadRequest(f"unknown parameter {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}")
    repeated = [k for k, v in query.items() if len(v) > 1]
    if repeated:
        raise BadRequest(f"parameter {repeated[0]!r} given more than once")
    return {k: v[0] for k, v in query.items()}


def _int(q: dict[str, str], name: str, low: int, high: int, default: int | None) -> int | None:
    text = q.get(name, "").strip()
    if not text:
        return default
    if not _INT.match(text):
        raise BadRequest(f"{name} must be a whole number, got {text[:40]!r}")
    value = int(text)
    if not low <= value <= high:
        raise BadRequest(f"{name} must be in {low}..{high}, got {value}")
    return value


def _float(q: dict[str, str], name: str, low: float, high: float, default: float) -> float:
    text = q.get(name, "").strip()
    if not text:
        return default
    if not _FLOAT.match(text) or not math.isfinite(value := float(text)):
        raise BadRequest(f"{name} must be a number, got {text[:40]!r}")
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low:g} and {high:g}, got {value:g}")
    return value


def _checkpoint(name: str | None, checkpoints: list[str]) -> str:
    if not checkpoints:
        raise NotReady(
            "this run has no checkpoints yet: the first is written at its first checkpoint interval"
        )
    if not name:
        return _default(checkpoints)
    if name not in checkpoints:  # only names from the run's own listing: no path can come through
        raise BadRequest(
            f"checkpoint {name[:60]!r} is not one of this run's ({len(checkpoints)} listed in /api/info)"
        )
    return name


def _check_label(cfg: Any, label: int | None) -> None:
    if label is None:
        return
    if not cfg.model.conditional:
        raise BadRequest("label: this generator is not class-conditional")
    if label >= cfg.model.num_classes:
        raise BadRequest(f"label must be in 0..{cfg.model.num_classes - 1}, got {label}")


def _default(names: list[str]) -> str:
    """The newest step checkpoint, or best.pt when it is the only one."""
    steps = [n for n in names if n != "best.pt"]
    return steps[-1] if steps else names[-1]


def _limits() -> dict[str, int]:
    return {"max_images": MAX_IMAGES, "max_frames": MAX_FRAMES, "max_seed": MAX_SEED}


def _png(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()
