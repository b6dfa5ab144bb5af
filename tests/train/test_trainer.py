import copy
import itertools
import typing

import pytest
import torch

from ganforge.config import LossName, Scheme, TrainConfig, validate_train
from ganforge.errors import UserError
from ganforge.losses import gradient_penalty, r1_penalty
from ganforge.models.tf_dcgan import TFDCGANDiscriminator, TFDCGANGenerator
from ganforge.train.ema import EMA
from ganforge.train.handoff import reuses_fakes
from ganforge.train.optim import KerasAdam
from ganforge.train.trainer import Trainer


def test_a_step_changes_both_networks_and_reports_scalars():
    torch.manual_seed(0)
    trainer = Trainer(TFDCGANGenerator(), TFDCGANDiscriminator(), TrainConfig(), 100, torch.device("cpu"))
    before_g = copy.deepcopy(trainer.G.state_dict())
    before_d = copy.deepcopy(trainer.D.state_dict())
    stats = trainer.step(torch.rand(8, 1, 28, 28) * 2 - 1)
    assert set(stats) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(v.ndim == 0 and torch.isfinite(v) for v in stats.values())
    assert not torch.equal(before_g["fc.weight"], trainer.G.state_dict()["fc.weight"])
    assert not torch.equal(before_g["up3.weight"], trainer.G.state_dict()["up3.weight"])
    assert not torch.equal(before_d["conv1.weight"], trainer.D.state_dict()["conv1.weight"])
    assert not torch.equal(before_d["fc.bias"], trainer.D.state_dict()["fc.bias"])


def test_gradients_match_two_separate_losses():
    # The simultaneous step must give G the gradient of g_loss only and D that of d_loss only.
    torch.manual_seed(1)
    g, d = TFDCGANGenerator(), TFDCGANDiscriminator(dropout=0.0)
    cfg = TrainConfig(scheme="simultaneous")
    trainer = Trainer(copy.deepcopy(g), copy.deepcopy(d), cfg, 100, torch.device("cpu"))
    trainer.opt_g.step = trainer.opt_d.step = lambda: None  # keep the gradients, skip the update
    real = torch.rand(4, 1, 28, 28) * 2 - 1
    state = trainer.noise.get_state()
    trainer.simultaneous_step(real)
    trainer.noise.set_state(state)
    z = trainer.draws.noise(4)
    fake = g(z)
    one, zero = torch.ones(1, 1), torch.zeros(1, 1)
    g_loss = trainer.loss.g(d(fake), one)
    expected_g = torch.autograd.grad(g_loss, list(g.parameters()))
    d_loss = trainer.loss.d_real(d(real), one) + trainer.loss.d_fake(d(fake.detach()), zero)
    expected_d = torch.autograd.grad(d_loss, list(d.parameters()))
    for p, e in zip(trainer.G.parameters(), expected_g, strict=True):
        torch.testing.assert_close(p.grad, e)
    for p, e in zip(trainer.D.parameters(), expected_d, strict=True):
        torch.testing.assert_close(p.grad, e)


def _trainer(**train):
    torch.manual_seed(0)
    cfg = validate_train(TrainConfig(**train))  # as GAN and TrainingRun do before building a Trainer
    return Trainer(TFDCGANGenerator(), TFDCGANDiscriminator(dropout=0.0), cfg, 100, torch.device("cpu"))


@pytest.mark.parametrize("loss", typing.get_args(LossName))
@pytest.mark.parametrize("scheme", typing.get_args(Scheme))
def test_every_loss_and_scheme_updates_both_networks(loss, scheme):
    if scheme == "simultaneous" and loss == "wgan-gp":
        with pytest.raises(UserError, match="need --scheme alternating"):  # refused, not silently ignored
            _trainer(loss=loss, scheme=scheme)
        return
    trainer = _trainer(loss=loss, scheme=scheme)
    g0, d0 = trainer.G.fc.weight.clone(), trainer.D.fc.weight.clone()
    stats = trainer.step(torch.rand(8, 1, 28, 28) * 2 - 1)
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(stats)
    assert all(torch.isfinite(v) for v in stats.values())
    assert not torch.equal(g0, trainer.G.fc.weight) and not torch.equal(d0, trainer.D.fc.weight)


def test_n_discriminator_steps_per_generator_step():
    trainer = _trainer(d_steps=3)
    real = torch.rand(4, 1, 28, 28) * 2 - 1
    g0 = trainer.G.fc.weight.clone()
    assert "g_loss" not in trainer.step(real) and "g_loss" not in trainer.step(real)
    assert torch.equal(g0, trainer.G.fc.weight)
    assert "g_loss" in trainer.step(real) and not torch.equal(g0, trainer.G.fc.weight)


