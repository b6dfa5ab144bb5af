"""Training throughput of every preset on this machine: images/s, FLOPs, fraction of a matmul peak, memory.

Each preset x precision runs in its own process (so peak resident memory is its own): a few warm-up
steps, then ``--repeats`` timings of ``--steps`` steps each; images/s is the median. FLOPs per image are
counted over one training step (forward and backward of both networks) with the per-operator formulas
of ``torch.utils.flop_counter``, not estimated. The matmul peak is the best of several square
products, measured in the same run.

    python benchmarks/throughput.py                      # all presets, auto (bf16 here) and fp32
    python benchmarks/throughput.py --presets tf-dcgan-mnist --precisions auto fp32 bf16 --json out.json
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from ganforge import PRESETS, build_models, get_preset
from ganforge.data.images import to_unit_range
from ganforge.devices import resolve_device
from ganforge.train.precision import native_bf16
from ganforge.train.trainer import Trainer


def matmul_peak(dtype: torch.dtype, device: torch.device, repeats: int = 10) -> float:
    """Best GFLOP/s of an n x n matrix product in ``dtype`` (n = 2048 on a CPU, 8192 on a GPU)."""
    n = 8192 if device.type == "cuda" else 2048
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


class FlopCount(TorchDispatchMode):
    """Counts the FLOPs of every operator run inside it, from torch's own per-operator formulas.

    Not ``FlopCounterMode``: its module tracker hooks every module's backward, and those hooks fail in
    ``autograd.grad`` over a spectral-norm model ("A leaf node was passed to _will_engine_execute_node"),
    which is how the trainer takes D's gradients. Totals are all this benchmark needs.
    """

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def sync(device: torch.device) -> None:
    """Wait for the device (a no-op on CPU): timings must cover the work, not just its launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def preset_step(
    preset: str,
    precision: str,
    graphs: bool = True,
    device_name: str | None = None,
    batch_size: int | None = None,
) -> tuple[Trainer, Callable[[], dict[str, torch.Tensor]], torch.device]:
    """A preset's trainer and one training step on a fixed random batch held on the device (the preset's
    batch size unless ``batch_size`` is given)."""
    cfg = get_preset(preset)
    cfg.train.batch_size = batch_size or cfg.train.batch_size
    cfg.train.precision = precision
    cfg.train.cuda_graphs = graphs
    device = resolve_device(device_name or cfg.train.device)
    if cfg.model.conditional:
        cfg.model.num_classes = 10
    batch = cfg.train.batch_size
    shape = (batch, cfg.data.channels, cfg.data.image_size, cfg.data.image_size)
    # Random uint8 pictures on the device: the step's cost does not depend on what they show.
    images = torch.randint(0, 256, shape, dtype=torch.uint8, device=device)
    labels = torch.randint(0, 10, (batch,), device=device) if cfg.model.conditional else None
    torch.manual_seed(0)
    trainer = Trainer(*build_models(cfg.model, cfg.data), cfg.train, cfg.model.latent_dim, device)
    return trainer, lambda: trainer.step(to_unit_range(images, device), labels), device


def measure(preset: str, precision: str, steps: int, repeats: int, warmup: int) -> dict:
    """One preset at one precision, in this process."""
    batch = get_preset(preset).train.batch_size
    # FLOPs are counted on an eager step: the counter cannot look inside a CUDA graph's replay.
    _, eager_step, _ = preset_step(preset, precision, graphs=False)
    eager_step()
    with FlopCount() as counter:
        eager_step()
    flops_per_step = counter.total
    trainer, step, device = preset_step(preset, precision)
    for _ in range(warmup):
        step()
    rates = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        for _ in range(steps):
            stats = step()
        float(stats["g_loss" if "g_loss" in stats else "d_loss"])  # one sync, as training does
        rates.append(batch * steps / (time.perf_counter() - start))
    images_per_s = statistics.median(rates)
    return {
        "preset": preset,
        "precision": precision,
        "autocast": str(trainer.amp_dtype).removeprefix("torch.") if trainer.amp_dtype else "fp32",
        "device": str(device),
        "cuda_graphs": trainer.graphs is not None,
        "batch": batch,
        "images_per_s": images_per_s,
        "rates": rates,
        "gflop_per_image": flops_per_step / batch / 1e9,
        "gflop_per_s": flops_per_step / batch * images_per_s / 1e9,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_gpu_mib": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None,
    }


