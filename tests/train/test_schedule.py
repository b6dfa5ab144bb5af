"""Cosine schedules over the run's budget, and runs that use them resuming exactly."""

from __future__ import annotations

import math

import pytest
import torch

from ganforge.checkpoint import list_checkpoints, load_checkpoint
from ganforge.config import ScheduleConfig
from ganforge.presets import get_preset
from ganforge.train.callbacks import LambdaCallback
from ganforge.train.loop import Budget
from ganforge.train.run import TrainingRun
from ganforge.train.schedule import Schedule, cosine_ramp, decay_for, half_life
from tests.conftest import write_images


def test_cosine_settings_run_from_start_to_end_values():
    schedule = Schedule(
        ScheduleConfig(kind="cosine", final_lr=0.25, final_gamma=0.1, start_beta2=0.9), (0.99, 0.999)
    )
    start, middle, end = schedule.at(0.0), schedule.at(0.5), schedule.at(1.0)
    assert (start.lr, start.gamma, start.beta2) == (1.0, 1.0, (0.9, 0.9))
    assert middle.lr == pytest.approx(0.625) and middle.beta2 == pytest.approx((0.945, 0.9495))
    assert (end.lr, end.gamma) == (pytest.approx(0.25), pytest.approx(0.1))
    assert end.beta2 == pytest.approx((0.99, 0.999)) and end.ema_half_life == 1.0
    assert cosine_ramp(-1) == 0 and cosine_ramp(2) == 1
    assert Schedule(ScheduleConfig(), (0.99, 0.99)).at(0.7).lr == 1.0  # constant
    assert decay_for(half_life(0.999)) == pytest.approx(0.999)
    assert half_life(0.5) == 1


def test_progress_is_the_furthest_limit_of_the_budget():
    budget = Budget(epochs=None, steps=100, minutes=None, started=0, elapsed_before=0)
    assert budget.progress(25, 100) == 0.25 and budget.progress(150, 100) == 1.0
    # A minutes budget counts the training clock against what came before plus this fit's minutes.
    timed = Budget(epochs=None, steps=None, minutes=1.0, started=0, elapsed_before=60.0)
    timed.elapsed = lambda: 90.0  # 60 s before this fit, 30 s into it
    assert timed.progress(10, None) == pytest.approx(0.75)


def _r3gan_cfg(folder):
    cfg = get_preset("r3gan")
    cfg.data.source, cfg.data.image_size, cfg.model.width = str(folder), 16, 2
    cfg.data.limit, cfg.train.batch_size, cfg.train.device = 24, 8, "cpu"
    cfg.train.augment_p, cfg.train.augment_ramp_images, cfg.train.mirror = "auto", 64, True
    cfg.train.r1_gamma = "auto"
    cfg.train.log_every, cfg.train.checkpoint_every_steps = 2, 5
    cfg.train.epochs = cfg.train.minutes = None
    cfg.train.steps = 12
    return cfg


class _StoppedAt(TrainingRun):
    """A run interrupted after ``stop`` steps, as Ctrl-C would: same budget, so the same schedule."""

    def __init__(self, *args, stop: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stop = stop

    def callbacks(self):
        def halt(ctx, _stats, _n):
            if ctx.state.step == self.stop:
                ctx.stop_training = True

        return [LambdaCallback(on_step_end=halt), *super().callbacks()]


def test_r3gan_with_schedules_mirror_and_adaptive_p_resumes_exactly(tmp_path):
    write_images(tmp_path / "imgs", 24, size=16)
    cfg = _r3gan_cfg(tmp_path / "imgs")
    TrainingRun(cfg, tmp_path / "straight", show_progress=False).train()
    _StoppedAt(cfg, tmp_path / "split", show_progress=False, stop=7).train()
    assert load_checkpoint(list_checkpoints(tmp_path / "split")[-1])["state"]["step"] == 7
    TrainingRun(cfg, tmp_path / "split", resume=True, show_progress=False).train()
    a = load_checkpoint(list_checkpoints(tmp_path / "straight")[-1])["trainer"]
    b = load_checkpoint(list_checkpoints(tmp_path / "split")[-1])["trainer"]
    for net in ("G", "D", "G_ema"):
        for key, value in a[net].items():
            assert torch.equal(value, b[net][key]), f"{net}.{key} differs after resume"
    strength_a, strength_b = a["augment_strength"], b["augment_strength"]
    assert strength_a["updates"] == strength_b["updates"] == 12  # ADA's sums went on where they were
    for key in ("p", "signs", "count"):
        assert torch.equal(strength_a[key], strength_b[key])
    last = cosine_ramp(11 / 12)  # the last of 12 steps trains at progress 11/12
    assert a["opt_d"]["param_groups"][0]["lr"] == pytest.approx(2e-4 * (1 - 0.75 * last))
    assert a["opt_d"]["param_groups"][0]["betas"][1] == pytest.approx(0.9 + 0.09 * last)
    assert math.isclose(a["lr_base"][0][0], 2e-4)
    # Mirror: 24 images give 48 per epoch, 6 batches of 8: step 12 ends epoch 2.
    assert load_checkpoint(list_checkpoints(tmp_path / "split")[-1])["state"]["epoch"] == 2
