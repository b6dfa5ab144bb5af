"""Nearest-neighbour 2x upsampling and a 3x3 convolution, computed as one stride-2 transposed convolution.

The generators of ``fastgan`` and ``sn-dcgan`` grow their maps with "resize-convolution" (Odena et al.,
Distill 2016): repeat every pixel 2x2, then convolve 3x3. Of the nine pixels under the 3x3 window at an
output pixel, the repeated ones come from only a 2x2 patch of the small map, so the same output is a sum
of four products per input channel, not nine. Along one axis, with the kernel's taps ``w[0], w[1],
w[2]`` (above, centre, below), an even output row reads the small map's rows ``i - 1`` (with ``w[0]``)
and ``i`` (with ``w[1] + w[2]``), an odd one rows ``i`` (``w[0] + w[1]``) and ``i + 1`` (``w[2]``).
That is a transposed convolution of stride 2, padding 1 and the 4-tap kernel ``(w[2], w[1] + w[2],
w[0] + w[1], w[0])``, applied along both axes. The model keeps its 3x3 weights (same parameters, same
checkpoints, same function up to float rounding, no checkerboard); only the arithmetic is 2.25x less.
On one thread of an AVX2 CPU the forward and backward pass of ``fastgan``'s 32 -> 64 px block took
31-42 instead of 99-101 ms (docs/performance.md).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _taps(weight: torch.Tensor, dim: int) -> torch.Tensor:
    """The 4-tap transposed kernel along ``dim`` from the 3 taps of the 3x3 kernel (docstring above)."""
    above, centre, below = weight.unbind(dim)
    return torch.stack((below, centre + below, above + centre, above), dim)


def transposed_kernel(weight: torch.Tensor) -> torch.Tensor:
    """(out, in, 3, 3) conv weight -> (in, out, 4, 4) weight of the equivalent stride-2 transposed conv.

    Plain adds and stacks, so under autocast the kernel is summed in the weight's own precision and
    cast once by the convolution, as the 3x3 weight itself would be.
    """
    return _taps(_taps(weight, 2), 3).transpose(0, 1)


class UpsampleConv2d(nn.Conv2d):
    """``conv3x3(upsample_nearest_2x(x))``: (N, cin, s, s) -> (N, cout, 2s, 2s), four products a pixel.

    A ``nn.Conv2d`` (3x3, padding 1) in its parameters, initialisation and state-dict keys, so models
    that upsampled before a plain 3x3 conv load their old checkpoints unchanged.
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True) -> None:
        super().__init__(in_channels, out_channels, 3, padding=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose2d(x, transposed_kernel(self.weight), self.bias, stride=2, padding=1)
