"""Show what ganforge says about each kind of broken or hostile input (run from the repository root).

    python benchmarks/hostile_inputs.py

Builds a folder with every kind of bad image file the tests use, loads it, and prints the skip reason
of each; then runs the CLI on bad idx files, configs and flags and prints its one-line errors.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.hostile import GOOD, make_hostile_folder

from ganforge.data.folder import load_folder


def folder_report(root: Path) -> None:
    make_hostile_folder(root)
    (root / os.fsdecode(b"caf\xe9\nname.png")).write_bytes(b"")
    data = load_folder(root, image_size=8, channels=3)
    print(f"loaded {len(data)} images ({', '.join(GOOD)}); skipped {len(data.skipped)}:")
    for line in data.skipped:
        print(f"  {line}")


def cli(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True, text=True)
    print(f"$ ganforge {' '.join(args)}\n  -> exit {result.returncode}: {result.stderr.strip()}")


def main() -> None:
    os.environ.setdefault("GANFORGE_OFFLINE", "1")
    tmp = Path(tempfile.mkdtemp(prefix="hostile-"))
    folder_report(tmp / "images")
    idx = tmp / "idx"
    idx.mkdir()
    good = {
        "train-images-idx3-ubyte.gz": b"\0\0\x08\x03" + (2).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2,
        "train-labels-idx1-ubyte.gz": b"\0\0\x08\x01" + (2).to_bytes(4, "big") + b"\1\2",
    }
    good["train-images-idx3-ubyte.gz"] += bytes(2 * 784)
    for name, content in good.items():
        (idx / name).write_bytes(gzip.compress(content))
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (idx / name).write_bytes(b"\x1f\x8b truncated gzip")
    cli("train", "mnist", "--data-dir", str(idx), "--split", "test", "--steps", "1")
    (idx / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x12\x34\x56\x78" + bytes(20)))
    cli("train", "mnist", "--data-dir", str(idx), "--steps", "1")
    (idx / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\0\0\x08\x02" + bytes(20)))
    cli("train", "mnist", "--data-dir", str(idx), "--steps", "1")
    (idx / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(good["train-images-idx3-ubyte.gz"]))
    three_labels = b"\0\0\x08\x01" + (3).to_bytes(4, "big") + b"\1\2\3"
    (idx / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(three_labels))
    cli("train", "mnist", "--data-dir", str(idx), "--steps", "1")
    (idx / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(good["train-labels-idx1-ubyte.gz"]))
    (idx / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(good["train-images-idx3-ubyte.gz"][:900]))
    cli("train", "mnist", "--data-dir", str(idx), "--steps", "1")
    config = tmp / "config.json"
    for content in (
        {"train": {"batchsize": 4}},
        {"train": {"batch_size": "64"}},
        {"model": {"latent_dim": 0}},
    ):
        config.write_text(json.dumps(content))
        cli("train", "--config", str(config), "--steps", "1")
    config.write_text("{not json")
    cli("train", "--config", str(config), "--steps", "1")
    cli("train", "--batch-size", "-3", "--steps", "1")
    cli("train", "--lr-g", "nan", "--steps", "1")
    cli("train", "--preset", "dcgan64", "--image-size", "48", "--steps", "1")
    cli("train", "mnist", "--limit", "10", "--batch-size", "64", "--steps", "1")
    cli("train", "--presett", "dcgan")
    cli("sample", str(tmp / "nowhere"), "--out", str(tmp / "x.png"))


if __name__ == "__main__":
    main()
