"""PacGAN's packed discriminator (--pack): shapes, which images share an output, penalties, refusals."""

from __future__ import annotations

import pytest
import torch

from ganforge.config import DataConfig, ModelConfig, TrainConfig, validate_train
from ganforge.errors import UserError
from ganforge.losses import r1_penalty
from ganforge.models import build_models
from ganforge.models.packed import PackedDiscriminator, pack_outputs
from ganforge.train.trainer import Trainer


def _build(pack: int = 2, channels: int = 1, **model: object):
    torch.manual_seed(0)
    return build_models(
        ModelConfig(name="sn-dcgan", latent_dim=16, width=8, pack=pack, **model),
        DataConfig(channels=channels, image_size=16),
    )


def test_d_is_built_for_pack_times_the_channels_and_g_is_unchanged():
    g, d = _build(pack=3, channels=3)
    assert isinstance(d, PackedDiscriminator) and d.pack == 3
    assert d.base.features[0].in_channels == 9
    assert g(torch.randn(2, 16)).shape == (2, 3, 16, 16)


def test_each_image_gets_the_output_of_its_own_pack():
    _, d = _build()
    d.eval()  # spectral norm's power iteration would move the weights between calls
    x = torch.randn(5, 1, 16, 16)
    out = d(x)
    assert out.shape == (5, 1)
    assert out[0] == out[1] and out[2] == out[3] and out[1] != out[2]
    # The odd image out completes its pack with the first image of the batch.
    torch.testing.assert_close(out[4], d.base(torch.cat([x[4], x[0]])[None])[0])
    changed = x.clone()
    changed[2] += 1
    moved = (d(changed) != out).flatten().tolist()
    assert moved == [False, False, True, True, False]


def test_penalties_differentiate_one_output_per_pack():
    _, d = _build()
    d.eval()
    x = torch.randn(4, 1, 16, 16, requires_grad=True)
    out = d(x)
    penalty = r1_penalty(pack_outputs(out, 2), x)
    expected = []
    for pair in (x[0:2], x[2:4]):
        pair = pair.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(d.base(pair.reshape(1, 2, 16, 16)).sum(), pair)
        expected += [grad[0].pow(2).sum(), grad[1].pow(2).sum()]
    torch.testing.assert_close(penalty, torch.stack(expected).mean())
    # Differentiating every image's row would count each pack twice: four times the penalty.
    torch.testing.assert_close(r1_penalty(out, x), 4 * penalty)


def test_a_packed_run_trains_with_penalties():
    g, d = _build()
    cfg = validate_train(TrainConfig(loss="rpgan", r1_gamma=1.0, r2_gamma=1.0, batch_size=6))
    trainer = Trainer(g, d, cfg, 16, torch.device("cpu"))
    assert trainer.updates.pack == 2
    before = d.base.head.parametrizations.weight.original.clone()
    stats = trainer.step(torch.rand(6, 1, 16, 16) * 2 - 1)
    assert all(torch.isfinite(v) for v in stats.values())
    assert not torch.equal(before, d.base.head.parametrizations.weight.original)


def test_pack_refuses_what_it_cannot_pack():
    with pytest.raises(UserError, match="needs an unconditional run"):
        _build(conditional=True, num_classes=10)
    with pytest.raises(UserError, match="cannot judge packs"):
        build_models(ModelConfig(name="fastgan-projected", pack=2), DataConfig(channels=3, image_size=32))