def test_reused_fakes_give_g_the_gradient_of_the_d_updates_fakes_against_the_updated_d():
    torch.manual_seed(1)
    g, d = TFDCGANGenerator(), TFDCGANDiscriminator(dropout=0.0)
    cfg = validate_train(TrainConfig(reuse_fakes=True))
    trainer = Trainer(copy.deepcopy(g), copy.deepcopy(d), cfg, 100, torch.device("cpu"))
    seen: dict = {}
    give = trainer.handoff.give

    def spy(fakes, d_updates):
        seen["z"] = fakes["z"]
        return give(fakes, d_updates)

    trainer.handoff.give = spy
    trainer.opt_g.step = lambda: seen.setdefault("D", copy.deepcopy(trainer.D))  # G keeps its weights
    forwards = []
    trainer.G.register_forward_hook(lambda *_: forwards.append(1))
    trainer.step(torch.rand(4, 1, 28, 28) * 2 - 1)
    assert len(forwards) == 1  # one G forward pass serves both updates
    # G's gradient is that of its loss on the D update's very fakes, judged by D after its update.
    g_loss = trainer.loss.g(seen["D"](g(seen["z"])), torch.ones(1, 1))
    for p, e in zip(trainer.G.parameters(), torch.autograd.grad(g_loss, list(g.parameters())), strict=True):
        torch.testing.assert_close(p.grad, e)


def test_reused_fakes_keep_g_s_graph_only_for_the_d_update_before_g_s():
    trainer = _trainer(reuse_fakes=True, d_steps=2)
    kept = []
    give = trainer.handoff.give

    def spy(fakes, d_updates):
        given = give(fakes, d_updates)
        kept.append("fake" in given)
        return given

    trainer.handoff.give = spy
    for _ in range(4):
        trainer.step(torch.rand(4, 1, 28, 28) * 2 - 1)
    # Kept on steps 2 and 4 only, each handed on to G's update at once.
    assert kept == [False, True, False, True] and trainer.handoff.kept is None


@pytest.mark.parametrize(
    "other", [{"scheme": "simultaneous"}, {"d_half_batch": True}, {"d_separate_batches": True}]
)
def test_reused_fakes_refuse_the_updates_that_make_no_single_fake_batch(other):
    with pytest.raises(UserError, match="reuse_fakes hands the fakes of D's joint update to G's"):
        validate_train(TrainConfig(reuse_fakes=True, **other))


def test_auto_reuses_fakes_wherever_no_cuda_graph_is_captured():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    auto = validate_train(TrainConfig(reuse_fakes="auto"))
    assert reuses_fakes(auto, cpu) and not reuses_fakes(auto, cuda)
    assert reuses_fakes(validate_train(TrainConfig(reuse_fakes="auto", cuda_graphs=False)), cuda)
    assert reuses_fakes(TrainConfig(reuse_fakes=True), cuda) and not reuses_fakes(TrainConfig(), cpu)
    # Where the updates make no single fake batch, auto is off rather than an error.
    for other in ({"scheme": "simultaneous"}, {"d_half_batch": True}, {"d_separate_batches": True}):
        assert not reuses_fakes(validate_train(TrainConfig(reuse_fakes="auto", **other)), cpu)
    trainer = _trainer(reuse_fakes="auto")
    forwards = []
    trainer.G.register_forward_hook(lambda *_: forwards.append(1))
    trainer.step(torch.rand(4, 1, 28, 28) * 2 - 1)
    assert trainer.handoff.on and len(forwards) == 1


def test_separate_batches_make_two_discriminator_updates():
    trainer = _trainer(d_separate_batches=True)
    trainer.step(torch.rand(4, 1, 28, 28) * 2 - 1)
    assert trainer.opt_d.state[trainer.D.fc.weight]["step"] == 2
    assert trainer.opt_g.state[trainer.G.fc.weight]["step"] == 1


def test_noisy_labels_stay_in_their_ranges():
    trainer = _trainer(real_label_low=0.8, real_label_high=1.0, fake_label_low=0.0, fake_label_high=0.2)
    real, fake = trainer.draws.targets(1000, "real"), trainer.draws.targets(1000, "fake")
    assert real.min() >= 0.8 and real.max() <= 1.0 and real.std() > 0.05
    assert fake.min() >= 0.0 and fake.max() <= 0.2
    with pytest.raises(UserError, match="do not apply to the hinge loss"):
        _trainer(loss="hinge", real_label_low=0.9, real_label_high=0.9)


def test_r1_penalty_changes_the_discriminator_update():
    real = torch.rand(4, 1, 28, 28) * 2 - 1
    plain, r1 = _trainer(), _trainer(r1_gamma=10.0)
    plain.d_step(real)
    r1.d_step(real)
    assert not torch.allclose(plain.D.fc.weight, r1.D.fc.weight)
    lazy = _trainer(r1_gamma=10.0, r1_every=2)
    lazy.d_step(real)  # update 1 of 2 carries the penalty (at twice the weight), as StyleGAN2 counts
    assert not torch.allclose(lazy.D.fc.weight, plain.D.fc.weight)
    assert not torch.allclose(lazy.D.fc.weight, r1.D.fc.weight)


