"""Where a preset's training step spends its time: wall, host (launch) and device (kernel) time per step.

On a GPU a small model's step can be bound by the host issuing kernels rather than by the kernels
themselves; this prints both, then the operators with the most device (or CPU) time.

    python benchmarks/profile_step.py tf-dcgan-mnist --device cuda --steps 50
    python benchmarks/profile_step.py dcgan64 --precision fp32 --rows 25
    python benchmarks/profile_step.py tf-dcgan-mnist --precision fp32 --shapes   # one row per layer shape
    OMP_NUM_THREADS=1 python benchmarks/profile_step.py fastgan --batch-size 32  # another batch size
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from throughput import preset_step, sync
from torch.profiler import ProfilerActivity, profile

from ganforge import get_preset


def timed(step: Callable[[], object], device: torch.device, steps: int) -> tuple[float, float]:
    """(wall seconds per step with one sync at the end, host seconds per step before that sync)."""
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    issued = time.perf_counter()
    sync(device)
    done = time.perf_counter()
    return (done - start) / steps, (issued - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("preset")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, help="instead of the preset's")
    parser.add_argument("--rows", type=int, default=15)
    parser.add_argument("--cuda-graphs", default="true", choices=["true", "false"])
    parser.add_argument("--shapes", action="store_true", help="one row per operator and input shape")
    args = parser.parse_args()
    graphs = args.cuda_graphs == "true"
    trainer, step, device = preset_step(args.preset, args.precision, graphs, args.device, args.batch_size)
    timed(step, device, 5)  # warm-up: allocator, cuDNN algorithm choice, graph capture
    wall, host = timed(step, device, args.steps)
    batch = args.batch_size or get_preset(args.preset).train.batch_size
    print(
        f"# {args.preset} on {device} ({trainer.amp_dtype or 'fp32'}, CUDA graphs "
        f"{trainer.graphs is not None}), batch {batch}: "
        f"{1e3 * wall:.2f} ms/step wall = {batch / wall:.0f} images/s; host issues a step in "
        f"{1e3 * host:.2f} ms"
    )
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities, record_shapes=args.shapes) as prof:
        timed(step, device, args.steps)
    # Wall time close to host time means the host issuing kernels is the limit; wall well above it, the
    # device. (Summing the table's device column double-counts annotated ranges such as Optimizer.step.)
    events = prof.key_averages(group_by_input_shape=args.shapes)
    key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    width = {"max_name_column_width": 30, "max_shapes_column_width": 90} if args.shapes else {}
    print(events.table(sort_by=key, row_limit=args.rows, **width))


if __name__ == "__main__":
    main()
