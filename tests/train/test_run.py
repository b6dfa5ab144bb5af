import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from PIL import Image

from ganforge.checkpoint import list_checkpoints, load_checkpoint
from ganforge.errors import UserError
from ganforge.train.run import TrainingRun
from tests.conftest import posix_only


def _weights(run_dir):
    state = load_checkpoint(list_checkpoints(run_dir)[-1])
    return state["trainer"], state["state"]


def test_run_writes_every_artifact(tiny_cfg, tmp_path):
    run = TrainingRun(tiny_cfg, tmp_path / "run", show_progress=False)
    state = run.train()
    assert (state.epoch, state.step) == (2, 8)
    out = tmp_path / "run"
    assert json.loads((out / "config.json").read_text())["preset"] == "tf-dcgan-mnist"
    lines = [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [2, 4, 6, 8]
    keys = {"step", "epoch", "d_loss", "g_loss", "d_real", "d_fake", "images_per_sec", "wall_time"}
    assert set(lines[0]) == keys
    assert sorted(p.name for p in (out / "samples").iterdir()) == [
        "epoch_0001.png",
        "epoch_0002.png",
        "final.png",
        "final_grid.png",
    ]
    assert Image.open(out / "samples" / "final_grid.png").size == ((8 * 30 + 2) * 2,) * 2
    assert Image.open(out / "losses.png").size[0] > 300
    assert [p.name for p in list_checkpoints(out)] == ["step_000000004.pt", "step_000000008.pt"]


def test_keep_only_the_last_k_checkpoints(tiny_cfg, tmp_path):
    tiny_cfg.train.epochs = 4
    tiny_cfg.train.keep_checkpoints = 2
    TrainingRun(tiny_cfg, tmp_path / "run", show_progress=False).train()
    assert [p.name for p in list_checkpoints(tmp_path / "run")] == ["step_000000012.pt", "step_000000016.pt"]


def test_resume_gives_identical_weights(tiny_cfg, tmp_path):
    tiny_cfg.train.epochs = None
    tiny_cfg.train.steps = 10  # 2.5 epochs: the resume point (6) falls mid-epoch
    TrainingRun(tiny_cfg, tmp_path / "straight", show_progress=False).train()
    tiny_cfg.train.steps = 6
    TrainingRun(tiny_cfg, tmp_path / "split", show_progress=False).train()
    tiny_cfg.train.steps = 10
    TrainingRun(tiny_cfg, tmp_path / "split", resume=True, show_progress=False).train()
    a, state_a = _weights(tmp_path / "straight")
    b, state_b = _weights(tmp_path / "split")
    assert state_a == {**state_b, "elapsed": state_a["elapsed"]}
    for net in ("G", "D"):
        for key, value in a[net].items():
            assert torch.equal(value, b[net][key]), f"{net}.{key} differs after resume"
    assert torch.equal(a["opt_g"]["state"][0]["exp_avg"], b["opt_g"]["state"][0]["exp_avg"])
    steps = [json.loads(ln)["step"] for ln in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6, 8, 10]


def test_refuses_to_overwrite_or_resume_nothing(tiny_cfg, tmp_path):
    tiny_cfg.train.epochs = 1
    TrainingRun(tiny_cfg, tmp_path / "run", show_progress=False).train()
    with pytest.raises(UserError, match="already holds a run; continue it with --resume"):
        TrainingRun(tiny_cfg, tmp_path / "run", show_progress=False)
    with pytest.raises(UserError, match="nothing to resume"):
        TrainingRun(tiny_cfg, tmp_path / "empty", resume=True, show_progress=False)


def test_batch_larger_than_data_is_a_clear_error(tiny_cfg, tmp_path):
    tiny_cfg.train.batch_size = 100
    with pytest.raises(UserError, match="fewer than one batch"):
        TrainingRun(tiny_cfg, tmp_path / "run", show_progress=False)


def _start(tmp_path, *args):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [
        sys.executable,
        "-m",
        "ganforge",
        "train",
        "mnist",
        "--limit",
        "256",
        "--batch-size",
        "16",
        "--log-every",
        "4",
        "--device",
        "cpu",
        "--seed",
        "3",
        *("--ema-norm-samples", "32"),  # (1024, the default, for every save would double the test's time)
        *args,
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@posix_only
def test_sigkill_then_resume_loses_only_work_since_the_checkpoint(tmp_path):
    run = tmp_path / "run"
    proc = _start(tmp_path, "--out", str(run), "--epochs", "50", "--checkpoint-every-steps", "8")
    _wait_for(lambda: len(list_checkpoints(run)) >= 2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    last = list_checkpoints(run)[-1]
    saved_step = load_checkpoint(last)["state"]["step"]
    assert saved_step >= 16 and saved_step % 8 == 0
    resumed = subprocess.run(
        [sys.executable, "-m", "ganforge", "train", "--resume", str(run), "--steps", str(saved_step + 8)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed {run} at epoch" in resumed.stderr and f"step {saved_step}" in resumed.stderr
    trainer, state = _weights(run)
    assert state["step"] == saved_step + 8
    assert all(torch.isfinite(v).all() for v in trainer["G"].values() if v.is_floating_point())
    steps = [json.loads(ln)["step"] for ln in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == saved_step + 8


@posix_only
def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(tmp_path):
    run = tmp_path / "run"
    proc = _start(tmp_path, "--out", str(run), "--epochs", "50")
    _wait_for(lambda: (run / "metrics.jsonl").is_file() and (run / "metrics.jsonl").read_text().strip())
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    assert "stopped by SIGINT" in output and "Traceback" not in output
    step = load_checkpoint(list_checkpoints(run)[-1])["state"]["step"]
    assert step >= 4


def test_a_second_process_on_the_same_run_is_refused(tiny_cfg, tmp_path):
    run = tmp_path / "run"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time; from ganforge.train.lock import RunLock; lock = RunLock(sys.argv[1]); "
                "lock.acquire(); print('locked', flush=True); time.sleep(60)"
            ),
            str(run),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(UserError, match=rf"another ganforge process \(pid {holder.pid}\) is training"):
            TrainingRun(tiny_cfg, run, show_progress=False)
        assert not (run / "config.json").exists()  # nothing was written
    finally:
        holder.kill()
        holder.wait()
    # The holder died without cleaning up: its lock went with it.
    tiny_cfg.train.epochs = 1
    TrainingRun(tiny_cfg, run, show_progress=False).train()
    assert (run / "config.json").is_file()


def test_a_rejected_config_leaves_no_run_directory(tiny_cfg, tmp_path):
    tiny_cfg.train.batch_size = 0
    with pytest.raises(UserError, match="batch_size must be positive"):
        TrainingRun(tiny_cfg, tmp_path / "new", show_progress=False)
    assert not (tmp_path / "new").exists()


def test_resume_before_the_first_checkpoint_starts_over(tiny_cfg, tmp_path):
    TrainingRun(tiny_cfg, tmp_path / "run", show_progress=False).dir.lock.release()  # "killed" at once
    assert (tmp_path / "run" / "config.json").is_file() and not list_checkpoints(tmp_path / "run")
    state = TrainingRun(tiny_cfg, tmp_path / "run", resume=True, show_progress=False).train()
    assert state.step == 8


@pytest.mark.parametrize(
    ("preset", "reuse"),
    [
        ("sn-dcgan", False),
        ("fastgan", False),
        ("fastgan", True),
        ("projected-gan", False),
        ("fastgan-dual", False),
    ],
)
def test_fast_presets_resume_exactly(preset, reuse, tmp_path):
    """2N steps straight == N steps, resume, N steps: with DiffAugment's random numbers, EMA and SN (and
    with G reusing D's fakes, whose draws differ)."""
    from ganforge.presets import get_preset
    from tests.conftest import write_images

    if preset in ("projected-gan", "fastgan-dual"):
        pytest.importorskip("efficientnet_lite_pytorch", reason="the [rgb-metrics] extra is not installed")
    cfg = get_preset(preset)
    if cfg.data.source == "twemoji":
        write_images(tmp_path / "imgs", 12, size=32)
        cfg.data.source, cfg.data.image_size = str(tmp_path / "imgs"), 32
    cfg.data.limit, cfg.train.batch_size, cfg.train.device = 48, 8, "cpu"
    cfg.train.augment, cfg.train.reuse_fakes = "color,translation,cutout", reuse
    cfg.train.log_every, cfg.train.checkpoint_every_steps = 2, 3
    cfg.train.epochs = cfg.train.minutes = None
    cfg.train.ema_norm_samples = 32  # measuring 1024 samples for each save took most of the test's time
    cfg.train.steps = 8
    TrainingRun(cfg, tmp_path / "straight", show_progress=False).train()
    cfg.train.steps = 3
    TrainingRun(cfg, tmp_path / "split", show_progress=False).train()
    cfg.train.steps = 8
    TrainingRun(cfg, tmp_path / "split", resume=True, show_progress=False).train()
    a, _ = _weights(tmp_path / "straight")
    b, _ = _weights(tmp_path / "split")
    for net in ("G", "D", "G_ema"):
        for key, value in a[net].items():
            assert torch.equal(value, b[net][key]), f"{net}.{key} differs after resume"
