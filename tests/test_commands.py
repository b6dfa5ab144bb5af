"""The command line as the config's one front door: generated flags, booleans, --dry-run, preset help."""

from __future__ import annotations

import json

import pytest
import torch

from ganforge.checkpoint import list_checkpoints, load_checkpoint
from ganforge.cli import main, parse_args
from ganforge.commands.flags import config_flags, overrides, unflagged
from ganforge.config import RunConfig, flatten, resumed, with_overrides
from ganforge.errors import UserError
from ganforge.presets import get_preset

FLAGS = config_flags()


def test_every_setting_has_a_flag_or_says_why_not():
    paths = set(flatten(RunConfig()))
    flagged = {flag.path for flag in FLAGS}
    reasons = unflagged()
    assert paths == flagged | set(reasons), sorted(paths - flagged - set(reasons))
    assert all(reasons.values()), reasons  # each unflagged setting gives its reason
    names = [flag.name for flag in FLAGS]
    assert len(names) == len(set(names)), "two settings share a flag"
    # The flags users already know keep their names.
    known = {
        "--lr-g": "train.g_optim.lr",
        "--beta1-d": "train.d_optim.beta1",
        "--width": "model.width",
        "--image-size": "data.image_size",
        "--model": "model.name",
        "--schedule": "train.schedule.kind",
    }
    by_name = {flag.name: flag.path for flag in FLAGS}
    assert all(by_name[name] == path for name, path in known.items())


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--tensorboard"], True),
        (["--no-tensorboard"], False),
        (["--tensorboard", "false"], False),
        (["--tensorboard", "yes"], True),
        (["--tensorboard=off"], False),
    ],
)
def test_boolean_flags_work_bare_negated_or_with_a_value(argv, expected):
    args = parse_args(["train", "mnist", *argv])
    assert overrides(args, FLAGS)["train.tensorboard"] is expected


def test_a_bare_boolean_does_not_swallow_the_data_argument():
    args = parse_args(["train", "--conditional", "fashion-mnist", "--mirror"])
    assert args.data == "fashion-mnist"
    given = overrides(args, FLAGS)
    assert given["model.conditional"] is True and given["train.mirror"] is True


@pytest.mark.parametrize(
    ("argv", "expected"),
    [(["--reuse-fakes", "auto"], "auto"), (["--reuse-fakes=auto"], "auto"), (["--reuse-fakes"], True)],
)
def test_a_boolean_that_also_takes_auto_reads_it(argv, expected, capsys):
    args = parse_args(["train", *argv, "twemoji"])
    assert args.data == "twemoji" and overrides(args, FLAGS)["train.reuse_fakes"] == expected
    with pytest.raises(SystemExit):
        parse_args(["train", "--reuse-fakes=sometimes"])
    assert "expected true/false/auto, got 'sometimes'" in capsys.readouterr().err


def test_typed_flags_read_numbers_choices_and_auto(capsys):
    given = overrides(
        parse_args(["train", "--r1-gamma", "auto", "--augment-p", "0.3", "--loss", "rpgan"]), FLAGS
    )
    assert given == {"train.r1_gamma": "auto", "train.augment_p": 0.3, "train.loss": "rpgan"}
    with pytest.raises(SystemExit):
        parse_args(["train", "--augment-p", "often"])
    assert "expected float or auto, got 'often'" in capsys.readouterr().err


def test_dry_run_prints_a_config_that_config_accepts_and_that_trains_identically(tmp_path, capsys):
    flags = ["--steps", "3", "--limit", "64", "--batch-size", "16", "--device", "cpu", "--quiet"]
    assert main(["train", "mnist", *flags, "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert "preset sn-dcgan, the default for mnist" in err
    config = tmp_path / "dry.json"
    config.write_text(out)
    assert not any(tmp_path.glob("runs*"))  # nothing trained
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert main(["train", "mnist", *flags, "--out", str(tmp_path / "b")]) == 0
    a, b = (load_checkpoint(list_checkpoints(tmp_path / run)[-1])["trainer"] for run in "ab")
    for net in ("G", "D", "G_ema"):
        assert all(torch.equal(v, b[net][k]) for k, v in a[net].items())


def test_preset_help_shows_that_presets_values_as_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--preset", "tf-dcgan-mnist", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "defaults shown: preset tf-dcgan-mnist" in text
    assert "images per batch (all processes together) (default: 256)" in text
    assert "(default: 0.0001)" in text  # --lr-g
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "defaults shown: preset sn-dcgan (the default for mnist)" in text
    assert "images per batch (all processes together) (default: 32)" in text


def test_overrides_suggest_the_setting_meant_and_reset_the_budget():
    cfg = with_overrides(get_preset("fastgan"), {"train.minutes": 5.0})
    assert (cfg.train.steps, cfg.train.minutes) == (None, 5.0)  # the preset's 20000 steps are replaced
    with pytest.raises(UserError, match="train has no 'batchsize'; did you mean 'batch_size'"):
        with_overrides(cfg, {"train.batchsize": 8})


def test_a_resume_may_change_the_budget_alone_from_the_api_too():
    saved = get_preset("sn-dcgan")
    longer = with_overrides(saved, {"train.steps": 9000})
    assert resumed(saved, longer).train.steps == 9000
    with pytest.raises(UserError, match="not train.batch_size"):
        resumed(saved, with_overrides(saved, {"train.batch_size": 8}))


def test_resume_refuses_other_flags_and_dry_run_shows_the_new_budget(tmp_path, capsys):
    run = tmp_path / "run"
    flags = ["--limit", "64", "--batch-size", "16", "--device", "cpu", "--quiet", "--out", str(run)]
    assert main(["train", "mnist", "--steps", "2", *flags]) == 0
    assert main(["train", "--resume", str(run), "--lr-g", "1e-3"]) == 2
    assert "only the budget" in capsys.readouterr().err
    assert main(["train", "--resume", str(run), "--steps", "7", "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["train"]["steps"] == 7
