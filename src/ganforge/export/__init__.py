"""``ganforge export``: a trained generator as a self-contained folder, usable without the training code.

The folder holds ``generator.onnx`` (PyTorch's current exporter, dynamic batch; checked against PyTorch
in onnxruntime at export time), ``generator.safetensors`` + ``config.json`` (``ganforge.load_exported``
rebuilds the network from those two alone), ``samples.png`` and ``README.md``, a model card
(``export/card.py``). It is written into a temporary folder beside the target and renamed at the end,
so a failure never leaves half an export. Needs the ``[export]`` extra (onnx, onnxruntime, onnxscript,
safetensors).
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ganforge.checkpoint import (
    checkpoint_step,
    find_checkpoint,
    load_checkpoint,
    load_weights,
)
from ganforge.config import RunConfig
from ganforge.errors import UserError
from ganforge.export.card import model_card
from ganforge.fileio import atomic_folder
from ganforge.latent import cycled_labels, seeded_noise
from ganforge.models import build_models
from ganforge.sampling import generate, generator_from_checkpoint, in_trained_layout, make_grid, save_png

FORMAT = "ganforge-generator"
FORMAT_VERSION = 1
CHECK_BATCH = 8
TOLERANCE = 1e-3  # largest |onnxruntime - PyTorch| accepted, in [-1, 1] pixel units


@dataclass
class Exported:
    """What an export wrote: the folder, the step it came from, and onnxruntime's largest difference."""

    out: Path
    step: int
    max_abs_diff: float


def export_run(target: Path, out: Path, checkpoint: Path | None = None) -> Exported:
    """Export the (EMA) generator of a run directory or checkpoint file into the folder ``out``.

    Raises:
        UserError: the [export] packages are missing, ``out`` exists and is not empty, its parent folder
            is missing, or onnxruntime disagrees with PyTorch.
    """
    _require_packages()
    out = Path(out)
    path = find_checkpoint(checkpoint or target)
    state = load_checkpoint(path)
    generator, cfg = generator_from_checkpoint(state)
    run_dir = target if Path(target).is_dir() else None
    with atomic_folder(out) as work:
        diff = _write_onnx(generator, work / "generator.onnx")
        _write_weights(generator, cfg, work)
        images = generate(generator, seeded_noise(0, 64, generator.latent_dim))
        save_png(make_grid(images, scale=max(1, 64 // images.shape[-1])), work / "samples.png")
        info = _training_info(state, cfg, run_dir, path) | {"onnx_max_abs_diff": diff}
        (work / "README.md").write_text(model_card(cfg, generator, info))
    return Exported(out, checkpoint_step(state), diff)


def load_exported(folder: Path) -> nn.Module:
    """The generator of an exported folder (``generator.safetensors`` + ``config.json``), in eval mode.

    Raises:
        UserError: the folder is not a ganforge export, or its weights do not fit its config.
    """
    from safetensors.torch import load_file

    folder = Path(folder)
    try:
        meta = json.loads((folder / "config.json").read_text())
    except (OSError, json.JSONDecodeError):
        raise UserError(f"{folder} is not an exported generator (no readable config.json)") from None
    if meta.get("format") != FORMAT:
        raise UserError(f"{folder}/config.json is not a ganforge generator export")
    cfg = RunConfig.from_dict(meta["config"])
    generator, _ = build_models(cfg.model, cfg.data)
    load_weights(generator, load_file(folder / "generator.safetensors"), "generator")
    return in_trained_layout(generator.eval(), cfg)


class _Unconditional(nn.Module):
    """The exported graph: noise z (N, latent_dim) -> images (N, C, H, W) in [-1, 1], float32."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)


class _Conditional(_Unconditional):
    """The exported graph of a conditional run: z and int64 class labels (N,) -> images."""

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.generator(z, labels)


def _inputs(generator: nn.Module, n: int) -> dict[str, torch.Tensor]:
    classes = getattr(generator, "num_classes", None)
    inputs = {"z": seeded_noise(1, n, generator.latent_dim)}
    return inputs if classes is None else inputs | {"labels": cycled_labels(n, classes)}


def _write_onnx(generator: nn.Module, path: Path) -> float:
    import onnxruntime

    inputs = _inputs(generator, CHECK_BATCH)
    wrapper = (_Conditional(generator) if "labels" in inputs else _Unconditional(generator)).eval()
    batch = torch.export.Dim("batch", min=1, max=65536)
    # The exporter prints progress, warns that torchvision's ops are absent and about its own internals:
    # none of it concerns the user of a one-line command.
    noisy = logging.getLogger("torch.onnx")
    level, noisy.level = noisy.level, logging.ERROR
    with contextlib.redirect_stdout(_Quiet()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            wrapper,
            tuple(inputs.values()),
            dynamo=True,
            input_names=list(inputs),
            output_names=["images"],
            dynamic_shapes={name: {0: batch} for name in inputs},
            verbose=False,
        )
    noisy.setLevel(level)
    program.save(str(path))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    check = _inputs(generator, CHECK_BATCH + 3)  # another batch size than the traced one
    got = session.run(None, {name: t.numpy() for name, t in check.items()})[0]
    with torch.no_grad():
        want = wrapper(*check.values()).numpy()
    diff = float(np.abs(got - want).max())
    if diff > TOLERANCE:
        raise UserError(
            f"the ONNX generator differs from PyTorch by {diff:.2g} (over {TOLERANCE}); not exported"
        )
    return diff


def _write_weights(generator: nn.Module, cfg: RunConfig, work: Path) -> None:
    from safetensors.torch import save_file

    from ganforge.version import __version__

    tensors = {k: v.detach().contiguous() for k, v in generator.state_dict().items()}
    save_file(tensors, str(work / "generator.safetensors"))
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "ganforge_version": __version__}
    (work / "config.json").write_text(json.dumps({**meta, "config": cfg.to_dict()}, indent=2) + "\n")


def _training_info(state: dict[str, Any], cfg: RunConfig, run_dir: Path | None, path: Path) -> dict[str, Any]:
    from ganforge.fileio import read_jsonl

    info: dict[str, Any] = {
        "checkpoint": path.name,
        "step": int(state["state"]["step"]),
        "epoch": int(state["state"]["epoch"]),
        "seconds": float(state["state"]["elapsed"]),
        "images_seen": int(state["state"]["step"]) * cfg.train.batch_size,
        "quality": None,
        "data_images": _data_images(cfg),
    }
    log = run_dir / "metrics.jsonl" if run_dir else None
    if log and log.is_file():
        records = [r for r in read_jsonl(log) if "quality" in r or "eval" in r]
        if records:
            last = records[-1]
            info["quality"] = last.get("eval") or {
                "metrics": last["quality"],
                "provenance": {"step": last["step"]},
            }
    return info


def _data_images(cfg: RunConfig) -> int | str:
    from ganforge.data import load_data

    try:
        return len(load_data(cfg.data))
    except UserError:
        return "unknown (the data was not available where this was exported)"


def _require_packages() -> None:
    missing = [m for m in ("onnx", "onnxruntime", "onnxscript", "safetensors") if _absent(m)]
    if missing:
        raise UserError(f"ganforge export needs {', '.join(missing)}: pip install 'ganforge[export]'")


def _absent(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is None


class _Quiet:
    """Swallows the exporter's progress prints (a one-line command should say one line)."""

    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        pass


__all__ = ["Exported", "export_run", "load_exported"]
