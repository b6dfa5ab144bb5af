"""The EMA generator's BatchNorm statistics: measured for its own weights, deterministically, off-stream."""

from __future__ import annotations

import torch

from ganforge.augment import Augment
from ganforge.checkpoint import needs_norms
from ganforge.config import DataConfig, ModelConfig
from ganforge.models import build_models
from ganforge.presets import get_preset
from ganforge.sampling import batch_norms, recompute_norms
from ganforge.train.draws import Draws
from ganforge.train.trainer import Trainer


def _fastgan_trainer(**train: object) -> Trainer:
    cfg = get_preset("fastgan")
    cfg.data.image_size, cfg.model.width = 32, 4
    cfg.train.device, cfg.train.batch_size = "cpu", 8
    for key, value in train.items():
        setattr(cfg.train, key, value)
    torch.manual_seed(0)
    g, d = build_models(cfg.model, cfg.data)
    return Trainer(g, d, cfg.train, cfg.model.latent_dim, torch.device("cpu"))


def _stats(module: torch.nn.Module) -> list[torch.Tensor]:
    return [t.clone() for m in batch_norms(module) for t in (m.running_mean, m.running_var)]


def test_sampler_statistics_are_those_of_the_ema_weights_own_samples():
    trainer = _fastgan_trainer()
    for _ in range(3):
        trainer.step(torch.rand(8, 3, 32, 32) * 2 - 1)
    live = _stats(trainer.G)
    shadow_before = _stats(trainer.ema.shadow)
    assert all(torch.equal(a, b) for a, b in zip(live, shadow_before, strict=True))  # copied from G
    sampler = trainer.sampler
    measured = _stats(sampler)
    assert not any(torch.allclose(a, b) for a, b in zip(live, measured, strict=True))
    # The same measurement by hand, from a copy of the EMA weights: the statistics match exactly.
    copy, _ = build_models(
        ModelConfig(name="fastgan", latent_dim=128, width=4), DataConfig(channels=3, image_size=32)
    )
    copy.load_state_dict(sampler.state_dict())
    recompute_norms(copy)  # (the trainer's copy is channels-last: equal up to float rounding)
    for a, b in zip(_stats(copy), measured, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert not sampler.training


def test_ema_norm_samples_sets_how_many_samples_are_measured():
    trainer = _fastgan_trainer(ema_norm_samples=48)
    trainer.step(torch.rand(8, 3, 32, 32) * 2 - 1)
    seen: list[int] = []
    hook = trainer.ema.shadow.register_forward_pre_hook(lambda _, args: seen.append(len(args[0])))
    measured = _stats(trainer.sampler)
    hook.remove()
    assert seen == [48]
    copy = trainer.ema.shadow
    recompute_norms(copy, samples=48)  # the same noise (a fixed stream): the same statistics
    assert all(torch.equal(a, b) for a, b in zip(measured, _stats(copy), strict=True))
    recompute_norms(copy)  # the default, 1024, measures other statistics
    assert not any(torch.equal(a, b) for a, b in zip(measured, _stats(copy), strict=True))


def test_measuring_draws_from_no_training_stream_and_is_done_once_per_update():
    trainer = _fastgan_trainer()
    trainer.step(torch.rand(8, 3, 32, 32) * 2 - 1)
    global_rng, noise_rng = torch.get_rng_state(), trainer.noise.get_state()
    first = _stats(trainer.sampler)
    assert torch.equal(global_rng, torch.get_rng_state()) and torch.equal(
        noise_rng, trainer.noise.get_state()
    )
    assert all(torch.equal(a, b) for a, b in zip(first, _stats(trainer.sampler), strict=True))
    assert trainer.ema._norms_current


def test_checkpoints_hold_the_measured_statistics_and_say_so():
    trainer = _fastgan_trainer()
    trainer.step(torch.rand(8, 3, 32, 32) * 2 - 1)
    state = trainer.state_dict()
    assert state["ema_norms"] == "recomputed"
    measured = _stats(trainer.ema.shadow)
    saved = [state["G_ema"][k] for k in state["G_ema"] if k.endswith(("running_mean", "running_var"))]
    assert all(torch.equal(a, b) for a, b in zip(measured, saved, strict=True))
    assert not needs_norms({"trainer": state})
    old = {"trainer": {k: v for k, v in state.items() if k != "ema_norms"}}
    assert needs_norms(old)  # written before ganforge measured them: sample/export measure on load


def test_a_generator_without_batchnorm_is_left_alone():
    g = torch.nn.Linear(4, 4)
    g.latent_dim = 4
    assert recompute_norms(g) is False


def test_a_conditional_generator_is_measured_under_the_class_mix_it_trains_with():
    """BatchNorm statistics depend on the class mix: measured under another mix than training's, they
    shift every class's colours (docs/colour-pilots.md, nineteenth session). Training draws its fakes'
    labels uniformly; the measurement must see every class as often."""
    cfg = get_preset("fastgan")
    cfg.data.image_size, cfg.model.width = 32, 4
    cfg.model.conditional, cfg.model.num_classes = True, 5
    g, _ = build_models(cfg.model, cfg.data)
    seen: list[torch.Tensor] = []
    hook = g.register_forward_pre_hook(lambda _, args: seen.append(args[1]))
    recompute_norms(g, samples=100, batch=32)
    hook.remove()
    measured = torch.bincount(torch.cat(seen), minlength=5)
    assert measured.tolist() == [20] * 5
    draws = Draws(cfg.train, cfg.model.latent_dim, 5, Augment(""), torch.device("cpu"))
    draws.seed(0)
    trained = torch.bincount(draws.labels(20_000), minlength=5) / 20_000
    assert torch.allclose(trained, torch.full((5,), 0.2), atol=0.02)
