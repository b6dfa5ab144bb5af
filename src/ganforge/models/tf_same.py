"""TensorFlow's "same" padding alignment for stride-2 layers, shared by the families that reproduce TF models.

TF pads "same" convolutions asymmetrically (the extra row and column go after), and a "same" transposed
convolution keeps the window that starts one row and column in. Reproducing both makes every output pixel
see the same inputs as in TensorFlow.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def same_pad(x: torch.Tensor) -> torch.Tensor:
    """Pad for a 5x5, stride-2 "same" convolution on an even size: 1 before, 2 after."""
    return F.pad(x, (1, 2, 1, 2))


def crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """The top-left size x size window, dense again in x's layout.

    A ConvTranspose2d(5, stride=2, padding=1) followed by this crop is TF's 5x5 stride-2 "same" transposed
    convolution. BatchNorm's backward on the strided view ran about 4x slower than on a dense copy
    (measured on CPU).
    """
    layout = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else None
    return x[:, :, :size, :size].contiguous(memory_format=layout or torch.contiguous_format)
