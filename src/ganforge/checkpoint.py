"""Complete, versioned training checkpoints: plain state dicts, written atomically, loaded safely.

A checkpoint holds G, D, both optimisers, the step/epoch counters, every RNG state (torch, CUDA,
Python, numpy and the trainer's noise stream), the fixed noise and the resolved config, so a run can be
resumed or sampled from that one file. The schema is made (:func:`make_checkpoint`) and read
(:func:`generator_weights`, :func:`checkpoint_step`) here and nowhere else.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.errors import UserError
from ganforge.fileio import atomic_path

FORMAT = "ganforge-checkpoint"
FORMAT_VERSION = 1
_NAME = re.compile(r"^step_(\d{9})\.pt$")


def make_checkpoint(
    training: dict[str, Any], config: dict[str, Any], quality: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The one checkpoint schema, before :func:`write_checkpoint` adds its format, version and checksum.

    Args:
        training: the loop's ``state_dict()``: ``state`` (step, epoch, batch_in_epoch, elapsed),
            ``trainer`` (G, D, G_ema, both optimisers, the noise stream, counters), ``fixed_noise``
            and ``rng`` (:func:`rng_state`).
        config: the resolved run config (``RunConfig.to_dict()``), so the file alone rebuilds the run.
        quality: the metrics that made this the best checkpoint (``best.pt``).
    """
    missing = {"state", "trainer", "fixed_noise", "rng"} - set(training)
    if missing:
        raise ValueError(f"a training state without {sorted(missing)} cannot be resumed")
    checkpoint = {"config": config, **training}
    if quality is not None:
        checkpoint["quality"] = quality
    return checkpoint


def generator_weights(checkpoint: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The generator a checkpoint draws with: its EMA copy when it has one."""
    trainer = checkpoint["trainer"]
    return trainer.get("G_ema", trainer["G"])


def checkpoint_config(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """The run config a checkpoint carries.

    Raises:
        UserError: it carries none: its networks were handed to ``ganforge.GAN`` as objects, which
            nothing can rebuild from a file.
    """
    if not checkpoint.get("config"):
        raise UserError(
            "this checkpoint was trained from network objects passed to ganforge.GAN(...), which cannot be "
            "rebuilt from a file; name them in a config (model.name 'module:callable', GAN.from_config)"
        )
    return checkpoint["config"]


def needs_norms(checkpoint: dict[str, Any]) -> bool:
    """Whether the EMA generator's BatchNorm statistics must be measured after loading: checkpoints
    written before ganforge did that when saving kept the live generator's."""
    trainer = checkpoint["trainer"]
    return "G_ema" in trainer and trainer.get("ema_norms") is None


def checkpoint_step(checkpoint: dict[str, Any]) -> int:
    """The training step a checkpoint was written at."""
    return int(checkpoint["state"]["step"])


def rng_state() -> dict[str, Any]:
    """Every global random state a run may touch: torch (CPU and CUDA), Python's ``random``, numpy's.

    Stored as tensors and plain numbers, so ``weights_only`` loading reads them back.
    """
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": {"version": version, "state": torch.tensor(internal, dtype=torch.int64), "gauss": gauss},
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
    }  # fmt: skip


