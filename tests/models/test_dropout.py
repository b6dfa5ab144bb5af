import pytest
import torch

from ganforge.models.dropout import FastDropout, fast_dropout


@pytest.mark.parametrize("p", [0.3, 0.5, 0.05])
def test_drops_the_right_fraction_and_rescales_the_rest(p):
    torch.manual_seed(0)
    x = torch.full((64, 32, 16, 16), 2.0)
    y = fast_dropout(x, p)
    dropped = (y == 0).double().mean().item()
    sigma = (p * (1 - p) / x.numel()) ** 0.5
    assert abs(dropped - p) < 5 * sigma
    torch.testing.assert_close(y[y != 0], torch.full_like(y[y != 0], 2.0 / (1 - p)))


def test_every_lane_of_the_random_integers_is_unbiased():
    # Each int64 gives four 16-bit lanes; a biased lane would show up at every fourth element.
    torch.manual_seed(1)
    y = fast_dropout(torch.ones(4 * 200_000), 0.5).view(-1, 4)
    assert torch.allclose((y == 0).double().mean(0), torch.full((4,), 0.5, dtype=torch.double), atol=0.006)


def test_gradient_is_the_same_mask_and_scale():
    torch.manual_seed(2)
    x = torch.randn(8, 4, 6, 6, requires_grad=True)
    y = fast_dropout(x, 0.3)
    y.sum().backward()
    torch.testing.assert_close(x.grad, (y != 0).float() / 0.7)


def test_channels_last_input_keeps_its_layout():
    torch.manual_seed(3)
    x = torch.randn(4, 8, 5, 5).contiguous(memory_format=torch.channels_last)
    y = fast_dropout(x, 0.3)
    assert y.is_contiguous(memory_format=torch.channels_last)
    kept = y != 0
    torch.testing.assert_close(y[kept], x[kept] / 0.7)


def test_eval_mode_edge_probabilities_and_seeding():
    x = torch.randn(3, 10)
    module = FastDropout(0.3).eval()
    assert torch.equal(module(x), x)
    assert torch.equal(fast_dropout(x, 0.0), x)
    assert torch.count_nonzero(fast_dropout(x, 1.0)) == 0
    torch.manual_seed(4)
    first = fast_dropout(x, 0.3)
    torch.manual_seed(4)
    assert torch.equal(first, fast_dropout(x, 0.3))
