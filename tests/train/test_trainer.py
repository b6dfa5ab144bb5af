import copy

import torch

from ganforge.config import TrainConfig
from ganforge.models.tf_dcgan import TFDCGANDiscriminator, TFDCGANGenerator
from ganforge.train.trainer import Trainer


def test_a_step_changes_both_networks_and_reports_scalars():
    torch.manual_seed(0)
    trainer = Trainer(TFDCGANGenerator(), TFDCGANDiscriminator(), TrainConfig(), 100, torch.device("cpu"))
    before_g = copy.deepcopy(trainer.G.state_dict())
    before_d = copy.deepcopy(trainer.D.state_dict())
    stats = trainer.simultaneous_step(torch.rand(8, 1, 28, 28) * 2 - 1)
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
    trainer = Trainer(copy.deepcopy(g), copy.deepcopy(d), TrainConfig(), 100, torch.device("cpu"))
    trainer.opt_g.step = trainer.opt_d.step = lambda: None  # keep the gradients, skip the update
    real = torch.rand(4, 1, 28, 28) * 2 - 1
    state = trainer.noise.get_state()
    trainer.simultaneous_step(real)
    trainer.noise.set_state(state)
    z = trainer.sample_noise(4)
    fake = g(z)
    g_loss = trainer.loss.g(d(fake))
    expected_g = torch.autograd.grad(g_loss, list(g.parameters()))
    d_loss = trainer.loss.d(d(real), d(fake.detach()))
    expected_d = torch.autograd.grad(d_loss, list(d.parameters()))
    for p, e in zip(trainer.G.parameters(), expected_g, strict=True):
        torch.testing.assert_close(p.grad, e)
    for p, e in zip(trainer.D.parameters(), expected_d, strict=True):
        torch.testing.assert_close(p.grad, e)
