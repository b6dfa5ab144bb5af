"""``ganforge eval``: a run's (or images') quality against a reference set (library: ganforge.metrics)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from ganforge.commands.common import add_command
from ganforge.errors import UserError
from ganforge.fileio import append_line, write_atomic
from ganforge.latent import truncate

NAME = "eval"
EXAMPLES = [
    "ganforge eval runs/demo --against mnist:test --n 10000",
    "ganforge eval samples.npy --against mnist:test --json result.json",
    "ganforge eval runs/fashion --against fashion-mnist:test --n 5000 --seed 1",
    "ganforge eval runs/stacked --against stacked-mnist:test   (modes covered of 1000, 26000 samples)",
    "ganforge eval runs/a --against mnist:test --save-reference ref.pt",
    "ganforge eval runs/b --against ref.pt",
]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``eval`` sub-command's parser."""
    p = add_command(
        subparsers, NAME, "quality metrics of a run (or images) against a reference set", EXAMPLES
    )
    p.add_argument("target", type=Path, help="run directory, checkpoint, .npy of uint8 images, or a folder")
    p.add_argument(
        "--against",
        required=True,
        help="mnist:test, fashion-mnist:test, stacked-mnist:test (or :train), twemoji, a folder, or a file "
        "of --save-reference",
    )
    p.add_argument("--save-reference", type=Path, help="also save the reference statistics to this file")
    p.add_argument("--n", type=int, help="generated images (default 10000; 26000 for stacked-mnist's modes)")
    p.add_argument("--seed", type=int, default=0, help="noise and subset seed (default 0)")
    p.add_argument("--extractor", help="feature extractor (default: the reference dataset's classifier)")
    p.add_argument("--json", type=Path, help="also write the record to this file")
    p.add_argument("--truncation", type=float, help="runs: draw with the noise scaled by PSI in [0, 1]")
    p.add_argument("--image-size", type=int, default=64, help="size folders are loaded at for RGB extractors")


def run(args: argparse.Namespace) -> int:
    """Measure, print the table, and append the record to the run's log."""
    from ganforge.metrics import evaluate as ev  # imported on use: train/sample do not need it

    if args.n is not None and args.n < 2:
        raise UserError(f"--n must be at least 2, got {args.n}")
    if not args.target.exists():
        raise UserError(f"{args.target} does not exist")
    if args.truncation is not None and args.target.suffix == ".npy":
        raise UserError("--truncation applies to a run or checkpoint, not to an array of images")
    truncate(torch.zeros(1), args.truncation)
    extractor = ev.extractor_for(args.against, args.extractor)
    channels, size, _ = extractor.image_shape
    shape = (channels, size, size) if size else (channels, args.image_size, args.image_size)
    n = args.n or ev.default_samples(extractor, 10000)
    images, requested, info = ev.load_target(args.target, n, args.seed, shape, args.truncation)
    reference = ev.reference_for(args.against, tuple(images.shape[1:]), extractor)
    if args.save_reference:
        reference.save(args.save_reference)
    train = ev.training_split(reference.name)
    record = ev.evaluate(images, reference, extractor, args.seed, requested, train=train)
    record["provenance"] = {**info, "reference": reference.name, **record["provenance"]}
    print(ev.format_table(record))
    if args.json:
        write_atomic(args.json, (json.dumps(record, indent=2) + "\n").encode())
    if "step" in info and (args.target / "metrics.jsonl").is_file():
        append_line(args.target / "metrics.jsonl", {"step": info["step"], "eval": record})
    return 0
