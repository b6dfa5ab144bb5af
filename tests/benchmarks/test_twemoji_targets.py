"""benchmarks/twemoji_targets.py degrades real images in the ways its table names."""

import pytest
import torch

from tests.benchmarks import ROOT, load_benchmark


@pytest.fixture
def targets(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # as when it runs as a script: harness/ beside it
    return load_benchmark("twemoji_targets")


def images(n: int = 6) -> torch.Tensor:
    seeded = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (n, 3, 64, 64), generator=seeded, dtype=torch.uint8)


def test_blur_softens_each_colour_channel_alone(targets):
    x = images()
    blurred = targets.blur(x)
    for c in range(3):
        assert torch.equal(blurred[:, c : c + 1], targets.blur(x[:, c : c + 1]))
    assert blurred.float().std() < x.float().std()


def test_lower_resolution_sets_hold_only_that_much_detail(targets):
    x = images()
    assert torch.equal(targets._shown_at_64(64, "nearest")(x), x)
    blocky = targets._shown_at_64(32, "nearest")(x)
    assert blocky.shape == x.shape and torch.equal(blocky[..., ::2, ::2], blocky[..., 1::2, 1::2])
    assert not torch.equal(blocky, x)
    assert targets._shown_at_64(16, "bilinear")(x).shape == x.shape


def test_few_repeats_a_fraction_of_the_images(targets):
    x = images(8)
    few = targets._few(0.25)(x)
    assert len(few) == 8 and torch.equal(few, x[torch.tensor([0, 1] * 4)])
    assert torch.equal(targets._few(0.01)(x), x[[0] * 8])
