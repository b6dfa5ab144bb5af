"""DiffAugment: shapes, identity when off, determinism under a seed, differentiability, each operation."""

from __future__ import annotations

import pytest
import torch

from ganforge.augment import Augment, color, cutout, parse_policy, translation
from ganforge.errors import UserError

POLICY = "color,translation,cutout"


def _images(n: int = 8, c: int = 3, size: int = 16) -> torch.Tensor:
    return torch.rand(n, c, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1


def _draw(aug: Augment, n: int, seed: int) -> torch.Tensor | None:
    return aug.draw(n, torch.Generator().manual_seed(seed), torch.device("cpu"))


def test_same_shape_and_changes_the_images():
    aug, x = Augment(POLICY), _images()
    out = aug.apply(x, _draw(aug, len(x), 0))
    assert out.shape == x.shape
    assert not torch.allclose(out, x)


@pytest.mark.parametrize("policy", ["", "none", "off"])
def test_identity_when_off(policy):
    aug, x = Augment(policy), _images()
    assert not aug
    assert _draw(aug, len(x), 0) is None
    assert aug.apply(x, None) is x


def test_deterministic_under_a_seed_and_different_across_seeds():
    aug, x = Augment(POLICY), _images()
    a = aug.apply(x, _draw(aug, len(x), 1))
    b = aug.apply(x, _draw(aug, len(x), 1))
    c = aug.apply(x, _draw(aug, len(x), 2))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_differentiable_in_the_images():
    aug = Augment(POLICY)
    x = _images().requires_grad_(True)
    aug.apply(x, _draw(aug, len(x), 0)).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    # Without colour's image-wide means, pixels shifted out or cut out get no gradient and kept ones
    # do: the gradient is the augmentation's, not a stand-in.
    geometric = Augment("translation,cutout")
    y = _images().requires_grad_(True)
    geometric.apply(y, _draw(geometric, len(y), 0)).square().sum().backward()
    assert (y.grad == 0).any() and (y.grad != 0).any()


def test_translation_shifts_whole_pixels_with_zero_fill():
    x = torch.arange(16.0).view(1, 1, 4, 4) + 1
    # u = 0 -> the largest negative shift (-1 pixel at 4 px: round(4 / 8) = 1) in both directions.
    out = translation(x, torch.zeros(1, 2))
    assert torch.equal(out[0, 0, :3, :3], x[0, 0, 1:, 1:])
    assert torch.equal(out[0, 0, 3], torch.zeros(4)) and torch.equal(out[0, 0, :, 3], torch.zeros(4))
    centre = translation(x, torch.full((1, 2), 0.5))  # the middle of the range is no shift
    assert torch.equal(centre, x)


def test_cutout_zeroes_a_square_of_half_the_side():
    x = torch.ones(4, 2, 8, 8)
    out = cutout(x, torch.rand(4, 2, generator=torch.Generator().manual_seed(3)))
    zeros = (out == 0).all(dim=1)  # (N, H, W): every channel cut together
    for mask in zeros:
        rows, cols = mask.any(dim=1).sum(), mask.any(dim=0).sum()
        assert mask.sum() == rows * cols  # one rectangle
        assert 1 <= rows <= 4 and 1 <= cols <= 4  # half the side, clipped at the border


def test_color_uses_the_published_ranges():
    x = torch.zeros(1, 3, 4, 4)
    # brightness u=1 -> +0.5; saturation and contrast leave a flat image flat.
    out = color(x, torch.tensor([[1.0, 0.5, 0.5]]))
    assert torch.allclose(out, torch.full_like(x, 0.5))
    grey = torch.linspace(-1, 1, 48).view(1, 3, 4, 4)
    flat = color(grey, torch.tensor([[0.5, 0.0, 0.5]]))  # saturation x0: every channel its pixel's mean
    assert torch.allclose(flat, flat.mean(dim=1, keepdim=True).expand_as(flat), atol=1e-6)


def test_grayscale_images_work():
    aug, x = Augment(POLICY), _images(c=1, size=28)
    assert aug.apply(x, _draw(aug, len(x), 0)).shape == x.shape


def test_unknown_or_repeated_operation_is_one_clear_error():
    with pytest.raises(UserError, match="unknown augmentation 'colour'"):
        parse_policy("colour,translation")
    with pytest.raises(UserError, match="twice"):
        parse_policy("cutout,cutout")
