"""``ganforge export``: the generator as ONNX + safetensors with a model card (library: ganforge.export)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganforge.commands.common import add_command

NAME = "export"
EXAMPLES = [
    "ganforge export runs/demo --out exported/demo",
    "ganforge export runs/demo --checkpoint runs/demo/checkpoints/best.pt --out exported/best",
]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``export`` sub-command's parser."""
    summary = "the generator as ONNX + safetensors with a model card, loadable without the run"
    p = add_command(subparsers, NAME, summary, EXAMPLES)
    p.add_argument("run", type=Path, help="run directory or checkpoint file")
    p.add_argument("--checkpoint", type=Path, help="a specific checkpoint (default: the run's newest)")
    p.add_argument("--out", type=Path, required=True, help="a new (or empty) folder")


def run(args: argparse.Namespace) -> int:
    """Export, and say how far onnxruntime and PyTorch agree."""
    from ganforge.export import export_run  # imported on use: onnx is an optional extra

    done = export_run(args.run, args.out, args.checkpoint)
    print(
        f"exported step {done.step} to {done.out}/ (generator.onnx, generator.safetensors, config.json, "
        f"README.md, samples.png); onnxruntime vs PyTorch: largest difference {done.max_abs_diff:.2g}"
    )
    return 0
