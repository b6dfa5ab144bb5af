"""The fast families: sn-dcgan (small images, projection-conditional), fastgan and the projected D."""

from __future__ import annotations

import pytest
import torch

from ganforge.config import DataConfig, ModelConfig, TrainConfig
from ganforge.errors import UserError
from ganforge.models import build_models
from ganforge.models.lightgan import GLU, channel_plan
from ganforge.train.trainer import Trainer

pytest.importorskip("efficientnet_lite_pytorch", reason="the [rgb-metrics] extra is not installed")


def _build(name: str, channels: int, size: int, **model: object):
    return build_models(
        ModelConfig(name=name, latent_dim=16, width=8, **model),
        DataConfig(channels=channels, image_size=size),
    )


@pytest.mark.parametrize("size", [16, 28, 32, 64])
def test_sn_dcgan_shapes(size):
    g, d = _build("sn-dcgan", 1, size)
    x = g(torch.randn(3, 16))
    assert x.shape == (3, 1, size, size) and x.abs().max() <= 1
    assert d(x).shape == (3, 1)


def test_sn_dcgan_discriminator_is_spectrally_normalised_without_batchnorm():
    _, d = _build("sn-dcgan", 1, 28)
    convs = [m for m in d.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert convs and all(hasattr(m, "parametrizations") for m in convs)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())


def test_sn_dcgan_conditional_is_a_projection_discriminator():
    g, d = _build("sn-dcgan", 1, 28, conditional=True, num_classes=10)
    d.eval()  # spectral norm's power iteration would move the weights between the calls below
    z, x = torch.randn(4, 16), torch.randn(4, 1, 28, 28)
    labels = torch.tensor([0, 1, 2, 3])
    assert g(z, labels).shape == (4, 1, 28, 28)
    # The label enters D only through the projection term <embed(y), h>: changing it changes the output
    # by exactly the difference of the projections.
    h = d.features(x).sum(dim=(2, 3))
    other = torch.tensor([3, 2, 1, 0])
    diff = d(x, labels) - d(x, other)
    expected = ((d.embed(labels) - d.embed(other)) * h).sum(dim=1, keepdim=True)
    assert torch.allclose(diff, expected, atol=1e-5)
    assert not torch.allclose(diff, torch.zeros_like(diff))


def test_sn_dcgan_refuses_unsupported_sizes():
    with pytest.raises(UserError, match="multiples of 4 from 16 to 64"):
        _build("sn-dcgan", 1, 30)


@pytest.mark.parametrize("size", [32, 64, 128])
def test_fastgan_shapes(size):
    g, d = _build("fastgan", 3, size)
    x = g(torch.randn(2, 16))
    assert x.shape == (2, 3, size, size)
    assert d(x).shape == (2, 1)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_glu_on_a_channels_last_map_gates_like_the_plain_layout(dtype):
    x = torch.randn(2, 8, 5, 5, dtype=dtype)
    a, b = x.chunk(2, dim=1)
    expected = a * torch.sigmoid(b)
    x_cl = x.contiguous(memory_format=torch.channels_last).requires_grad_()
    out = GLU()(x_cl)
    assert out.is_contiguous(memory_format=torch.channels_last)
    exact = dtype == torch.bfloat16  # fp32's vector sigmoid may round differently in the last bit
    torch.testing.assert_close(out, expected, rtol=0 if exact else 1e-6, atol=0 if exact else 1e-7)
    out.sum().backward()
    gate = torch.sigmoid(b)
    torch.testing.assert_close(x_cl.grad[:, :4], gate, rtol=0 if exact else 1e-6, atol=0 if exact else 1e-7)


def test_fastgan_generator_has_skip_layer_excitation_from_the_coarse_maps():
    g, _ = _build("fastgan", 3, 64)
    assert set(g.sle) == {"32", "64"}  # gated by the 4x4 and 8x8 maps
    assert channel_plan(64, 8) == {4: 64, 8: 64, 16: 32, 32: 16, 64: 8}


def test_projected_discriminator_outputs_logits_of_every_head():
    _, d = _build("fastgan-projected", 3, 64)
    out = d(torch.rand(2, 3, 64, 64) * 2 - 1)
    assert out.shape[0] == 2 and out.shape[1] == 4  # one 1x1 logit map per feature scale at 64 px


def test_projected_feature_network_never_changes_and_gradients_reach_g():
    torch.manual_seed(0)
    g, d = _build("fastgan-projected", 3, 32)
    frozen = {k: v.clone() for k, v in d.state_dict().items() if k.startswith(("features.", "mixing."))}
    heads = {k: v.clone() for k, v in d.state_dict().items() if k.startswith("heads.") and "weight" in k}
    cfg = TrainConfig(batch_size=4, loss="hinge", augment="color,translation,cutout", precision="fp32")
    trainer = Trainer(g, d, cfg, 16, torch.device("cpu"))
    g_before = [p.clone() for p in trainer.G.parameters()]
    for _ in range(3):
        trainer.step(torch.rand(4, 3, 32, 32) * 2 - 1)
    after = trainer.D.state_dict()
    # Weights, BatchNorm running statistics and the step counters of the feature network: all unchanged.
    assert frozen and all(torch.equal(after[k], v) for k, v in frozen.items())
    assert trainer.D.features.training is False
    assert any(not torch.equal(after[k], v) for k, v in heads.items())  # the heads do learn
    assert any(not torch.equal(a, b) for a, b in zip(trainer.G.parameters(), g_before, strict=True))
    # The frozen part is not in D's optimiser at all.
    in_opt = {id(p) for group in trainer.opt_d.param_groups for p in group["params"]}
    assert not any(id(p) in in_opt for p in trainer.D.features.parameters())


def test_projected_gradient_flows_through_the_frozen_features_to_the_image():
    _, d = _build("fastgan-projected", 3, 32)
    x = (torch.rand(2, 3, 32, 32) * 2 - 1).requires_grad_(True)
    d(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