def test_r1_and_gradient_penalty_values():
    x = torch.randn(5, 3, requires_grad=True)
    out = (x * 2).sum(dim=1)  # gradient 2 in each of 3 coordinates: squared norm 12
    assert r1_penalty(out, x).item() == pytest.approx(12.0)
    linear = lambda t: t.flatten(1).sum(1) / 3**0.5  # noqa: E731 (unit-norm gradient)
    assert gradient_penalty(linear, torch.randn(4, 3), torch.randn(4, 3)).item() == pytest.approx(
        0.0, abs=1e-10
    )


def test_ema_trails_the_generator_and_is_used_for_sampling():
    trainer = _trainer(ema_decay=0.9)
    w0 = trainer.G.fc.weight.clone()
    trainer.step(torch.rand(4, 1, 28, 28) * 2 - 1)
    w1 = trainer.G.fc.weight.clone()
    # The first update's decay is 1/10 (the ramp), not 0.9: the initial weights keep a tenth.
    torch.testing.assert_close(trainer.ema.shadow.fc.weight, 0.1 * w0 + 0.9 * w1)
    trainer.step(torch.rand(4, 1, 28, 28) * 2 - 1)
    shadow = 2 / 11 * (0.1 * w0 + 0.9 * w1) + 9 / 11 * trainer.G.fc.weight
    torch.testing.assert_close(trainer.ema.shadow.fc.weight, shadow)
    assert trainer.sampler is trainer.ema.shadow
    resumed = _trainer(ema_decay=0.9)
    resumed.load_state_dict(trainer.state_dict())
    assert resumed.ema.updates == 2  # a resumed run continues the ramp where it was


def test_ema_decay_ramps_up_to_the_configured_value():
    model = torch.nn.Linear(2, 2)
    ema, seen = EMA(model, decay=0.999), []
    for _ in range(10000):
        seen.append(ema.current_decay())
        ema.update(model)
    assert seen[0] == pytest.approx(0.1)
    assert seen[990] == pytest.approx(991 / 1000)  # a window of about 100 updates after 1000
    assert all(a <= b for a, b in itertools.pairwise(seen))
    assert seen[-1] == 0.999  # capped: from about 9000 updates on, the configured decay


def test_keras_adam_matches_the_keras_update_rule():
    # Keras: m, v without bias correction; step = lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps).
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-3  # a large eps makes the placement matter
    w = torch.nn.Parameter(torch.tensor([0.5, -2.0, 1e-4]))
    opt = KerasAdam([w], lr=lr, betas=(b1, b2), eps=eps)
    expected, m, v = w.detach().clone(), torch.zeros(3), torch.zeros(3)
    for t in range(1, 4):
        grad = torch.tensor([0.3, -0.01, 1e-5]) * t
        w.grad = grad.clone()
        opt.step()
        m = b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * grad**2
        expected -= lr * (1 - b2**t) ** 0.5 / (1 - b1**t) * m / (v.sqrt() + eps)
        torch.testing.assert_close(w.detach(), expected, rtol=1e-6, atol=1e-9)
    # One step of each from the same start: PyTorch's epsilon placement moves the small-gradient weight less.
    ours, theirs = (torch.nn.Parameter(torch.tensor([1e-4])) for _ in range(2))
    for param, kind in ((ours, KerasAdam), (theirs, torch.optim.Adam)):
        param.grad = torch.tensor([1e-5])
        kind([param], lr=lr, betas=(b1, b2), eps=eps).step()
    assert not torch.allclose(ours.detach(), theirs.detach(), rtol=0, atol=1e-9)


def test_keras_adam_continues_its_epsilon_schedule_after_a_state_reload():
    # The step count behind Keras' epsilon lives on the host; a reloaded optimiser must pick it up from the
    # saved state, not start again at step 1 (which would change every later update).
    grads = [torch.tensor([0.3, -0.01, 1e-5]) * t for t in range(1, 7)]
    eps = 1e-4  # large enough that the schedule moves the small-gradient weight measurably

    def train(reload_after: int | None) -> torch.Tensor:
        w = torch.nn.Parameter(torch.tensor([1.0, -1.0, 1e-4]))
        opt = KerasAdam([w], lr=1e-3, betas=(0.9, 0.999), eps=eps)
        for i, grad in enumerate(grads):
            if i == reload_after:
                state = copy.deepcopy(opt.state_dict())
                opt = KerasAdam([w], lr=1e-3, betas=(0.9, 0.999), eps=eps)
                opt.load_state_dict(state)
            w.grad = grad.clone()
            opt.step()
        return w.detach()

    torch.testing.assert_close(train(3), train(None), rtol=0, atol=0)
