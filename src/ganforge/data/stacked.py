"""Stacked MNIST: three MNIST digits as the R, G and B channels of one 28x28 image, 1000 modes.

The standard mode-collapse benchmark (Metz et al. 2017; VEEGAN, PacGAN, R3GAN): a generator that covers
the data draws all 10^3 digit triples equally often. Built deterministically from MNIST: for image i of
a split, channel c holds digit ``perm_c[i]`` of that split, with three fixed-seed permutations, so every
MNIST digit appears once per channel and every copy of ganforge builds the same set (60,000 training
and 10,000 test images). The label of an image is its mode, 100 * red + 10 * green + blue.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganforge.data.images import ImageData
from ganforge.data.mnist import load_mnist_like

NAME = "stacked-mnist"
MODES = 1000
SEEDS = {"train": 1_000_001, "test": 1_000_002}


def load_stacked_mnist(split: str = "train", data_dir: str | Path | None = None) -> ImageData:
    """Stacked MNIST's ``split`` as uint8 (N, 3, 28, 28) with mode labels 0..999.

    Raises:
        UserError: MNIST itself cannot be found (the message says what to install).
    """
    digits = load_mnist_like("mnist", split, data_dir)
    n = len(digits)
    rng = np.random.default_rng(SEEDS[split])
    picks = torch.from_numpy(np.stack([rng.permutation(n) for _ in range(3)]))  # (3, N)
    images = torch.cat([digits.images[picks[c]] for c in range(3)], dim=1)  # (N, 3, 28, 28)
    labels = digits.labels[picks]  # (3, N): the digit in each channel
    modes = labels[0] * 100 + labels[1] * 10 + labels[2]
    return ImageData(images, modes, f"{NAME}:{split}", [f"{m:03d}" for m in range(MODES)])
