"""benchmarks/throughput.py counts a training step's FLOPs, spectral-norm presets included."""

import torch
from torch import nn

from tests.benchmarks import load_benchmark


def test_flop_count_of_a_convolution_is_the_textbook_count():
    conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
    x = torch.randn(2, 3, 16, 16)
    with load_benchmark("throughput").FlopCount() as counter:
        conv(x)
    # 2 FLOPs (multiply, add) per weight per output pixel.
    assert counter.total == 2 * 2 * 8 * 16 * 16 * 3 * 3 * 3


def test_flop_count_survives_a_spectral_norm_step_with_autograd_grad():
    # FlopCounterMode's module hooks raised here ("A leaf node was passed to _will_engine_execute_node").
    throughput = load_benchmark("throughput")
    _, step, _ = throughput.preset_step("sn-dcgan", "fp32", graphs=False, batch_size=2)
    step()
    with throughput.FlopCount() as counter:
        stats = step()
    assert torch.isfinite(stats["d_loss"])
    assert counter.total > 0
