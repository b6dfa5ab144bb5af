import json

import pytest
import torch
from torch import nn

from ganforge import GAN, LambdaCallback
from ganforge.checkpoint import list_checkpoints, load_checkpoint
from ganforge.train.callbacks.health import DivergenceGuard, HealthMonitor, TrainingDiverged
from ganforge.train.run import TrainingRun


def _poison_at(step, times):
    """A callback that sets one generator weight to NaN when training reaches ``step`` (``times`` times)."""
    left = [times]

    def poison(gan, stats, n):
        if gan.state.step == step and left[0] > 0:
            left[0] -= 1
            with torch.no_grad():
                next(gan.generator.parameters()).view(-1)[0] = float("nan")

    return LambdaCallback(on_step_end=poison)


def _run_with(run, *extra):
    standard = TrainingRun.callbacks
    run.callbacks = lambda: [*extra, *standard(run)]
    return run


def _records(run_dir):
    return [json.loads(ln) for ln in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_nan_is_recovered_from_the_last_checkpoint_with_a_lower_lr(tiny_cfg, tmp_path):
    tiny_cfg.train.epochs = None
    tiny_cfg.train.steps = 12
    tiny_cfg.train.checkpoint_every_steps = 4
    run = _run_with(TrainingRun(tiny_cfg, tmp_path / "run", show_progress=False), _poison_at(5, 1))
    state = run.train()
    assert state.step == 12
    records = _records(tmp_path / "run")
    restarts = [r for r in records if r.get("event") == "restart"]
    # Poisoned at step 5, seen at the next check (step 6), back to the checkpoint of step 4.
    assert [(r["failed_step"], r["step"]) for r in restarts] == [(6, 4)]
    assert [r["step"] for r in records if "d_loss" in r] == [2, 4, 6, 8, 10, 12]
    assert all(r["d_loss"] == r["d_loss"] for r in records if "d_loss" in r)  # no NaN left in the log
    final = load_checkpoint(list_checkpoints(tmp_path / "run")[-1])
    assert final["trainer"]["opt_g"]["param_groups"][0]["lr"] == pytest.approx(0.5e-4)
    assert final["trainer"]["opt_d"]["param_groups"][0]["lr"] == pytest.approx(0.5e-4)
    assert all(torch.isfinite(v).all() for v in final["trainer"]["G"].values() if v.is_floating_point())


def test_persistent_nan_stops_with_the_failed_steps_and_keeps_good_checkpoints(tiny_cfg, tmp_path):
    tiny_cfg.train.epochs = None
    tiny_cfg.train.steps = 40
    tiny_cfg.train.checkpoint_every_steps = 4
    tiny_cfg.train.max_restarts = 2
    run = _run_with(TrainingRun(tiny_cfg, tmp_path / "run", show_progress=False), _poison_at(7, 99))
    with pytest.raises(TrainingDiverged, match=r"at steps 8, 8, 8, 2 recoveries allowed \(--max-restarts\)"):
        run.train()
    saved = list_checkpoints(tmp_path / "run")
    assert [p.name for p in saved] == ["step_000000004.pt"]  # nothing written from a diverged state
    weights = load_checkpoint(saved[-1])["trainer"]["G"]
    assert all(torch.isfinite(v).all() for v in weights.values() if v.is_floating_point())
    assert [r["restart"] for r in _records(tmp_path / "run") if r.get("event") == "restart"] == [1, 2]
    # The lock was released: the run can be resumed in this very process.
    tiny_cfg.train.steps = 6
    assert TrainingRun(tiny_cfg, tmp_path / "run", resume=True, show_progress=False).train().step == 6


class VariedG(nn.Module):
    """Draws varied images until ``collapsed`` is set, then one image whatever the noise."""

    latent_dim = 64

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.collapsed = False

    def forward(self, z):
        z = torch.zeros_like(z) if self.collapsed else z
        return torch.tanh(self.scale * z).view(-1, 1, 8, 8)


def test_api_guard_restores_the_start_state_without_checkpoints():
    images = torch.randint(0, 256, (32, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    gan = GAN(VariedG(), nn.Sequential(nn.Flatten(), nn.Linear(64, 1)), device="cpu")
    events = []
    guard = DivergenceGuard(every=2, max_restarts=1, report=lambda g, r: events.append(r))
    state = gan.fit(images, steps=6, batch_size=8, callbacks=[_poison_at(3, 1), guard])
    assert state.step == 6 and gan.weights_finite()
    assert [(r["failed_step"], r["step"]) for r in events] == [(4, 0)]


def test_collapse_is_warned_once_and_only_after_variety_was_reached():
    images = torch.randint(0, 256, (64, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    g = VariedG()
    gan = GAN(g, nn.Sequential(nn.Flatten(), nn.Linear(64, 1)), device="cpu")
    events = []
    monitor = HealthMonitor(every=1, diversity_every=1, report=lambda gan, r: events.append(r))
    collapse = LambdaCallback(on_step_end=lambda gan, s, n: setattr(g, "collapsed", gan.state.step >= 3))
    gan.fit(images, steps=6, batch_size=16, callbacks=[collapse, monitor])
    assert [(r["warning"], r["step"]) for r in events] == [("collapse", 3)]
    assert monitor.peak_diversity > 0.4

    # An untrained generator that never had variety is not "collapsing".
    g2 = VariedG()
    g2.collapsed = True
    quiet = HealthMonitor(
        every=1, diversity_every=1, collapse_after=5, report=lambda gan, r: events.append(r)
    )
    GAN(g2, nn.Sequential(nn.Flatten(), nn.Linear(64, 1)), device="cpu").fit(
        images, steps=6, batch_size=16, callbacks=[quiet]
    )
    # ... until step collapse_after: a generator that never gets variety is a collapse too.
    assert [(r["warning"], r["step"]) for r in events[1:]] == [("collapse", 5)]


def test_discriminator_winning_is_warned_once_per_stretch():
    gan = GAN(VariedG(), nn.Sequential(nn.Flatten(), nn.Linear(64, 1)), device="cpu")
    events = []
    monitor = HealthMonitor(every=10, d_win_steps=30, report=lambda g, r: events.append(r))
    winning = {"d_real": torch.tensor(0.999), "d_fake": torch.tensor(0.001)}
    fooled = {"d_real": torch.tensor(0.7), "d_fake": torch.tensor(0.4)}
    for step in range(1, 121):
        gan.state.step = step
        monitor.on_step_end(gan.loop, fooled if 50 < step <= 60 else winning, 8)
    # Won over steps 1-50 (warned at 30), fooled in 51-60, won again from 61 (warned at 90).
    assert [(r["warning"], r["step"]) for r in events] == [("d_wins", 30), ("d_wins", 90)]
    assert "since step 0" in events[0]["message"] and "since step 60" in events[1]["message"]
