import argparse
import shutil

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganforge import GAN, build_models, get_preset
from ganforge.checkpoint import (
    FORMAT,
    list_checkpoints,
    load_checkpoint,
    load_newest_readable,
    save_checkpoint,
)
from ganforge.errors import UserError, WriteFailed
from ganforge.train.run import TrainingRun


def test_round_trip_and_atomic_names(tmp_path):
    save_checkpoint(tmp_path, 7, {"w": torch.ones(3)}, keep=3)
    files = list((tmp_path / "checkpoints").iterdir())
    assert [f.name for f in files] == ["step_000000007.pt"]  # no temporary file left behind
    state = load_checkpoint(files[0])
    assert state["format"] == FORMAT and torch.equal(state["w"], torch.ones(3))


def test_pickled_objects_are_refused(tmp_path):
    # Any class outside the weights-only allowlist stands for code that unpickling would run.
    torch.save({"format": FORMAT, "obj": argparse.Namespace(x=1)}, tmp_path / "evil.pt")
    with pytest.raises(UserError, match="holds arbitrary Python objects, which ganforge never unpickles"):
        load_checkpoint(tmp_path / "evil.pt")


def test_corrupt_and_foreign_files_are_clear_errors(tmp_path):
    save_checkpoint(tmp_path, 1, {"w": torch.ones(1000)}, keep=3)
    path = tmp_path / "checkpoints" / "step_000000001.pt"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(UserError, match="cannot be read"):
        load_checkpoint(path)
    torch.save({"just": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(UserError, match="not a ganforge checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    torch.save({"format": FORMAT, "format_version": 99}, tmp_path / "new.pt")
    with pytest.raises(UserError, match="upgrade ganforge"):
        load_checkpoint(tmp_path / "new.pt")


def test_a_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    save_checkpoint(tmp_path, 1, {"w": torch.ones(1)}, keep=3)
    before = (tmp_path / "checkpoints" / "step_000000001.pt").read_bytes()

    def disk_full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(WriteFailed, match="No space left on device; files written before are intact"):
        save_checkpoint(tmp_path, 1, {"w": torch.zeros(1)}, keep=3)
    assert (tmp_path / "checkpoints" / "step_000000001.pt").read_bytes() == before
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["step_000000001.pt"]


def test_checksum_catches_silent_damage(tmp_path):
    save_checkpoint(tmp_path, 1, {"w": torch.arange(1000.0)}, keep=3)
    path = tmp_path / "checkpoints" / "step_000000001.pt"
    state = torch.load(path, weights_only=True)
    state["w"][500] = -1.0  # a flipped value that the file format itself would not notice
    torch.save(state, path)
    with pytest.raises(UserError, match="does not match its checksum"):
        load_checkpoint(path)


def test_resume_falls_back_to_the_newest_readable_checkpoint(tmp_path):
    for step in (1, 2, 3):
        save_checkpoint(tmp_path, step, {"step": step}, keep=5)
    (tmp_path / "checkpoints" / "step_000000003.pt").write_bytes(b"garbage")
    warnings = []
    assert load_newest_readable(tmp_path, warnings.append)["step"] == 2
    assert len(warnings) == 1 and "step_000000003.pt" in warnings[0]
    (tmp_path / "checkpoints" / "step_000000002.pt").write_bytes(b"")
    (tmp_path / "checkpoints" / "step_000000001.pt").write_bytes(b"x")
    with pytest.raises(UserError, match="no readable checkpoint"):
        load_newest_readable(tmp_path, warnings.append)


def test_a_checkpoint_from_another_architecture_names_the_mismatch(tiny_cfg, tmp_path):
    TrainingRun(tiny_cfg, tmp_path / "dcgan", show_progress=False).train()
    other = get_preset("keras-gan-mlp")
    other.data.limit, other.train.batch_size, other.train.steps, other.train.device = 64, 16, 2, "cpu"
    TrainingRun(other, tmp_path / "mlp", show_progress=False).train()
    foreign = list_checkpoints(tmp_path / "mlp")[-1]
    shutil.copy(foreign, tmp_path / "dcgan" / "checkpoints" / "step_000000099.pt")
    with pytest.raises(UserError, match="its preset is 'keras-gan-mlp', config.json says 'tf-dcgan-mnist'"):
        TrainingRun(tiny_cfg, tmp_path / "dcgan", resume=True, show_progress=False)

    # Through the Python API: the first mismatching weight, by name and shape.
    gan = GAN(*build_models(tiny_cfg.model, tiny_cfg.data), config=tiny_cfg.train, latent_dim=100)
    with pytest.raises(UserError, match=r"checkpoint's generator does not fit this model .*: missing \["):
        gan.load_state_dict(load_checkpoint(foreign))
    tiny_cfg.model.latent_dim = 64
    small = GAN(*build_models(tiny_cfg.model, tiny_cfg.data), config=tiny_cfg.train, latent_dim=64)
    with pytest.raises(UserError, match=r"fc.weight is \(12544, 100\) in the checkpoint, \(12544, 64\) here"):
        small.load_state_dict(gan.state_dict())


_SAMPLE = None


def _valid_checkpoint_bytes(tmp_path_factory):
    global _SAMPLE
    if _SAMPLE is None:
        folder = tmp_path_factory.mktemp("valid")
        _SAMPLE = save_checkpoint(
            folder, 1, {"w": torch.arange(64.0), "config": {"a": 1}}, keep=1
        ).read_bytes()
    return _SAMPLE


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    noise=st.binary(max_size=300),
    cut=st.floats(0, 1),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4),
    use_noise=st.booleans(),
)
def test_fuzzed_checkpoint_files_give_a_user_error_or_load(tmp_path_factory, noise, cut, flips, use_noise):
    data = bytearray(noise if use_noise else _valid_checkpoint_bytes(tmp_path_factory))
    for where, value in flips:
        if data:
            data[int(where * (len(data) - 1))] = value
    data = data[: int(cut * len(data))] if not use_noise else data
    path = tmp_path_factory.mktemp("fuzz") / "c.pt"
    path.write_bytes(bytes(data))
    try:
        state = load_checkpoint(path)
    except UserError as exc:
        assert "\n" not in str(exc)
    else:
        assert state["w"].shape == (64,)  # it loaded: then its checksum matched


def test_python_and_numpy_random_states_are_saved_and_restored(tmp_path):
    import random

    import numpy as np

    from ganforge.checkpoint import load_checkpoint, rng_state, set_rng_state, write_checkpoint

    random.seed(5)
    np.random.seed(5)
    write_checkpoint(tmp_path / "c.pt", {"rng": rng_state()})
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(99)
    np.random.seed(99)
    torch.manual_seed(99)
    set_rng_state(load_checkpoint(tmp_path / "c.pt")["rng"])  # weights_only loading reads them back
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_the_schema_is_made_and_read_in_one_place():
    from ganforge.checkpoint import checkpoint_step, generator_weights, make_checkpoint

    training = {
        "state": {"step": 7},
        "trainer": {"G": {"w": 1}, "G_ema": {"w": 2}},
        "fixed_noise": 0,
        "rng": {},
    }
    made = make_checkpoint(training, {"preset": "x"}, quality={"FD": 1.0})
    assert made["config"] == {"preset": "x"} and made["quality"] == {"FD": 1.0}
    assert checkpoint_step(made) == 7 and generator_weights(made) == {
        "w": 2
    }  # the EMA copy when there is one
    with pytest.raises(ValueError, match="cannot be resumed"):
        make_checkpoint({"state": {}}, {})
