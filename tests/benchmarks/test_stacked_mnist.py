"""benchmarks/stacked_mnist.py splits the modes' KL into the channels' digit balance."""

import math

from tests.benchmarks import load_benchmark


def test_channel_kls_read_each_channel_of_the_mode_index():
    channel_kls = load_benchmark("stacked_mnist").channel_kls
    assert all(abs(kl) < 1e-12 for kl in channel_kls([1.0] * 1000))
    # Green always draws a 3 (mode = 100 R + 10 G + B), red and blue stay uniform.
    only_green_3 = [1.0 if mode // 10 % 10 == 3 else 0.0 for mode in range(1000)]
    red, green, blue = channel_kls(only_green_3)
    assert math.isclose(green, math.log(10)) and abs(red) < 1e-12 and abs(blue) < 1e-12
    # Red draws 0s and 1s only, half each: KL log 5.
    red_01 = [1.0 if mode // 100 < 2 else 0.0 for mode in range(1000)]
    assert math.isclose(channel_kls(red_01)[0], math.log(5))
