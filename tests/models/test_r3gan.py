"""R3GAN: the networks (sizes, Fixup start, conditioning), the loss and its penalties, and training."""

from __future__ import annotations

import math

import pytest
import torch

from ganforge.config import DataConfig, ModelConfig, TrainConfig
from ganforge.errors import UserError
from ganforge.losses import LOSSES, penalty_weight, r1_penalty, rpgan_d, rpgan_g
from ganforge.models import build_models
from ganforge.models.r3gan import ResidualBlock, channel_plan
from ganforge.presets import get_preset
from ganforge.train.trainer import Trainer


def _build(channels: int, size: int, **model: object):
    return build_models(
        ModelConfig(name="r3gan", latent_dim=16, width=4, **model),
        DataConfig(channels=channels, image_size=size),
    )


@pytest.mark.parametrize(("channels", "size"), [(1, 16), (3, 28), (1, 32), (3, 64), (3, 128), (1, 256)])
def test_shapes_at_every_size_and_channel_count(channels, size):
    g, d = _build(channels, size)
    x = g(torch.randn(2, 16))
    assert x.shape == (2, channels, size, size)
    assert d(x).shape == (2, 1)


def test_channel_plan_halves_as_maps_double():
    assert channel_plan(64, 32) == {4: 256, 8: 256, 16: 128, 32: 64, 64: 32}
    assert channel_plan(28, 32) == {7: 256, 14: 256, 28: 128}
    assert min(channel_plan(256, 2).values()) == 16  # a group of 16 channels at the least


def test_refuses_sizes_it_cannot_draw():
    for size in (30, 12, 512, 36 * 16):
        with pytest.raises(UserError, match="s \\* 2\\^k from 16 to 256"):
            _build(3, size)


def test_blocks_start_as_the_identity_and_have_no_normalisation():
    g, d = _build(3, 32)
    block = next(m for m in g.modules() if isinstance(m, ResidualBlock))
    x = torch.randn(2, block.expand.in_channels, 8, 8)
    assert torch.equal(block(x), x)  # Fixup: the last conv of every branch starts at zero
    norms = (torch.nn.BatchNorm2d, torch.nn.GroupNorm, torch.nn.LayerNorm, torch.nn.InstanceNorm2d)
    assert not any(isinstance(m, norms) for net in (g, d) for m in net.modules())
    assert any(m.groups > 1 for m in g.modules() if isinstance(m, torch.nn.Conv2d))  # grouped 3x3 convs


def test_fixup_scales_inner_convs_by_blocks_to_the_minus_quarter():
    torch.manual_seed(0)
    wide = build_models(
        ModelConfig(name="r3gan", latent_dim=16, width=32), DataConfig(channels=3, image_size=256)
    )
    g = wide[0]
    blocks = [m for m in g.modules() if isinstance(m, ResidualBlock)]
    he = math.sqrt(2 / (1 + 0.2**2))
    expand = blocks[-1].expand.weight  # fan-in = the stage's channels
    measured = expand.std().item() * math.sqrt(expand.shape[1])
    assert measured == pytest.approx(he * len(blocks) ** -0.25, rel=0.1)


def test_conditional_g_embeds_the_class_and_d_projects_it():
    g, d = _build(3, 32, conditional=True, num_classes=5)
    z = torch.randn(4, 16)
    labels = torch.tensor([0, 1, 2, 3])
    assert g(z, labels).shape == (4, 3, 32, 32)
    assert not torch.allclose(g(z, labels), g(z, torch.tensor([4, 4, 4, 4])))
    # Class weights blend classes: halfway between two one-hots is halfway between their embeddings.
    half = torch.full((4, 5), 0.0)
    half[:, 0] = half[:, 1] = 0.5
    assert g(z, half).shape == (4, 3, 32, 32)
    x = torch.randn(4, 3, 32, 32)
    assert not torch.allclose(d(x, labels), d(x, torch.tensor([4, 4, 4, 4])))


def test_rpgan_losses_are_softplus_of_the_pairs():
    real, fake = torch.tensor([[2.0], [0.0]]), torch.tensor([[0.0], [1.0]])
    assert rpgan_d(real, fake).item() == pytest.approx((math.log1p(math.exp(-2)) + math.log1p(math.e)) / 2)
    assert rpgan_g(real, fake).item() == pytest.approx(
        (math.log1p(math.exp(2)) + math.log1p(math.exp(-1))) / 2
    )
    # Shifting every output by a constant changes nothing: only the differences within pairs count.
    assert rpgan_d(real + 5, fake + 5).item() == pytest.approx(rpgan_d(real, fake).item())
    assert LOSSES["rpgan"].relativistic and not LOSSES["hinge"].relativistic


