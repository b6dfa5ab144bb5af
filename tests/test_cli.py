import argparse
import json
import shlex

import numpy as np
import pytest

from ganforge.cli import build_parser, main, parse_args
from tests.conftest import write_images


def _error(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def _fails(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ganforge: error: ")
    return err


def test_user_mistakes_print_one_line(capsys, tmp_path):
    assert "unknown preset 'nope'" in _fails(capsys, ["train", "--preset", "nope"])
    assert "neither a dataset" in _fails(capsys, ["train", "mnistt"])
    assert "neither a run directory" in _fails(capsys, ["sample", str(tmp_path / "x"), "--out", "a.png"])
    assert "nothing to resume" in _fails(capsys, ["train", "--resume", str(tmp_path)])
    assert "must be positive" in _fails(capsys, ["train", "--epochs", "0"])
    assert "invalid int value" in _error(capsys, ["train", "--epochs", "many"])
    assert "unrecognized arguments" in _error(capsys, ["train", "--epoch", "3"])
    assert "does not exist" in _fails(capsys, ["animate", str(tmp_path / "none")])
    (tmp_path / "afile").write_text("keep me")
    assert "is a file" in _fails(capsys, ["train", "--out", str(tmp_path / "afile"), "--steps", "1"])
    assert (tmp_path / "afile").read_text() == "keep me"  # nothing already there is lost
    assert "cannot create run directory" in _fails(
        capsys, ["train", "--out", str(tmp_path / "afile" / "sub"), "--steps", "1"]
    )
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert "not a readable array" in _fails(
        capsys, ["eval", str(tmp_path / "obj.npy"), "--against", "mnist:test"]
    )
    assert "unknown augmentation 'flip'" in _fails(capsys, ["train", "--augment", "flip", "--steps", "1"])


def test_help_shows_runnable_examples(capsys):
    """Every command's help ends with examples, and each example parses with the real parser."""
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    commands = list(subparsers.choices)  # every command, including any added later
    assert {"train", "sample", "report", "serve"} <= set(commands)
    for command in commands:
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        examples = text.split("example")[-1].splitlines()[1:]
        lines = [
            ln.split("  (")[0].strip() for ln in examples if ln.strip().startswith(f"ganforge {command}")
        ]
        assert lines, f"'ganforge {command} --help' shows no example"
        for line in lines:
            parse_args(shlex.split(line)[1:])  # argparse exits on anything it cannot parse


def test_presets_table(capsys):
    assert main(["presets"]) == 0
    assert "tf-dcgan-mnist" in capsys.readouterr().out


def test_train_on_a_folder_then_resume_with_a_new_budget(capsys, tmp_path):
    write_images(tmp_path / "imgs", 40)
    (tmp_path / "imgs" / "broken.jpg").write_bytes(b"garbage")
    run = tmp_path / "run"
    argv = [
        "train",
        str(tmp_path / "imgs"),
        "--channels",
        "3",
        "--batch-size",
        "8",
        "--steps",
        "3",
        "--out",
        str(run),
        "--quiet",
        "--device",
        "cpu",
        *("--ema-norm-samples", "32"),  # (the default 1024 for every save took most of the test's time)
    ]
    assert main(argv) == 0
    assert json.loads((run / "config.json").read_text())["data"]["channels"] == 3
    assert "broken.jpg" in (run / "skipped_files.txt").read_text()
    capsys.readouterr()
    assert "only the budget" in _fails(capsys, ["train", "--resume", str(run), "--batch-size", "4"])
    assert main(["train", "--resume", str(run), "--steps", "5", "--quiet"]) == 0
    assert "step 5" in capsys.readouterr().out
    assert main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "rgb.npy")]) == 0


def test_conditional_run_samples_a_chosen_label(capsys, tmp_path):
    run = tmp_path / "cond"
    argv = [
        "train",
        "mnist",
        "--preset",
        "keras-gan-mlp",
        "--conditional",
        "true",
        "--limit",
        "64",
        "--batch-size",
        "16",
        "--steps",
        "4",
        "--out",
        str(run),
        "--quiet",
        "--device",
        "cpu",
    ]
    assert main(argv) == 0
    assert json.loads((run / "config.json").read_text())["model"]["num_classes"] == 10
    assert main(["sample", str(run), "--n", "6", "--label", "7", "--out", str(tmp_path / "s.npy")]) == 0
    assert "--label must be in 0..9" in _fails(
        capsys, ["sample", str(run), "--label", "10", "--out", "x.png"]
    )
    plain = tmp_path / "plain"
    main(
        [
            "train",
            "mnist",
            "--limit",
            "32",
            "--batch-size",
            "16",
            "--steps",
            "1",
            "--out",
            str(plain),
            "--quiet",
        ]
    )
    assert "needs a class-conditional run" in _fails(
        capsys, ["sample", str(plain), "--label", "1", "--out", "x.png"]
    )
    folder = tmp_path / "flat"
    write_images(folder, 20)
    assert "needs labelled data" in _fails(
        capsys, ["train", str(folder), "--conditional", "true", "--batch-size", "8", "--quiet"]
    )


def test_nproc_errors_are_one_line(capsys, monkeypatch):
    assert main(["train", "mnist", "--nproc", "0"]) == 2
    assert "--nproc must be at least 1" in capsys.readouterr().err
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["train", "mnist", "--nproc", "2"]) == 2
    assert "under torchrun leave it out" in capsys.readouterr().err


def test_nproc_is_dropped_from_the_command_torchrun_runs():
    from ganforge.commands.train import _without_nproc

    argv = ["train", "mnist", "--nproc", "2", "--steps", "5", "--nproc=3", "--out", "r"]
    assert _without_nproc(argv) == ["train", "mnist", "--steps", "5", "--out", "r"]
