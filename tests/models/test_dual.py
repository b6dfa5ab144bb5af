"""fastgan-dual: the pixel D and the projected D judging the same images, each with half the loss."""

from __future__ import annotations

import pytest
import torch

from ganforge.config import DataConfig, ModelConfig, TrainConfig
from ganforge.errors import UserError
from ganforge.losses import LOSSES
from ganforge.models import build_models
from ganforge.train.trainer import Trainer

pytest.importorskip("efficientnet_lite_pytorch", reason="the [rgb-metrics] extra is not installed")


def _build(channels: int = 3, size: int = 32, **model: object):
    return build_models(
        ModelConfig(name="fastgan-dual", latent_dim=16, width=8, **model),
        DataConfig(channels=channels, image_size=size),
    )


@pytest.mark.parametrize(("channels", "size"), [(3, 32), (3, 64), (1, 32)])
def test_dual_output_is_the_pixel_logit_repeated_then_the_projected_logits(channels, size):
    torch.manual_seed(0)
    g, d = _build(channels, size)
    d.eval()  # BatchNorm on running statistics: the three calls below must see the same function
    x = g(torch.randn(3, 16))
    assert x.shape == (3, channels, size, size)
    out, pixel, projected = d(x), d.pixel(x), d.projected(x)
    k = projected.shape[1]
    assert out.shape == (3, 2 * k)
    torch.testing.assert_close(out[:, :k], pixel.expand(-1, k))
    torch.testing.assert_close(out[:, k:], projected)


@pytest.mark.parametrize("loss", ["hinge", "nonsaturating", "lsgan"])
def test_each_discriminator_carries_half_of_every_loss(loss):
    torch.manual_seed(1)
    g, d = _build()
    d.eval()
    x = g(torch.randn(4, 16))
    fam, target = LOSSES[loss], torch.ones(1)
    out, pixel, projected = d(x), d.pixel(x), d.projected(x)
    for term in (fam.d_real, fam.d_fake, fam.g):
        halves = 0.5 * term(pixel, target) + 0.5 * term(projected, target)
        torch.testing.assert_close(term(out, target), halves)


def test_training_changes_both_discriminators_but_never_the_feature_network():
    torch.manual_seed(2)
    g, d = _build()
    frozen = {
        k: v.clone()
        for k, v in d.state_dict().items()
        if k.startswith(("projected.features.", "projected.mixing."))
    }
    pixel = [p.clone() for p in d.pixel.parameters()]
    heads = [p.clone() for p in d.projected.heads.parameters()]
    trainer = Trainer(
        g, d, TrainConfig(batch_size=4, loss="hinge", precision="fp32"), 16, torch.device("cpu")
    )
    for _ in range(3):
        trainer.step(torch.rand(4, 3, 32, 32) * 2 - 1)
    after = trainer.D.state_dict()
    assert frozen and all(torch.equal(after[k], v) for k, v in frozen.items())
    assert any(not torch.equal(a, b) for a, b in zip(trainer.D.pixel.parameters(), pixel, strict=True))
    assert any(
        not torch.equal(a, b) for a, b in zip(trainer.D.projected.heads.parameters(), heads, strict=True)
    )
    in_opt = {id(p) for group in trainer.opt_d.param_groups for p in group["params"]}
    assert not any(id(p) in in_opt for p in trainer.D.projected.features.parameters())


@pytest.mark.parametrize(
    ("channels", "model", "message"),
    [
        (4, {}, "1 or 3 channels"),
        (3, {"conditional": True, "num_classes": 10}, "cannot be class-conditional"),
        (3, {"pack": 2}, "cannot judge packs"),
    ],
)
def test_what_the_dual_family_refuses(channels, model, message):
    with pytest.raises(UserError, match=message):
        _build(channels, 32, **model)
