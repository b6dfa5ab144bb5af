"""``ganforge project``: find the noise (and label) that draws a given image (library: ganforge.inversion)."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ganforge.commands.common import add_command
from ganforge.errors import UserError
from ganforge.sampling import load_run_generator

NAME = "project"
EXAMPLES = [
    "ganforge project digit.png runs/demo --out projected/",
    "ganforge project face.png runs/faces --steps 500 --starts 16 --out projected-face/",
]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``project`` sub-command's parser."""
    summary = "find the noise (and label) whose generated image is closest to a given image"
    p = add_command(subparsers, NAME, summary, EXAMPLES)
    p.add_argument("image", type=Path, help="the image to reconstruct (PNG, JPEG, ...)")
    p.add_argument("run", type=Path, help="run directory or checkpoint file")
    p.add_argument("--out", type=Path, required=True, help="a new (or empty) folder")
    p.add_argument("--steps", type=int, default=300, help="Adam steps on the noise (default 300)")
    p.add_argument("--starts", type=int, default=8, help="random starts optimised together (default 8)")
    p.add_argument("--seed", type=int, default=0, help="seed of the starts (default 0)")
    p.add_argument("--checkpoint", type=Path, help="a specific checkpoint (default: the run's newest)")


def run(args: argparse.Namespace) -> int:
    """Invert the generator on the image and write what was found."""
    from ganforge.inversion import invert, load_image, write_inversion

    if args.steps < 1 or args.starts < 1:
        raise UserError("--steps and --starts must be positive")
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        raise UserError(f"--out {args.out} exists and is not an empty folder; choose a new one")
    generator, cfg, _ = load_run_generator(args.checkpoint or args.run, torch.device("cpu"))
    target = load_image(args.image, cfg.data.channels, cfg.data.image_size)
    result = invert(generator, cfg, target, args.steps, args.starts, seed=args.seed)
    write_inversion(result, target, args.out)
    label = f", label {result.label}" if result.label is not None else ""
    print(
        f"wrote {args.out}/ (target.png, reconstruction.png, progress.gif, z.npy{label and ', label.txt'}): "
        f"pixel RMSE {result.pixel_rmse:.3f}{label} against {result.random_rmse:.3f} for random samples "
        f"(pixels in [-1, 1]; feature loss: {result.feature})"
    )
    return 0
