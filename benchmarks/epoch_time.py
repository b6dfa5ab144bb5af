"""Seconds per training epoch of a preset on its real data, through ``GAN.fit`` (the loop users run).

Only a timing callback is attached (no grids, logs or checkpoints), so the number is the training
loop itself: data indexing, normalisation, the steps, and the loop's per-step bookkeeping. The first
epoch includes warm-up (cuDNN algorithm choice, compilation, CUDA graph capture); the report gives
every epoch and the median of the later ones.

    python benchmarks/epoch_time.py tf-dcgan-mnist --device cuda --epochs 4
    python benchmarks/epoch_time.py tf-dcgan-mnist --device cuda --precision fp32
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from throughput import sync

from ganforge import GAN, build_models, get_preset
from ganforge.data import load_data
from ganforge.train.callbacks import Callback


class EpochClock(Callback):
    """Wall seconds of every epoch, taken after the device has finished it."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._start = 0.0

    def on_train_begin(self, gan: GAN) -> None:
        sync(gan.device)
        self._start = time.perf_counter()

    def on_epoch_end(self, gan: GAN) -> None:
        sync(gan.device)
        now = time.perf_counter()
        self.seconds.append(now - self._start)
        self._start = now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("preset")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit", type=int, help="train on the first N images only")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--cuda-graphs", default="true", choices=["true", "false"])
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args()
    cfg = get_preset(args.preset)
    cfg.train.device = args.device
    cfg.data.limit = args.limit
    cfg.train.precision = args.precision
    cfg.train.cuda_graphs = args.cuda_graphs == "true"
    data = load_data(cfg.data)
    if cfg.model.conditional:
        cfg.model.num_classes = len(data.class_names or []) or 10
    torch.manual_seed(cfg.train.seed)
    generator, discriminator = build_models(cfg.model, cfg.data)
    gan = GAN(generator, discriminator, config=cfg.train, latent_dim=cfg.model.latent_dim)
    clock = EpochClock()
    gan.fit(data, epochs=args.epochs, callbacks=[clock])
    later = clock.seconds[1:] or clock.seconds
    result = {
        "preset": args.preset,
        "device": str(gan.device),
        "autocast": str(gan.trainer.amp_dtype or "fp32").removeprefix("torch."),
        "images": len(data),
        "batch": cfg.train.batch_size,
        "precision": args.precision,
        "cuda_graphs": gan.trainer.graphs is not None,
        "epoch_seconds": clock.seconds,
        "median_after_first": statistics.median(later),
    }
    print(
        f"{args.preset} on {gan.device} ({result['autocast']}, CUDA graphs {result['cuda_graphs']}), "
        f"{len(data)} images, batch "
        f"{cfg.train.batch_size}: epochs "
        + ", ".join(f"{s:.2f}" for s in clock.seconds)
        + f" s; median after the first {result['median_after_first']:.2f} s "
        f"= {len(data) / result['median_after_first']:.0f} images/s"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
