"""``d_joint_batch``: D judges reals and fakes as one batch, so its BatchNorm normalises them alike."""

import copy

import pytest
import torch
from torch import nn

from ganforge.config import RunConfig, TrainConfig, validate, validate_train
from ganforge.errors import UserError
from ganforge.models.tf_dcgan import TFDCGANDiscriminator, TFDCGANGenerator
from ganforge.train.trainer import Trainer


def _pair(**train) -> tuple[Trainer, Trainer]:
    """Two trainers from the same weights and seed, two passes against one batch, in fp32 (under bf16
    autocast a batch of 16 and two of 8 round differently by far more than the split could hide)."""
    torch.manual_seed(0)
    g, d = TFDCGANGenerator(), TFDCGANDiscriminator(dropout=0.0)
    made = []
    for joint in (False, True):
        cfg = validate_train(TrainConfig(**train, d_joint_batch=joint, precision="fp32"))
        made.append(Trainer(copy.deepcopy(g), copy.deepcopy(d), cfg, 100, torch.device("cpu")))
    return made[0], made[1]


@pytest.mark.parametrize(
    "train",
    [
        {"loss": "hinge"},
        {"loss": "hinge", "scheme": "simultaneous"},
        {"loss": "rpgan", "r1_gamma": 1.0, "r2_gamma": 1.0},
        {"loss": "nonsaturating", "d_steps": 2},
        {"loss": "hinge", "augment": "color,translation"},
    ],
)
def test_one_batch_changes_nothing_for_a_discriminator_without_batch_statistics(train):
    # TF-DCGAN's D has no BatchNorm: judging both as one batch must give the same losses and D outputs
    # as two passes, which checks that outputs, augmentations and penalties stay with their images.
    separate, joint = _pair(**train)
    real = torch.rand(8, 1, 28, 28) * 2 - 1
    # With augmentation the joint G step draws the reals' augmentation too, so the streams part after
    # the first step; without it they stay together.
    for _ in range(1 if "augment" in train else 3):
        a, b = separate.step(real), joint.step(real)
        assert a.keys() == b.keys()
        for key in a:
            torch.testing.assert_close(a[key], b[key], atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("scheme", ["alternating", "simultaneous"])
def test_one_batch_gives_the_same_gradients_without_batch_statistics(scheme):
    separate, joint = _pair(loss="hinge", scheme=scheme)
    for trainer in (separate, joint):
        trainer.opt_g.step = trainer.opt_d.step = lambda: None  # keep the gradients, skip the update
        trainer.step(torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1)
    for net in ("G", "D"):
        for p, q in zip(getattr(separate, net).parameters(), getattr(joint, net).parameters(), strict=True):
            # Convolutions of 8 and of 16 images round differently, hence a tolerance.
            torch.testing.assert_close(p.grad, q.grad, atol=1e-6, rtol=1e-3)


class _BatchNormD(nn.Module):
    """conv 3x3 (no padding) -> BatchNorm -> mean: blind to a constant shift of a batch of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x))).flatten(1).mean(1, keepdim=True)


class _NoiseG(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 3 * 8 * 8)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.fc(z).view(-1, 3, 8, 8)


@pytest.mark.parametrize("joint", [False, True])
def test_one_batch_lets_a_batchnorm_discriminator_see_a_shift_of_the_fakes(joint):
    cfg = validate_train(TrainConfig(loss="hinge", d_joint_batch=joint))
    trainer = Trainer(_NoiseG(), _BatchNormD(), cfg, 8, torch.device("cpu"))
    real = torch.rand(6, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    darker = real - 0.5  # the same images, every pixel shifted
    real_out, fake_out = trainer.updates.d_both(real, None, darker, None, None, None)
    # Two passes normalise each batch by its own statistics: the shift is invisible. One batch shows it.
    assert torch.allclose(real_out, fake_out, atol=1e-5) != joint


def test_one_batch_and_separate_batches_contradict():
    with pytest.raises(UserError, match="contradict"):
        validate_train(TrainConfig(d_separate_batches=True, d_joint_batch=True))


def test_one_batch_refuses_a_packed_discriminator():
    # A pack of consecutive images could straddle the reals and the fakes.
    cfg = RunConfig(train=TrainConfig(d_joint_batch=True, steps=1))
    cfg.model.pack = 2
    with pytest.raises(UserError, match="packed D"):
        validate(cfg)
    cfg.model.pack = 1
    validate(cfg)
