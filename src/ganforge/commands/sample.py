"""``ganforge sample``: images from a trained run's generator, as a grid, an array or a folder of PNGs."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ganforge.commands.common import add_command, add_device, check_label
from ganforge.devices import resolve_device
from ganforge.errors import UserError
from ganforge.latent import seeded_noise, truncate
from ganforge.sampling import generate, load_run_generator, write_samples

NAME = "sample"
EXAMPLES = [
    "ganforge sample runs/demo --n 64 --out grid.png",
    "ganforge sample runs/demo --n 10000 --seed 1 --out samples.npy",
    "ganforge sample runs/demo --n 100 --out pngs/",
    "ganforge sample runs/cond --n 16 --label 7 --out sevens.png",
]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``sample`` sub-command's parser."""
    p = add_command(subparsers, NAME, "draw images from a trained run", EXAMPLES)
    p.add_argument("run", type=Path, help="run directory or checkpoint file")
    p.add_argument("--checkpoint", type=Path, help="a specific checkpoint (default: the run's newest)")
    p.add_argument("--n", type=int, default=64, help="number of images (default 64)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument("--out", type=Path, required=True, help="grid .png, array .npy, or a folder")
    p.add_argument("--label", type=int, help="class-conditional runs: draw only this class")
    p.add_argument(
        "--truncation", type=float, help="pull the noise toward its mean: z * PSI, PSI in [0, 1] (1 = off)"
    )
    add_device(p)


def run(args: argparse.Namespace) -> int:
    """Draw ``--n`` images and write them to ``--out``."""
    if args.n <= 0:
        raise UserError(f"--n must be positive, got {args.n}")
    truncate(torch.zeros(1), args.truncation)  # a bad value is refused before the checkpoint is read
    generator, cfg, _ = load_run_generator(args.checkpoint or args.run, resolve_device(args.device))
    noise = truncate(seeded_noise(args.seed, args.n, generator.latent_dim), args.truncation)
    check_label(cfg, args.label)
    labels = None if args.label is None else torch.full((args.n,), args.label, dtype=torch.long)
    print(f"wrote {write_samples(generate(generator, noise, labels), args.out)}")
    return 0
