"""Stacked MNIST: built deterministically from MNIST, 1000 modes, and the coverage metric on it."""

from __future__ import annotations

import pytest
import torch

from ganforge.config import DataConfig
from ganforge.data import load_data, natural_shape
from ganforge.errors import UserError
from ganforge.metrics.classes import mode_stats
from ganforge.presets import default_preset


@pytest.fixture(scope="module")
def stacked():
    return load_data(DataConfig(source="stacked-mnist", split="test", channels=3, image_size=28))


def test_each_channel_is_an_mnist_digit_and_the_label_is_the_triple(stacked):
    digits = load_data(DataConfig(source="mnist", split="test"))
    assert stacked.images.shape == (10_000, 3, 28, 28) and stacked.images.dtype == torch.uint8
    assert len(stacked.class_names) == 1000 and stacked.class_names[42] == "042"
    by_pixels = {
        bytes(img.numpy()): int(label) for img, label in zip(digits.images[:, 0], digits.labels, strict=True)
    }
    for i in (0, 1, 9999):
        channel_digits = [by_pixels[bytes(stacked.images[i, c].numpy())] for c in range(3)]
        assert int(stacked.labels[i]) == 100 * channel_digits[0] + 10 * channel_digits[1] + channel_digits[2]
    # Every MNIST test digit appears once in each channel.
    red = {bytes(img.numpy()) for img in stacked.images[:, 0]}
    assert len(red) == len({bytes(img.numpy()) for img in digits.images[:, 0]})


def test_it_is_the_same_set_every_time(stacked):
    again = load_data(DataConfig(source="stacked-mnist", split="test", channels=3, image_size=28))
    assert torch.equal(again.images, stacked.images) and torch.equal(again.labels, stacked.labels)
    assert len(torch.unique(stacked.labels)) == 1000


def test_shape_and_default_recipe():
    assert natural_shape("stacked-mnist") == (3, 28)
    assert default_preset("stacked-mnist").data.image_size == 28
    with pytest.raises(UserError, match="28x28 RGB"):
        load_data(DataConfig(source="stacked-mnist", channels=1, image_size=28))


def test_mode_stats_count_modes_and_measure_kl_to_uniform():
    even = torch.eye(1000).repeat(3, 1)  # each mode exactly three times
    assert mode_stats(even) == {"modes_covered": 1000, "modes_total": 1000, "mode_kl_to_uniform": 0.0}
    collapsed = torch.zeros(50, 1000)
    collapsed[:, 7] = 1
    stats = mode_stats(collapsed)
    assert stats["modes_covered"] == 1
    assert stats["mode_kl_to_uniform"] == pytest.approx(torch.log(torch.tensor(1000.0)).item())
