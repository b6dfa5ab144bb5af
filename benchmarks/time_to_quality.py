"""Wall-clock time until MNIST samples reach a quality target: ganforge's default against the TF tutorial.

Quality is FD on the project's MNIST classifier features (``FD-mnist-cnn``) of 2000 samples against the
MNIST test split, with all ten classes covered; both sides are evaluated once per epoch by the same code
(``ganforge.metrics.evaluate``), so an epoch is the time resolution of both.

    python benchmarks/time_to_quality.py ganforge OUT --epochs 10 [--precision auto] [--seed 0]
    python benchmarks/time_to_quality.py tf OUT --epochs 10        # the tutorial as written (run.sh train)
    python benchmarks/time_to_quality.py report OUT... [--fd 100 50]

Clocks: ganforge's is the run's training clock (it includes its own per-epoch evaluation, grids and
checkpoints); TF's is the tutorial's loop from start to the end of the epoch, tracing included, sample
generation for this benchmark excluded. Each run also records its whole process wall clock.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ganforge.fileio import read_jsonl
from ganforge.metrics.evaluate import build_reference, evaluate, load_reference
from ganforge.metrics.extractors import get_extractor

HERE = Path(__file__).resolve().parent
N_SAMPLES = 2000
MNIST_EPOCH = 235  # steps of batch 256 in 60000 images
FD_KEY = "FD-mnist-cnn"


def run_ganforge(out: Path, epochs: int, precision: str, seed: int, device: str = "auto") -> list[dict]:
    command = [sys.executable, "-m", "ganforge", "train", "mnist", "--preset", "tf-dcgan-mnist"]
    command += ["--epochs", str(epochs), "--device", device]
    command += ["--eval-every", str(MNIST_EPOCH), "--eval-n", str(N_SAMPLES), "--precision", precision]
    command += ["--seed", str(seed), "--out", str(out), "--quiet"]
    start = time.monotonic()
    subprocess.run(command, check=True)
    _save_process_clock(out, time.monotonic() - start, " ".join(command))
    records = [r for r in read_jsonl(out / "metrics.jsonl") if "quality" in r]
    return [_point(r["step"] // MNIST_EPOCH, r["wall_time"], r["quality"]) for r in records]


def run_tf(out: Path, epochs: int) -> list[dict]:
    command = ["bash", str(HERE / "tf_reference/run.sh"), "train", str(out), str(epochs), str(N_SAMPLES)]
    start = time.monotonic()
    lines = subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()
    _save_process_clock(out, time.monotonic() - start, " ".join(command))
    records = [json.loads(line) for line in lines if line.startswith("{")]
    (out / "tf_epochs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    extractor = get_extractor("mnist-cnn")
    reference = build_reference(*load_reference("mnist:test"), extractor)  # features once, not per epoch
    points = []
    for record in records:
        images = torch.from_numpy(np.load(out / f"samples_{record['epoch']:04d}.npy")[:, None])
        metrics = evaluate(images, reference, extractor, seed=0)["metrics"]
        points.append(_point(record["epoch"], record["train_clock"], metrics))
    return points


def _point(epoch: int, clock: float, metrics: dict) -> dict:
    return {"epoch": epoch, "clock": clock, "fd": metrics[FD_KEY], "classes": metrics["classes_covered"]}


def _save_process_clock(out: Path, seconds: float, command: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "process_clock.json").write_text(json.dumps({"seconds": seconds, "command": command}))


def report(runs: list[Path], targets: list[float]) -> None:
    print("| run | epochs | " + " | ".join(f"FD <= {t:g}, 10 classes" for t in targets) + " | FD by epoch |")
    print("|---" * (len(targets) + 3) + "|")
    for run in runs:
        points = json.loads((run / "time_to_quality.json").read_text())
        cells = []
        for target in targets:
            hit = next((p for p in points if p["fd"] <= target and p["classes"] == 10), None)
            cells.append(f"{hit['clock']:.0f} s (epoch {hit['epoch']})" if hit else "not reached")
        curve = ", ".join(f"{p['fd']:.0f}" for p in points)
        print(f"| {run.name} | {len(points)} | " + " | ".join(cells) + f" | {curve} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("what", choices=["ganforge", "tf", "report"])
    parser.add_argument("out", nargs="+", type=Path)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="ganforge side only")
    parser.add_argument("--fd", nargs="+", type=float, default=[200.0, 100.0, 50.0], help="FD targets")
    args = parser.parse_args()
    if args.what == "report":
        report(args.out, args.fd)
        return
    out = args.out[0]
    if args.what == "ganforge":
        points = run_ganforge(out, args.epochs, args.precision, args.seed, args.device)
    else:
        points = run_tf(out, args.epochs)
    (out / "time_to_quality.json").write_text(json.dumps(points, indent=1))
    report([out], args.fd)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