def test_penalty_gradient_matches_finite_differences():
    """d/dw of the zero-centred penalty E||grad_x D(x)||^2 (what R1 and R2 add to D's loss) is right."""
    torch.manual_seed(0)
    _, d = _build(1, 16)
    d = d.double()
    x = torch.randn(2, 1, 16, 16, dtype=torch.float64)
    weight = d.stages[0][0].mix.weight  # a grouped conv deep inside a residual branch
    torch.nn.init.normal_(d.stages[0][0].project.weight, std=0.1)  # not the Fixup zero: a real gradient

    def penalty() -> torch.Tensor:
        inputs = x.clone().requires_grad_(True)
        return r1_penalty(d(inputs), inputs)

    (grad,) = torch.autograd.grad(penalty(), weight)
    eps = 1e-6
    for index in [(0, 0, 1, 1), (3, 5, 0, 2), (7, 1, 2, 0)]:
        weight.data[index] += eps
        up = penalty().item()
        weight.data[index] -= 2 * eps
        down = penalty().item()
        weight.data[index] += eps
        assert grad[index].item() == pytest.approx((up - down) / (2 * eps), rel=1e-4, abs=1e-9)


def test_auto_gamma_follows_the_ada_heuristic():
    assert penalty_weight("auto", 64, 16) == pytest.approx(0.0512)
    assert penalty_weight(0.5, 64, 16) == 0.5


def test_r2_penalises_the_fakes_and_changes_the_update():
    cfg = get_preset("r3gan").train
    cfg.device, cfg.batch_size = "cpu", 4
    assert cfg.r1_every > 1  # lazy, yet the very first D update carries the penalties
    real = torch.rand(4, 3, 16, 16) * 2 - 1
    outcomes = []
    for r1, r2 in ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0)):
        torch.manual_seed(0)
        g, d = _build(3, 16)
        cfg.r1_gamma, cfg.r2_gamma = r1, r2
        trainer = Trainer(g, d, cfg, 16, torch.device("cpu"))
        trainer.d_step(real)
        outcomes.append(torch.cat([p.detach().flatten() for p in trainer.D.parameters()]))
    assert not torch.allclose(outcomes[0], outcomes[1]) and not torch.allclose(outcomes[0], outcomes[2])
    assert not torch.allclose(outcomes[1], outcomes[2])


def test_lazy_penalties_fall_on_the_first_update_and_every_kth_after():
    cfg = get_preset("r3gan").train
    cfg.device, cfg.batch_size, cfg.r1_every = "cpu", 4, 3
    g, d = _build(3, 16)
    trainer = Trainer(g, d, cfg, 16, torch.device("cpu"))
    names = []
    update = trainer._update
    trainer._update = lambda name, fn, **inputs: names.append(name) or update(name, fn, **inputs)
    real = torch.rand(4, 3, 16, 16) * 2 - 1
    for _ in range(7):
        trainer.step(real)
    assert [n for n in names if n.startswith("d")] == ["d_r1", "d", "d", "d_r1", "d", "d", "d_r1"]


@pytest.mark.parametrize(
    ("channels", "size", "steps"),
    [(3, 16, 200), (3, 28, 200), (1, 32, 120), (3, 64, 40), (3, 128, 20), (1, 256, 8)],
)
def test_losses_stay_finite_with_the_recipe(channels, size, steps):
    """The preset's loss, penalties and schedule train without NaN/Inf at each size (tiny widths)."""
    torch.manual_seed(0)
    g, d = _build(channels, size)
    cfg: TrainConfig = get_preset("r3gan").train
    cfg.device, cfg.batch_size, cfg.r1_gamma, cfg.r2_gamma = "cpu", 4, "auto", "auto"
    trainer = Trainer(g, d, cfg, 16, torch.device("cpu"))
    real = torch.rand(4, channels, size, size) * 2 - 1
    for step in range(steps):
        trainer.dials.set_progress(step / steps)
        stats = trainer.step(real)
    assert all(torch.isfinite(v).all() for v in stats.values())
    assert trainer.weights_finite()
