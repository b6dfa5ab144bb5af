"""``ganforge prepare``: decode a folder once into sharded uint8 files (library: ganforge.data.store)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ganforge.commands.common import add_command
from ganforge.errors import UserError

NAME = "prepare"
EXAMPLES = [
    "ganforge prepare ./faces --size 64 --out data/faces64",
    "ganforge train data/faces64 --preset dcgan64 --epochs 10",
    "ganforge prepare ./scans --size 128 --channels 1 --shard-size 5000 --out data/scans128",
]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``prepare`` sub-command's parser."""
    summary = "decode a folder of images once into a sharded uint8 store (data larger than memory)"
    p = add_command(subparsers, NAME, summary, EXAMPLES)
    p.add_argument("folder", type=Path, help="folder of images (searched recursively)")
    p.add_argument("--out", type=Path, required=True, help="store directory (re-run to resume)")
    p.add_argument("--size", type=int, default=64, help="square image side (default 64)")
    p.add_argument("--channels", type=int, default=3, help="3 (RGB, default) or 1 (grayscale)")
    p.add_argument("--shard-size", type=int, default=10_000, help="images per shard (default 10000)")
    p.add_argument("--workers", type=int, help="decoding processes (default: all cores)")


def run(args: argparse.Namespace) -> int:
    """Prepare the store, resuming unfinished shards."""
    from ganforge.data.store import prepare

    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.workers}")
    manifest = prepare(
        args.folder,
        args.out,
        args.size,
        args.channels,
        args.shard_size,
        args.workers,
        report=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(
        f"wrote {args.out}: {manifest['images']} images in {len(manifest['shards'])} shards, "
        f"{len(manifest['skipped'])} skipped, {manifest['prepared']['files_per_s']:.0f} files/s "
        f"with {manifest['prepared']['workers']} workers"
    )
    return 0
