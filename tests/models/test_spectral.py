"""ganforge's spectral normalisation (no torch.vdot, for MPS) matches PyTorch's, and so do its state dicts."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as torch_spectral_norm

from ganforge.models.spectral import spectral_norm


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Conv2d(3, 8, 3),
        lambda: nn.ConvTranspose2d(8, 4, 4, 2, 1),
        lambda: nn.Linear(16, 5),
        lambda: nn.Embedding(10, 12),
    ],
)
def test_matches_pytorchs_spectral_norm(make):
    torch.manual_seed(0)
    ours, theirs = make(), make()
    theirs.load_state_dict(ours.state_dict())
    torch.manual_seed(1)
    spectral_norm(ours)
    torch.manual_seed(1)
    torch_spectral_norm(theirs)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    for _ in range(5):  # training passes move the power iteration on both
        torch.testing.assert_close(ours.weight, theirs.weight, atol=1e-5, rtol=1e-5)
    ours.eval(), theirs.eval()
    torch.testing.assert_close(ours.weight, theirs.weight, atol=1e-5, rtol=1e-5)
    # A state dict of one loads into the other.
    theirs.load_state_dict(ours.state_dict())


def test_the_largest_singular_value_becomes_one():
    layer = spectral_norm(nn.Linear(30, 20))
    for _ in range(50):
        weight = layer.weight
    assert torch.linalg.matrix_norm(weight.detach(), ord=2).item() == pytest.approx(1.0, abs=1e-3)
