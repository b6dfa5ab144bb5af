"""Resize-conv (nearest 2x, then conv 3x3) against the same function as one transposed conv (upconv.py).

    OMP_NUM_THREADS=1 python benchmarks/upsample_conv.py                    # fastgan's blocks and step
    OMP_NUM_THREADS=1 python benchmarks/upsample_conv.py --presets sn-dcgan --sizes 0
    python benchmarks/upsample_conv.py --no-blocks --sizes 0 --clock wall   # as ganforge train runs

Prints, for each of ``fastgan``'s four upsampling blocks at 64 px (batch 16, channels-last), the forward
and backward time of both forms; then, for each preset and size, the median CPU time of a whole
training step with the generator's upsampling convs in either form: 8 interleaved rounds of 5 steps on
random images, so both forms see the same drift of the machine. Size 0 means the preset's own. Times
are CPU time (all threads together) unless ``--clock wall`` asks for the clock's.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
import types
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ganforge import build_models, get_preset
from ganforge.data.images import to_unit_range
from ganforge.models.upconv import UpsampleConv2d
from ganforge.train.trainer import Trainer


def resize_conv(conv: UpsampleConv2d, x: torch.Tensor) -> torch.Tensor:
    """The definition the layer replaces: repeat pixels 2x2, then the plain 3x3 conv."""
    return F.conv2d(F.interpolate(x, scale_factor=2.0, mode="nearest"), conv.weight, conv.bias, padding=1)


def block_ms(forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, repeats: int = 5) -> float:
    """Mean ms of forward + backward (gradients for the input and the weights) after two warm-up passes."""
    x = x.clone().requires_grad_(True)
    for _ in range(2):
        forward(x).sum().backward()
    start = time.process_time()
    for _ in range(repeats):
        forward(x).sum().backward()
    return (time.process_time() - start) / repeats * 1000


def blocks() -> None:
    for cin, cout, size in ((32, 32, 32), (64, 64, 16), (128, 128, 8), (128, 256, 4)):
        conv = UpsampleConv2d(cin, cout, bias=False)
        x = torch.randn(16, cin, size, size).contiguous(memory_format=torch.channels_last)
        old, new = block_ms(functools.partial(resize_conv, conv), x), block_ms(conv, x)
        print(
            f"block {size} -> {2 * size} px, {cin} -> {cout} channels: resize-conv {old:.1f} ms, "
            f"transposed {new:.1f} ms (forward + backward)"
        )


def step_fn(preset: str, size: int, old: bool) -> Callable[[], object]:
    """One training step of ``preset`` on random images; ``old`` puts resize-conv back in G's layers."""
    cfg = get_preset(preset)
    cfg.data.image_size = size or cfg.data.image_size
    torch.manual_seed(0)
    g, d = build_models(cfg.model, cfg.data)
    for m in g.modules():
        if old and isinstance(m, UpsampleConv2d):
            m.forward = types.MethodType(resize_conv, m)
    trainer = Trainer(g, d, cfg.train, cfg.model.latent_dim, torch.device("cpu"))
    shape = (cfg.train.batch_size, cfg.data.channels, cfg.data.image_size, cfg.data.image_size)
    images = to_unit_range(torch.randint(0, 256, shape, dtype=torch.uint8), torch.device("cpu"))
    return lambda: trainer.step(images)


def steps(
    preset: str,
    size: int,
    rounds: int = 8,
    per_round: int = 5,
    clock: Callable[[], float] = time.process_time,
) -> None:
    """Print the median time of a step of ``preset`` at ``size`` px in both forms, interleaved."""
    fns = {old: step_fn(preset, size, old) for old in (True, False)}
    times: dict[bool, list[float]] = {old: [] for old in fns}
    for fn in fns.values():
        fn(), fn()
    for _ in range(rounds):
        for old, fn in fns.items():
            start = clock()
            for _ in range(per_round):
                fn()
            times[old].append((clock() - start) / per_round * 1000)
    old, new = (statistics.median(times[k]) for k in (True, False))
    print(
        f"{preset} at {size or 'its own'} px: resize-conv {old:.0f} ms a step, transposed {new:.0f} ms "
        f"({100 * (1 - new / old):.0f}% less)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["fastgan"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[64, 32])
    parser.add_argument("--no-blocks", action="store_true", help="only the whole steps")
    parser.add_argument("--clock", choices=["cpu", "wall"], default="cpu", help="what a step's time is")
    args = parser.parse_args()
    if not args.no_blocks:
        blocks()
    for preset in args.presets:
        for size in args.sizes:
            steps(preset, size, clock=time.perf_counter if args.clock == "wall" else time.process_time)


if __name__ == "__main__":
    main()
