"""--augment-p: a fixed probability per operation, or ADA's adaptive strength; and --mirror."""

from __future__ import annotations

import importlib.util
import json

import pytest
import torch

from ganforge.augment import Augment
from ganforge.config import TrainConfig, validate_train
from ganforge.data.images import ImageData
from ganforge.errors import UserError
from ganforge.train.adaptive import INTERVAL, AugmentStrength
from ganforge.train.loop import batch_images


def test_gated_operations_apply_to_about_p_of_the_images():
    aug = Augment("translation", gated=True)
    x = torch.rand(2000, 1, 16, 16)
    u = aug.draw(2000, torch.Generator().manual_seed(0), torch.device("cpu"))
    assert u.shape == (2000, 3)  # two numbers for the shift, one for the coin
    changed = (aug.apply(x, u, torch.tensor(0.3)) != x).flatten(1).any(1).float().mean().item()
    assert changed == pytest.approx(0.3 * (1 - 1 / 25), abs=0.04)  # 1 in 25 shifts is (0, 0)
    assert torch.equal(aug.apply(x, u, torch.tensor(0.0)), x)
    assert torch.equal(aug.apply(x, u, torch.tensor(1.0)), Augment("translation").apply(x, u[:, :2]))


def test_adaptive_p_rises_while_d_is_sure_of_the_reals_and_falls_when_not():
    cfg = TrainConfig(augment="color", augment_p="auto", augment_target=0.6, augment_ramp_images=1000)
    strength = AugmentStrength(cfg, relativistic=False, device=torch.device("cpu"))
    assert strength.p.item() == 0.0
    sure, unsure = torch.full((10, 1), 3.0), torch.tensor([[1.0]] * 6 + [[-1.0]] * 4)  # r_t 1.0 / 0.2
    for _ in range(INTERVAL * 5):
        strength.observe(sure, -sure)
    assert strength.p.item() == pytest.approx(5 * INTERVAL * 10 / 1000)  # 0.2: 200 images of 1000
    for _ in range(INTERVAL * 2):
        strength.observe(unsure, -unsure)
    assert strength.p.item() == pytest.approx(0.2 - 2 * INTERVAL * 10 / 1000)
    for _ in range(INTERVAL * 100):
        strength.observe(unsure, -unsure)
    assert strength.p.item() == 0.0  # clipped at 0


def test_relativistic_signal_compares_each_real_with_its_fake():
    cfg = TrainConfig(augment="color", augment_p="auto", augment_ramp_images=100)
    strength = AugmentStrength(cfg, relativistic=True, device=torch.device("cpu"))
    real = torch.full((4, 1), -5.0)  # negative outputs, yet above their fakes: D is sure
    for _ in range(INTERVAL):
        strength.observe(real, real - 1)
    assert strength.p.item() > 0


def test_strength_state_round_trips():
    cfg = TrainConfig(augment="color", augment_p="auto", augment_ramp_images=100)
    a = AugmentStrength(cfg, False, torch.device("cpu"))
    for _ in range(INTERVAL + 1):
        a.observe(torch.ones(4, 1), torch.zeros(4, 1))
    b = AugmentStrength(cfg, False, torch.device("cpu"))
    b.load_state_dict(a.state_dict())
    for s in (a, b):
        for _ in range(INTERVAL - 1):
            s.observe(torch.ones(4, 1), torch.zeros(4, 1))
    assert a.p.item() == b.p.item() > 0.16


def test_fixed_p_and_the_checks():
    strength = AugmentStrength(TrainConfig(augment="color", augment_p=0.25), False, torch.device("cpu"))
    strength.observe(torch.ones(4, 1), torch.zeros(4, 1))
    assert strength.p.item() == 0.25
    with pytest.raises(UserError, match="augment_p must be a probability"):
        validate_train(TrainConfig(augment="color", augment_p=1.5))
    with pytest.raises(UserError, match="needs augmentation operations"):
        validate_train(TrainConfig(augment_p="auto"))


def test_mirror_indices_past_the_end_are_flipped_images():
    images = torch.arange(2 * 1 * 2 * 3, dtype=torch.uint8).view(2, 1, 2, 3)
    data = ImageData(images, None, "toy")
    batch = batch_images(data, torch.tensor([1, 2, 0, 3]))
    assert torch.equal(batch[0], images[1]) and torch.equal(batch[2], images[0])
    assert torch.equal(batch[1], images[0].flip(-1)) and torch.equal(batch[3], images[1].flip(-1))
    assert torch.equal(data.images, images)  # the data itself is untouched


def test_p_is_logged_charted_in_the_report_and_sent_to_tensorboard(tmp_path):
    from ganforge.cli import main
    from tests.conftest import write_images

    write_images(tmp_path / "imgs", 16, size=32)
    run = tmp_path / "run"
    flags = ["--preset", "fastgan", "--image-size", "32", "--width", "4", "--batch-size", "8", "--steps", "8"]
    flags += ["--augment-p", "auto", "--augment-ramp-images", "64", "--log-every", "4", "--device", "cpu"]
    tensorboard = importlib.util.find_spec("tensorboard") is not None
    assert main(["train", str(tmp_path / "imgs"), *flags, "--quiet", "--out", str(run)]
                + (["--tensorboard"] if tensorboard else [])) == 0  # fmt: skip
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines if "augment_p" in line] == [4, 8]
    assert main(["report", str(run)]) == 0
    assert "Augmentation strength p" in (run / "report.html").read_text()
    if tensorboard:
        from tensorboard.backend.event_processing import event_accumulator

        events = event_accumulator.EventAccumulator(str(run / "tensorboard"))
        events.Reload()
        assert [e.step for e in events.Scalars("train/augment_p")] == [4, 8]