def data_cost(batch: int = 256, repeats: int = 3) -> dict:
    """Seconds for one MNIST epoch of batches (shuffled indexing + [-1, 1] conversion), in memory."""
    from ganforge.config import DataConfig
    from ganforge.data import load_data

    data = load_data(DataConfig())
    best = float("inf")
    for epoch in range(repeats):
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(epoch))
        start = time.perf_counter()
        for b in range(0, len(data), batch):
            to_unit_range(data.images[order[b : b + batch]], torch.device("cpu"))
        best = min(best, time.perf_counter() - start)
    return {"epoch_seconds": best, "batches": -(-len(data) // batch), "images": len(data)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--precisions", nargs="+", default=["auto", "fp32"])
    parser.add_argument("--steps", type=int, default=3, help="steps per timing")
    parser.add_argument("--repeats", type=int, default=5, help="timings; the median is reported")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", help="also write all results to this file")
    parser.add_argument("--one", nargs=2, metavar=("PRESET", "PRECISION"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(*args.one, args.steps, args.repeats, args.warmup)))
        return
    device = resolve_device("auto")
    # Emulated bf16 (a CPU without AVX512-BF16/AMX) takes minutes for the product and is no peak.
    peaks = {"fp32": matmul_peak(torch.float32, device)}
    peaks["bf16"] = matmul_peak(torch.bfloat16, device) if native_bf16(device) else None
    print(
        f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch "
        f"{torch.__version__}, device {device}"
    )
    bf16 = f"{peaks['bf16']:.0f} GFLOP/s" if peaks["bf16"] else "not native here"
    print(f"# matmul peak: fp32 {peaks['fp32']:.0f} GFLOP/s, bf16 {bf16}")
    header = (
        "| preset | precision | batch | images/s | GFLOP/image | GFLOP/s | % of peak | peak RSS MiB "
        "| peak GPU MiB |"
    )
    print(header + "\n" + "|---" * (header.count("|") - 1) + "|")
    results = []
    for preset in args.presets:
        for precision in args.precisions:
            row = _run_one(preset, precision, args)
            if row is None:
                continue
            peak = peaks[row["autocast"].replace("bfloat16", "bf16")]
            row["fraction_of_peak"] = row["gflop_per_s"] / peak if peak else None
            results.append(row)
            print(_row(row), flush=True)
    data = data_cost()
    step = next((r for r in results if r["preset"] == "tf-dcgan-mnist"), None)
    if step:
        train_epoch = data["images"] / step["images_per_s"]
        print(
            f"# MNIST epoch of in-memory batches: {data['epoch_seconds']:.3f} s = "
            f"{100 * data['epoch_seconds'] / train_epoch:.2f}% of a tf-dcgan-mnist training epoch "
            f"({train_epoch:.2f} s at {step['precision']})"
            + (
                "; host time, which overlaps the GPU's work (benchmarks/epoch_time.py)"
                if device.type == "cuda"
                else ""
            )
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"peaks_gflop_per_s": peaks, "data": data, "results": results}, f, indent=1)


def _row(row: dict) -> str:
    cells = [
        row["preset"],
        f"{row['precision']} ({row['autocast']}{', CUDA graphs' if row['cuda_graphs'] else ''})",
        row["batch"],
        f"{row['images_per_s']:.0f}",
        f"{row['gflop_per_image']:.3f}",
        f"{row['gflop_per_s']:.0f}",
        "-" if row["fraction_of_peak"] is None else f"{100 * row['fraction_of_peak']:.0f}%",
        f"{row['peak_rss_mib']:.0f}",
        "-" if row["peak_gpu_mib"] is None else f"{row['peak_gpu_mib']:.0f}",
    ]
    return "| " + " | ".join(map(str, cells)) + " |"


def _run_one(preset: str, precision: str, args: argparse.Namespace) -> dict | None:
    """One preset x precision in a process of its own (None, with its error printed, if it failed)."""
    timing = ["--steps", str(args.steps), "--repeats", str(args.repeats), "--warmup", str(args.warmup)]
    command = [sys.executable, __file__, "--one", preset, precision, *timing]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        print(f"# {preset} {precision} FAILED:\n{done.stderr[-3000:]}", flush=True)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