def set_rng_state(rng: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned (checkpoints from before Python/numpy states: torch only)."""
    torch.set_rng_state(rng["torch"])
    if torch.cuda.is_available() and rng.get("cuda"):
        torch.cuda.set_rng_state_all(rng["cuda"])
    if "python" in rng:
        py = rng["python"]
        random.setstate((py["version"], tuple(py["state"].tolist()), py["gauss"]))
    if "numpy" in rng:
        n = rng["numpy"]
        keys = n["keys"].numpy().astype(np.uint32)
        np.random.set_state((n["kind"], keys, n["pos"], n["has_gauss"], n["cached"]))


def checkpoint_dir(run_dir: Path) -> Path:
    """The folder holding a run's checkpoints."""
    return Path(run_dir) / "checkpoints"


def save_checkpoint(run_dir: Path, step: int, state: dict[str, Any], keep: int) -> Path:
    """Write ``state`` as ``checkpoints/step_#########.pt`` atomically, then keep only the newest ``keep``."""
    path = checkpoint_dir(run_dir) / f"step_{step:09d}.pt"
    write_checkpoint(path, state)
    for old in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    return path


def write_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` with its format, version and checksum to ``path`` atomically (e.g. ``best.pt``)."""
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, **state}
    payload["checksum"] = content_checksum(payload)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def list_checkpoints(run_dir: Path) -> list[Path]:
    """A run's checkpoints, oldest first."""
    folder = checkpoint_dir(run_dir)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if _NAME.match(p.name))


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint on the CPU with ``weights_only=True`` (no arbitrary unpickling).

    Raises:
        UserError: the file is missing, damaged, not a ganforge checkpoint, or from a newer format.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # damaged files make torch.load raise many types (KeyError, ValueError...)
        text = str(exc).strip()
        if "Unsupported global" in text:  # the weights-only unpickler met a class: code could run
            raise UserError(
                f"checkpoint {path} holds arbitrary Python objects, which ganforge never unpickles "
                "(they could run code); only plain tensors and values are accepted"
            ) from None
        # torch's messages run to several sentences; the first says what happened.
        first = text.splitlines()[0].split(". ")[0] if text else type(exc).__name__
        raise UserError(
            f"checkpoint {path} cannot be read (damaged or not a ganforge checkpoint): {first}"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise UserError(f"{path} is not a ganforge checkpoint")
    if state.get("format_version", 0) > FORMAT_VERSION:
        raise UserError(
            f"{path} has checkpoint format {state['format_version']}; upgrade ganforge to read it"
        )
    stored = state.pop("checksum", None)
    if stored is not None and stored != content_checksum(state):
        raise UserError(f"checkpoint {path} is damaged: its content does not match its checksum")
    return state


def load_newest_readable(run_dir: Path, warn: Callable[[str], None]) -> dict[str, Any]:
    """The newest checkpoint that loads and passes its checksum; damaged ones are skipped with a warning."""
    for path in reversed(list_checkpoints(run_dir)):
        try:
            return load_checkpoint(path)
        except UserError as exc:
            warn(f"warning: skipping {path.name}: {exc}")
    raise UserError(f"{run_dir} has no readable checkpoint to resume from")


def content_checksum(state: Any) -> str:
    """sha256 over every tensor's bytes, dtype and shape and every other value, in a fixed order."""
    digest = hashlib.sha256()
    _feed(state, digest)
    return digest.hexdigest()


def _feed(obj: Any, digest: Any) -> None:
    if isinstance(obj, dict):
        for key in sorted(obj, key=str):
            digest.update(f"k:{key}".encode())
            _feed(obj[key], digest)
    elif isinstance(obj, (list, tuple)):
        digest.update(f"l:{len(obj)}".encode())
        for item in obj:
            _feed(item, digest)
    elif isinstance(obj, torch.Tensor):
        digest.update(f"t:{obj.dtype}:{tuple(obj.shape)}".encode())
        digest.update(obj.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    else:
        digest.update(f"v:{obj!r}".encode())


def find_checkpoint(target: Path) -> Path:
    """A checkpoint file itself, or the newest checkpoint of a run directory."""
    target = Path(target)
    if target.is_file():
        return target
    if not target.is_dir():
        raise UserError(f"{target} is neither a run directory nor a checkpoint file")
    found = list_checkpoints(target)
    if not found:
        raise UserError(f"run {target} has no checkpoints yet (expected {checkpoint_dir(target)}/step_*.pt)")
    return found[-1]


def load_weights(module: torch.nn.Module, weights: dict[str, torch.Tensor], what: str) -> None:
    """``load_state_dict`` with a one-line error that names the first mismatch."""
    own = module.state_dict()
    missing = [k for k in own if k not in weights]
    unexpected = [k for k in weights if k not in own]
    resized = [k for k in own if k in weights and own[k].shape != weights[k].shape]
    if missing or unexpected or resized:
        if resized:
            k = resized[0]
            detail = f"{k} is {tuple(weights[k].shape)} in the checkpoint, {tuple(own[k].shape)} here"
        else:
            detail = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise UserError(
            f"the checkpoint's {what} does not fit this model (another architecture or preset?): {detail}"
        )
    module.load_state_dict(weights)
