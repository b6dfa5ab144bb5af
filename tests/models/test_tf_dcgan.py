import pytest
import torch
from torch.nn import functional as F

from ganforge.config import DataConfig, ModelConfig
from ganforge.errors import UserError
from ganforge.models import build_models
from ganforge.models.tf_dcgan import TFDCGANDiscriminator, TFDCGANGenerator


def test_shapes_and_parameter_counts_match_the_tutorial():
    g, d = TFDCGANGenerator(), TFDCGANDiscriminator()
    x = g(torch.randn(3, 100))
    assert x.shape == (3, 1, 28, 28) and x.abs().max() <= 1
    assert d(x).shape == (3, 1)
    # Keras model.summary() of the tutorial: 2,305,472 trainable (G) and 212,865 (D).
    assert sum(p.numel() for p in g.parameters()) == 2_305_472
    assert sum(p.numel() for p in d.parameters()) == 212_865


def test_keras_defaults():
    g, d = TFDCGANGenerator(), TFDCGANDiscriminator()
    assert g.bn1.momentum == pytest.approx(0.01) and g.bn1.eps == pytest.approx(1e-3)
    assert all(m.bias is None for m in (g.fc, g.up1, g.up2, g.up3))
    assert torch.count_nonzero(d.conv1.bias) == 0 and torch.count_nonzero(d.fc.bias) == 0
    limit = (6 / (25 * 1 + 25 * 64)) ** 0.5  # Glorot-uniform bound of conv1
    assert d.conv1.weight.abs().max() <= limit and d.conv1.weight.abs().max() > 0.9 * limit
    assert d.drop.p == 0.3


def test_tf_same_padding_alignment():
    # TF "same" with a 5x5 kernel, stride 2, pads one row before and two after: output pixel 0 sees
    # input rows -1..3. A delta at row 3 must reach output row 0; a delta at row 4 must not.
    d = TFDCGANDiscriminator()
    for row, reaches in ((3, True), (4, False)):
        x = torch.zeros(1, 1, 28, 28)
        x[0, 0, row, 3] = 1.0
        out = F.conv2d(F.pad(x, (1, 2, 1, 2)), torch.ones(1, 1, 5, 5), stride=2)
        assert (out[0, 0, 0, 1] != 0).item() is reaches
        assert d.conv1(F.pad(x, (1, 2, 1, 2))).shape[-1] == 14


def test_rgb_channels_and_size_check():
    g, _ = build_models(ModelConfig(name="tf-dcgan", latent_dim=100), DataConfig(channels=3))
    assert g(torch.randn(2, 100)).shape == (2, 3, 28, 28)
    with pytest.raises(UserError, match="28x28"):
        build_models(ModelConfig(name="tf-dcgan"), DataConfig(image_size=64))
    with pytest.raises(UserError, match="unknown model"):
        build_models(ModelConfig(name="nope"), DataConfig())
