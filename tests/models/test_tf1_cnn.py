"""The TF1 notebook's networks: shapes, TF's padding alignment, batch-statistics BatchNorm, the z shift.

The values themselves are compared with the notebook's TF graph by
benchmarks/tf_reference/tf1_equivalence.py (it needs TensorFlow).
"""

import torch

from ganforge.models.tf1_cnn import TF1Discriminator, TF1Generator


def test_shapes_and_kernels():
    torch.manual_seed(0)
    g, d = TF1Generator(), TF1Discriminator()
    images = g(torch.randn(4, 100))
    assert images.shape == (4, 1, 28, 28)
    assert d(images).shape == (4, 1)
    assert all(up.kernel_size == (5, 5) for up in (g.up1, g.up2, g.up3, g.up4))


def test_valid_padding_leaves_the_last_row_and_column_to_the_bias():
    # TF's "valid" transposed conv makes 27x27 and pads the 28th row and column at the end.
    torch.manual_seed(0)
    g = TF1Generator()
    with torch.no_grad():
        images = g(torch.randn(8, 100))[:, 0]
        edge = torch.tanh(g.up4.bias)
    torch.testing.assert_close(images[:, 27, :], edge.expand(8, 28))
    torch.testing.assert_close(images[:, :, 27], edge.expand(8, 28))
    assert images[:, :27, :27].std() > 0.1


def test_batch_norm_uses_the_batch_when_sampling_too():
    torch.manual_seed(0)
    g = TF1Generator()
    z = torch.randn(16, 100)
    with torch.no_grad():
        trained_mode = g.train()(z)
        sampling_mode = g.eval()(z)
    torch.testing.assert_close(sampling_mode, trained_mode)


def test_noise_is_shifted_to_the_notebooks_mean_of_minus_one():
    # relu(z - 1) is zero for every z <= 1, so such noise vectors all draw the same image.
    torch.manual_seed(0)
    g = TF1Generator()
    z = torch.cat([torch.zeros(4, 100), torch.rand(4, 100) * 0.9, torch.full((8, 100), 3.0)])
    with torch.no_grad():
        images = g(z)
    torch.testing.assert_close(images[:8], images[:1].expand(8, -1, -1, -1))
    assert (images[8] - images[0]).abs().max() > 0.01
