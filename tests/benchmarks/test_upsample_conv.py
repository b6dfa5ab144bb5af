"""benchmarks/upsample_conv.py times the two forms of the same layer, and really swaps the old one in."""

import torch

from tests.benchmarks import load_benchmark


def test_the_old_form_it_times_is_the_resize_conv_and_equals_the_layer():
    bench = load_benchmark("upsample_conv")
    conv = bench.UpsampleConv2d(4, 6)
    x = torch.randn(2, 4, 5, 5)
    torch.testing.assert_close(bench.resize_conv(conv, x), conv(x), rtol=1e-5, atol=1e-5)


def test_a_step_round_prints_both_forms(capsys):
    bench = load_benchmark("upsample_conv")
    bench.steps("sn-dcgan", 16, rounds=1, per_round=1)
    line = capsys.readouterr().out
    assert line.startswith("sn-dcgan at 16 px: resize-conv ") and "transposed" in line and "less" in line
