"""Sample sets whose quality order is obvious (real, slightly blurred, half the classes missing, one class,
noise): what a metric must rank right. Used by ``tests/metrics/test_ranking.py`` and
``benchmarks/metric_ranking.py``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganforge.config import DataConfig
from ganforge.data import load_data
from ganforge.metrics.evaluate import evaluate, load_reference
from ganforge.metrics.extractors import get_extractor

ORDER = ("real", "slightly blurred", "half the classes missing", "a single class", "noise")


def degraded_sets(dataset: str, n: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """uint8 (n, 1, 28, 28) sets from the training split, from best to worst."""
    train = load_data(DataConfig(source=dataset, split="train"))
    rng = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(train), generator=rng)
    real = train.images[pick[:n]]
    blurred = blur(real)
    half = train.images[pick[train.labels[pick] < 5][:n]]
    single = train.images[pick[train.labels[pick] == 0][:n]]
    noise = torch.randint(0, 256, real.shape, generator=rng, dtype=torch.uint8)
    return dict(zip(ORDER, (real, blurred, half, single, noise), strict=True))


def blur(images: torch.Tensor, sigma: float = 0.5) -> torch.Tensor:
    """A separable 3-tap Gaussian blur (sigma 0.5 pixel) of uint8 (N, C, H, W), each channel alone: a
    slight softening of the strokes."""
    taps = torch.exp(-torch.tensor([1.0, 0.0, 1.0]) / (2 * sigma**2))
    taps = taps / taps.sum()
    c = images.shape[1]
    x = F.pad(images.float(), (1, 1, 1, 1), mode="replicate")
    x = F.conv2d(x, taps.view(1, 1, 1, 3).expand(c, 1, 1, 3), groups=c)
    x = F.conv2d(x, taps.view(1, 1, 3, 1).expand(c, 1, 3, 1), groups=c)
    return x.round().clamp(0, 255).byte()


def rank(dataset: str, n: int, kid_subsets: int = 100) -> dict[str, dict]:
    """Every set's metrics against the test split."""
    reference, _ = load_reference(f"{dataset}:test")
    extractor = get_extractor(f"{dataset}-cnn")
    return {
        name: evaluate(images, reference, extractor, kid_subsets=kid_subsets)["metrics"]
        for name, images in degraded_sets(dataset, n).items()
    }
