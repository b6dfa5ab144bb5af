"""The upsampling conv: the same function, values and gradients, as nearest 2x followed by a 3x3 conv."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from ganforge.models.upconv import UpsampleConv2d, transposed_kernel


def _resize_conv(x: torch.Tensor, conv: torch.nn.Conv2d) -> torch.Tensor:
    """The definition: repeat every pixel 2x2, then the 3x3 conv with zero padding 1."""
    return F.conv2d(F.interpolate(x, scale_factor=2.0, mode="nearest"), conv.weight, conv.bias, padding=1)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(("cin", "cout", "size"), [(3, 5, 1), (4, 6, 2), (8, 4, 7), (16, 32, 8)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_matches_nearest_upsampling_then_a_3x3_conv(cin, cout, size, bias, channels_last):
    torch.manual_seed(0)
    conv = UpsampleConv2d(cin, cout, bias=bias).double()
    x = torch.randn(3, cin, size, size, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    out, ref = conv(xa), _resize_conv(xb, conv)
    assert out.shape == (3, cout, 2 * size, 2 * size)
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    grad = torch.randn_like(out)
    got = torch.autograd.grad(out, [xa, *conv.parameters()], grad)
    want = torch.autograd.grad(ref, [xb, *conv.parameters()], grad)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_a_single_tap_lands_where_the_resized_pixels_put_it():
    # Only the top-left tap set: every output pixel reads the upsampled pixel above-left of it, i.e.
    # small-map row/col (o - 1) // 2. A hand-checkable case of the 4-tap rule in the module docstring.
    w = torch.zeros(1, 1, 3, 3)
    w[0, 0, 0, 0] = 1.0
    k = transposed_kernel(w)[0, 0]
    assert k.tolist() == [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]]
    x = torch.arange(1.0, 5.0).view(1, 1, 2, 2)
    conv = UpsampleConv2d(1, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(w)
    assert conv(x)[0, 0].tolist() == [[0, 0, 0, 0], [0, 1, 1, 2], [0, 1, 1, 2], [0, 3, 3, 4]]


def test_keeps_the_state_dict_of_a_plain_3x3_conv():
    torch.manual_seed(0)
    plain = torch.nn.Conv2d(4, 6, 3, padding=1)
    torch.manual_seed(0)
    up = UpsampleConv2d(4, 6)
    assert plain.state_dict().keys() == up.state_dict().keys()
    for key, value in plain.state_dict().items():
        assert torch.equal(value, up.state_dict()[key])  # same shapes and the same initialisation


def test_under_bf16_autocast_stays_close_to_the_fp32_result():
    torch.manual_seed(0)
    conv = UpsampleConv2d(8, 8)
    x = torch.randn(2, 8, 8, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = conv(x)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), _resize_conv(x, conv), rtol=0.05, atol=0.05)
