"""``ganforge interpolate``: an animated walk through the latent space (and between classes)."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ganforge.commands.common import add_command, add_device, check_label
from ganforge.devices import resolve_device
from ganforge.errors import UserError
from ganforge.latent import parse_labels, parse_seeds, truncate
from ganforge.sampling import WALK_FORMATS, load_run_generator, save_animation, walk_frames

NAME = "interpolate"
EXAMPLES = [
    "ganforge interpolate runs/demo --seeds 1,5,9 --frames 48 --out walk.gif",
    "ganforge interpolate runs/demo --seeds 0,1,2,0 --rows 4 --truncation 0.7 --out walks.gif",
    "ganforge interpolate runs/cond --seeds 3,4 --label 7 --out sevens.mp4   (.mp4: imageio-ffmpeg)",
    "ganforge interpolate runs/cond --seeds 3,4,5 --labels 1,7,9 --out one-seven-nine.gif",
]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``interpolate`` sub-command's parser."""
    p = add_command(subparsers, NAME, "an animated walk through the latent space between seeds", EXAMPLES)
    p.add_argument("run", type=Path, help="run directory or checkpoint file")
    p.add_argument("--seeds", required=True, help="comma-separated noise seeds to pass through, e.g. 1,5,9")
    p.add_argument("--frames", type=int, default=48, help="frames in the whole walk (default 48)")
    p.add_argument("--rows", type=int, default=1, help="walks stacked in each frame, each its own seeds")
    p.add_argument("--out", type=Path, required=True, help=".gif, or .mp4 with imageio-ffmpeg")
    p.add_argument("--fps", type=float, default=12.0, help="frames per second (default 12)")
    p.add_argument("--truncation", type=float, help="z * PSI, PSI in [0, 1] (1 = off)")
    p.add_argument("--label", type=int, help="class-conditional runs: walk within this class")
    p.add_argument("--labels", help="conditional runs: one class per seed, e.g. 3,8: blend between them")
    p.add_argument("--checkpoint", type=Path, help="a specific checkpoint (default: the run's newest)")
    add_device(p)


def run(args: argparse.Namespace) -> int:
    """Render the walk and write it."""
    seeds = parse_seeds(args.seeds)
    truncate(torch.zeros(1), args.truncation)
    if args.frames < 2 or args.rows < 1 or args.fps <= 0:
        raise UserError("--frames must be at least 2, --rows at least 1 and --fps positive")
    if Path(args.out).suffix.lower() not in WALK_FORMATS or not Path(args.out).parent.is_dir():
        save_animation([], args.out)  # raises the one-line reason before any work
    generator, cfg, _ = load_run_generator(args.checkpoint or args.run, resolve_device(args.device))
    check_label(cfg, args.label)
    labels = None
    if args.labels is not None:
        if not cfg.model.conditional:
            raise UserError("--labels needs a class-conditional run (trained with --conditional)")
        labels = parse_labels(args.labels, len(seeds), cfg.model.num_classes)
    frames = walk_frames(generator, seeds, args.frames, args.rows, args.truncation, args.label, labels)
    save_animation(frames, args.out, args.fps)
    print(f"wrote {args.out}: {args.frames} frames, {args.rows} walk(s) through seeds {seeds}")
    return 0
