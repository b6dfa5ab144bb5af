import subprocess
import sys

import pytest
import torch
from PIL import Image

from ganforge.checkpoint import list_checkpoints, load_checkpoint
from ganforge.errors import WriteFailed
from ganforge.fileio import read_jsonl
from ganforge.train.run import TrainingRun


def _fail_after(calls, real, exc):
    """Wrap ``real`` so that call number ``calls + 1`` and later raise ``exc``."""
    seen = [0]

    def wrapper(*args, **kwargs):
        seen[0] += 1
        if seen[0] > calls:
            raise exc
        return real(*args, **kwargs)

    return wrapper


@pytest.mark.parametrize(
    "target, exc",
    [
        ("checkpoint", OSError(28, "No space left on device")),
        ("checkpoint", RuntimeError("[enforce fail] PytorchStreamWriter failed writing file data/3")),
        ("sample", OSError(28, "No space left on device")),
    ],
)
def test_full_disk_stops_cleanly_and_keeps_every_earlier_file(tiny_cfg, tmp_path, monkeypatch, target, exc):
    tiny_cfg.train.epochs = 6
    tiny_cfg.train.checkpoint_every = 1
    run_dir = tmp_path / "run"
    if target == "checkpoint":
        monkeypatch.setattr(torch, "save", _fail_after(2, torch.save, exc))
    else:
        monkeypatch.setattr(Image.Image, "save", _fail_after(2, Image.Image.save, exc))
    with pytest.raises(WriteFailed) as caught:
        TrainingRun(tiny_cfg, run_dir, show_progress=False).train()
    message = str(caught.value)
    assert "\n" not in message and f"continue with: ganforge train --resume {run_dir}" in message
    assert "files written before are intact" in message
    monkeypatch.undo()
    saved = list_checkpoints(run_dir)
    assert saved and all(load_checkpoint(p) for p in saved)  # every earlier checkpoint reads
    assert not [p for p in run_dir.rglob("*") if ".tmp" in p.name]  # no half-written file left
    assert all("step" in r for r in read_jsonl(run_dir / "metrics.jsonl"))
    # The run continues where it stopped once there is room again.
    tiny_cfg.train.epochs = 6
    state = TrainingRun(tiny_cfg, run_dir, resume=True, show_progress=False).train()
    assert state.epoch == 6


def test_full_disk_in_the_cli_is_one_line(tmp_path):
    script = (
        "import sys, torch\n"
        "def full(*a, **k): raise OSError(28, 'No space left on device')\n"
        "torch.save = full\n"
        "from ganforge.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    flags = [
        "train",
        "--limit",
        "64",
        "--batch-size",
        "32",
        "--epochs",
        "1",
        "--quiet",
        "--device",
        "cpu",
        "--out",
    ]
    result = subprocess.run(
        [sys.executable, "-c", script, *flags, str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert "No space left on device" in result.stderr and "--resume" in result.stderr
