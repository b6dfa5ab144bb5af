import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ganforge.config import RunConfig, TrainConfig, validate
from ganforge.errors import UserError
from ganforge.presets import get_preset


def test_round_trip_through_json(tmp_path):
    cfg = get_preset("tf-dcgan-mnist")
    cfg.train.minutes = 2.5
    cfg.save(tmp_path / "c.json")
    assert RunConfig.load(tmp_path / "c.json") == cfg


def test_unknown_key_suggests_the_right_one():
    with pytest.raises(UserError, match="unknown key 'batchsize' in config.train; did you mean 'batch_size'"):
        RunConfig.from_dict({"train": {"batchsize": 3}})


def test_wrong_types_and_values():
    with pytest.raises(UserError, match=r"config.train.epochs must be int, got 'ten'"):
        RunConfig.from_dict({"train": {"epochs": "ten"}})
    with pytest.raises(UserError, match="must be int, got True"):
        RunConfig.from_dict({"train": {"batch_size": True}})
    assert RunConfig.from_dict({"train": {"minutes": 3}}).train.minutes == 3.0
    cfg = get_preset("tf-dcgan-mnist")
    cfg.train.batch_size = -1
    with pytest.raises(UserError, match="train.batch_size must be positive"):
        validate(cfg)
    cfg = get_preset("fastgan")
    cfg.train.ema_norm_samples = 1
    with pytest.raises(UserError, match="train.ema_norm_samples must be at least 2, got 1"):
        validate(cfg)


def test_bad_files(tmp_path):
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(UserError, match="not valid JSON"):
        RunConfig.load(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text(json.dumps([1]))
    with pytest.raises(UserError, match="must hold a JSON object"):
        RunConfig.load(tmp_path / "list.json")
    with pytest.raises(UserError, match="does not exist"):
        RunConfig.load(tmp_path / "missing.json")


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _paths(tree, prefix=()):
    for key, value in tree.items():
        yield (*prefix, key)
        if isinstance(value, dict):
            yield from _paths(value, (*prefix, key))


_KNOWN = list(_paths(get_preset("tf-dcgan-mnist").to_dict()))


@settings(max_examples=300, deadline=None)
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(_KNOWN) | st.lists(st.text(max_size=6), min_size=1, max_size=3), _JSON),
        max_size=4,
    )
)
def test_fuzzed_configs_are_accepted_or_rejected_with_a_user_error(edits):
    data = get_preset("tf-dcgan-mnist").to_dict()
    for path, value in edits:
        target = data
        for key in path[:-1]:
            if not isinstance(target.get(key), dict):
                target[key] = {}
            target = target[key]
        target[path[-1]] = value
    try:
        cfg = validate(RunConfig.from_dict(data))
    except UserError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    floats = [
        cfg.train.g_optim.lr,
        cfg.train.d_optim.lr,
        cfg.train.real_label_low,
        cfg.train.restart_lr_factor,
    ]
    assert all(math.isfinite(x) for x in floats)  # NaN/inf never get through


def test_the_python_api_is_validated_like_the_cli():
    from torch import nn

    from ganforge import GAN

    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 1))
    with pytest.raises(UserError, match=r"unknown train.scheme 'simultanous'; choose one of: simultaneous"):
        GAN(net, net, latent_dim=4, config=TrainConfig(scheme="simultanous"), device="cpu")
    with pytest.raises(UserError, match="train.batch_size must be positive"):
        GAN(net, net, latent_dim=4, config=TrainConfig(batch_size=0), device="cpu")


def test_literal_and_tuple_fields_are_read_with_clear_messages():
    import dataclasses
    from typing import Literal

    from ganforge.config.reader import build as _build

    @dataclasses.dataclass
    class Fields:
        mode: Literal["a", "b"] = "a"
        sizes: tuple[int, ...] = (1,)

    assert _build(Fields, {"mode": "b", "sizes": [2, 3]}, "x") == Fields("b", (2, 3))
    with pytest.raises(UserError, match=r"x.mode must be one of 'a', 'b', got 'c'"):
        _build(Fields, {"mode": "c"}, "x")
    with pytest.raises(UserError, match=r"x.sizes\[1\] must be int, got 'y'"):
        _build(Fields, {"sizes": [1, "y"]}, "x")


def test_the_loss_names_are_the_registry():
    import typing

    from ganforge.config import LossName
    from ganforge.losses import LOSSES

    assert set(typing.get_args(LossName)) == set(LOSSES)
