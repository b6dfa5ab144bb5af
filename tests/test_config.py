import json

import pytest

from ganforge.config import RunConfig, validate
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


def test_bad_files(tmp_path):
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(UserError, match="not valid JSON"):
        RunConfig.load(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text(json.dumps([1]))
    with pytest.raises(UserError, match="must hold a JSON object"):
        RunConfig.load(tmp_path / "list.json")
    with pytest.raises(UserError, match="does not exist"):
        RunConfig.load(tmp_path / "missing.json")
