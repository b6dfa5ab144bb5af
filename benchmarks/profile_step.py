"""Where a preset's training step spends its time: wall, host (launch) and device (kernel) time per step.

On a GPU a small model's step can be bound by the host issuing kernels rather than by the kernels
themselves; this prints both, then the operators with the most device (or CPU) time.

    python benchmarks/profile_step.py tf-dcgan-mnist --device cuda --steps 50
    python benchmarks/profile_step.py dcgan64 --precision fp32 --rows 25
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.profiler import ProfilerActivity, profile

from ganforge import build_models, get_preset
from ganforge.data.images import to_unit_range
from ganforge.gan import resolve_device
from ganforge.train.trainer import Trainer


def build(
    preset: str, precision: str, device_name: str, graphs: bool = True
) -> tuple[Trainer, torch.Tensor, torch.device]:
    """A preset's trainer on ``device`` and one batch of random uint8 pictures there."""
    cfg = get_preset(preset)
    cfg.train.precision = precision
    cfg.train.cuda_graphs = graphs
    device = resolve_device(device_name)
    if cfg.model.conditional:
        raise SystemExit("profile_step.py profiles unconditional presets")
    torch.manual_seed(0)
    generator, discriminator = build_models(cfg.model, cfg.data)
    trainer = Trainer(generator, discriminator, cfg.train, cfg.model.latent_dim, device)
    shape = (cfg.train.batch_size, cfg.data.channels, cfg.data.image_size, cfg.data.image_size)
    return trainer, torch.randint(0, 256, shape, dtype=torch.uint8, device=device), device


def timed(trainer: Trainer, images: torch.Tensor, device: torch.device, steps: int) -> tuple[float, float]:
    """(wall seconds per step with one sync at the end, host seconds per step before that sync)."""
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        trainer.step(to_unit_range(images, device))
    issued = time.perf_counter()
    _sync(device)
    done = time.perf_counter()
    return (done - start) / steps, (issued - start) / steps


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("preset")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rows", type=int, default=15)
    parser.add_argument("--cuda-graphs", default="true", choices=["true", "false"])
    args = parser.parse_args()
    trainer, images, device = build(args.preset, args.precision, args.device, args.cuda_graphs == "true")
    timed(trainer, images, device, 5)  # warm-up: allocator, cuDNN algorithm choice
    wall, host = timed(trainer, images, device, args.steps)
    batch = images.shape[0]
    print(
        f"# {args.preset} on {device} ({trainer.amp_dtype or 'fp32'}, CUDA graphs "
        f"{trainer.graphs is not None}), batch {batch}: "
        f"{1e3 * wall:.2f} ms/step wall = {batch / wall:.0f} images/s; host issues a step in "
        f"{1e3 * host:.2f} ms"
    )
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        timed(trainer, images, device, args.steps)
    # Wall time close to host time means the host issuing kernels is the limit; wall well above it, the
    # device. (Summing the table's device column double-counts annotated ranges such as Optimizer.step.)
    events = prof.key_averages()
    key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    print(events.table(sort_by=key, row_limit=args.rows))


if __name__ == "__main__":
    main()
