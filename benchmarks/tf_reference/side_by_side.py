"""ganforge's training step against the original's, interleaved, on the same machine.

``--preset tf-dcgan-mnist`` (default): the TF2 tutorial's own train_step (tf_worker.py).
``--preset keras-gan-mlp``: the Keras-GAN MLP GAN's train_on_batch iteration in Keras 2
(keras_gan_worker.py, needs ``tf-keras`` in the venv, which run.sh installs).

TensorFlow runs in its own virtual environment as a worker process (tf_worker.py) that waits, idle, while
ganforge runs here, and the other way round: rounds alternate TF, ganforge, TF, ... so drifts in the
machine's speed hit both. Same model, batch 256, 28x28x1 images, random data (the cost of a step does not
depend on what the pictures show). Run through run.sh, which makes the venv:

    bash benchmarks/tf_reference/run.sh side-by-side [--rounds 8] [--steps 5] [--precisions auto fp32]
    bash benchmarks/tf_reference/run.sh side-by-side --preset keras-gan-mlp --steps 50
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from ganforge import build_models, get_preset
from ganforge.data.images import to_unit_range
from ganforge.train.trainer import Trainer

HERE = Path(__file__).resolve().parent
WORKERS = {"tf-dcgan-mnist": "tf_worker.py", "keras-gan-mlp": "keras_gan_worker.py"}
ORIGINALS = {
    "tf-dcgan-mnist": "TF2 tutorial train_step (tf.function)",
    "keras-gan-mlp": "Keras-GAN MLP iteration (Keras 2 train_on_batch)",
}


class TFWorker:
    """The original's training step in the TensorFlow venv, driven over a pipe."""

    def __init__(self, python: str, worker: str) -> None:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
        command = [python, str(HERE / worker)]
        pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE}
        self.proc = subprocess.Popen(command, cwd=HERE, env=env, text=True, **pipes)
        if self.proc.stdout.readline().strip() != "ready":
            raise SystemExit("the TensorFlow worker did not start; see its error above")

    def seconds(self, steps: int) -> float:
        self.proc.stdin.write(f"{steps}\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def ganforge_step(preset: str, precision: str):
    """A preset's training step at ``precision``, on random uint8 images."""
    cfg = get_preset(preset)
    cfg.train.precision = precision
    torch.manual_seed(0)
    trainer = Trainer(
        *build_models(cfg.model, cfg.data), cfg.train, cfg.model.latent_dim, torch.device("cpu")
    )
    images = torch.randint(0, 256, (cfg.train.batch_size, 1, 28, 28), dtype=torch.uint8)

    def run(steps: int) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            stats = trainer.step(to_unit_range(images, torch.device("cpu")))
        float(stats["g_loss"])
        return time.perf_counter() - start

    run(3)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--tf-python", required=True, help="python of the TensorFlow venv")
    parser.add_argument("--preset", choices=list(WORKERS), default="tf-dcgan-mnist")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5, help="steps per round")
    parser.add_argument("--precisions", nargs="+", default=["auto", "fp32"])
    args = parser.parse_args()
    tf = TFWorker(args.tf_python, WORKERS[args.preset])
    ours = {p: ganforge_step(args.preset, p) for p in args.precisions}
    rates: dict[str, list[float]] = {"tf": [], **{p: [] for p in args.precisions}}
    batch_size = get_preset(args.preset).train.batch_size
    batch = batch_size * args.steps
    for _ in range(args.rounds):
        rates["tf"].append(batch / tf.seconds(args.steps))
        for precision, run in ours.items():
            rates[precision].append(batch / run(args.steps))
    tf.close()
    median = {name: statistics.median(r) for name, r in rates.items()}
    threads = torch.get_num_threads()
    print(
        f"# {args.preset}: {args.rounds} interleaved rounds of {args.steps} steps, batch {batch_size}, "
        f"{threads} torch threads"
    )
    print("| implementation | images/s (median) | rounds (min-max) | ratio to TF |\n|---|---|---|---|")
    for name, r in rates.items():
        label = ORIGINALS[args.preset] if name == "tf" else f"ganforge --precision {name}"
        ratio = median[name] / median["tf"]
        print(f"| {label} | {median[name]:.0f} | {min(r):.0f}-{max(r):.0f} | {ratio:.2f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
