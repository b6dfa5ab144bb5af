"""Evidence for larger-than-memory data: a synthetic folder of N images, ``ganforge prepare`` on it, and
training from the store while resident memory is sampled.

    python benchmarks/large_store.py images /data/synthetic --n 1000000      # 64x64 RGB JPEGs
    python benchmarks/large_store.py watch --out prep.jsonl -- ganforge prepare /data/synthetic --out /data/st
    python benchmarks/large_store.py watch --out t.jsonl -- ganforge train /data/st --preset dcgan64

    python benchmarks/large_store.py read /data/st --batch 256                    # one epoch of batches

``read`` gathers one shuffled epoch of training batches from a store exactly as training does (index
order, gather, scaling to [-1, 1]) and prints the read rate and this process's RSS as it goes.
``watch`` runs a command and writes its resident set size (the process and its children, from /proc)
once a second, then prints min / median / max; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

PER_FOLDER = 1000


def _write_folder(args: tuple[str, int, int, int]) -> int:
    root, folder, start, count = args
    rng = np.random.default_rng(folder)
    out = Path(root) / f"{folder:05d}"
    out.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + count):
        # Smooth colour blobs (a random 8x8 image upscaled): compressible like photos, unlike noise.
        small = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), "RGB")
        small.resize((64, 64), Image.Resampling.BICUBIC).save(out / f"{i:07d}.jpg", quality=90)
    return count


def make_images(root: Path, n: int, workers: int) -> None:
    """Write ``n`` 64x64 RGB JPEGs into ``root``, 1000 per sub-folder, with all cores."""
    jobs = [
        (str(root), f, f * PER_FOLDER, min(PER_FOLDER, n - f * PER_FOLDER))
        for f in range(-(-n // PER_FOLDER))
    ]
    start, done = time.monotonic(), 0
    with ProcessPoolExecutor(workers) as pool:
        for count in pool.map(_write_folder, jobs):
            done += count
            if done % 50_000 < PER_FOLDER:
                print(f"{done} images, {done / (time.monotonic() - start):.0f}/s", flush=True)
    print(f"wrote {done} images in {time.monotonic() - start:.0f} s")


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def watch(command: list[str], out: Path) -> int:
    """Run ``command``, sampling the RSS of its process tree every second into ``out`` (JSONL)."""
    proc = subprocess.Popen(command)
    start, samples = time.monotonic(), []
    with open(out, "w") as f:
        while proc.poll() is None:
            rss = _tree_rss(proc.pid)
            samples.append(rss)
            f.write(json.dumps({"t": round(time.monotonic() - start, 1), "rss_mib": rss / 2**20}) + "\n")
            f.flush()
            time.sleep(1)
    mib = [s / 2**20 for s in samples if s] or [0.0]
    print(
        f"# {len(mib)} samples over {time.monotonic() - start:.0f} s: RSS MiB min {min(mib):.0f}, "
        f"median {statistics.median(mib):.0f}, max {max(mib):.0f}; exit {proc.returncode}"
    )
    return proc.returncode


def read_epoch(store: Path, batch: int) -> None:
    """Time one epoch of batch gathers from ``store`` and print RSS every 10% of it."""
    import torch

    from ganforge.data.images import to_unit_range
    from ganforge.data.order import EpochOrder
    from ganforge.data.store import load_store

    manifest = json.loads((store / "manifest.json").read_text())
    data = load_store(store, manifest["image_size"], manifest["channels"])
    order = EpochOrder(len(data), batch, seed=0)
    batches = order.batches_of(0)
    start, tenth = time.monotonic(), max(len(batches) // 10, 1)
    for b, idx in enumerate(batches, 1):
        to_unit_range(data.images[idx], torch.device("cpu"))
        if b % tenth == 0 or b == len(batches):
            images = min(b * batch, len(data))
            print(
                f"{images} images, {images / (time.monotonic() - start):.0f} images/s, "
                f"RSS {_tree_rss(os.getpid()) / 2**20:.0f} MiB",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    images = sub.add_parser("images")
    images.add_argument("root", type=Path)
    images.add_argument("--n", type=int, default=1_000_000)
    images.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    r = sub.add_parser("read")
    r.add_argument("store", type=Path)
    r.add_argument("--batch", type=int, default=256)
    w = sub.add_parser("watch")
    w.add_argument("--out", type=Path, required=True)
    w.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.what == "images":
        make_images(args.root, args.n, args.workers)
    elif args.what == "read":
        read_epoch(args.store, args.batch)
    else:
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        raise SystemExit(watch(command, args.out))


if __name__ == "__main__":
    main()
