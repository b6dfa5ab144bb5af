"""Real torchrun jobs on this machine (gloo, 2 processes): artifacts, resume, failure, two "nodes"."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import posix_only
from tests.distributed.launch import base_env, free_port, torchrun

pytestmark = pytest.mark.distributed

# keras-gan-mlp on 512 MNIST digits: the smallest real job (8 steps an epoch at batch 64).
TRAIN = [
    "train",
    "mnist",
    "--preset",
    "keras-gan-mlp",
    "--limit",
    "512",
    "--batch-size",
    "64",
    "--device",
    "cpu",
]


def _ganforge(args: list[str], tmp: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ganforge", *args],
        env=base_env(tmp),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_two_processes_write_one_run_that_one_process_resumes(tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = [
        *TRAIN,
        "--steps",
        "12",
        "--log-every",
        "3",
        "--sample-every",
        "6",
        "--checkpoint-every-steps",
        "6",
    ]
    first = _ganforge([*args, "--nproc", "2", "--out", str(run)], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "as 2 processes" in first.stderr and first.stdout.count("done: step 12") == 1
    records = _records(run)
    # One writer: each logged step appears once, and every line speaks for both processes.
    assert [r["step"] for r in records] == [3, 6, 9, 12]
    assert all(r["processes"] == 2 for r in records)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "step_000000006.pt",
        "step_000000012.pt",
    ]
    two_process_grid = Image.open(run / "samples" / "step_0000006.png")

    resumed = _ganforge(["train", "--resume", str(run), "--steps", "18", "--quiet"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    later = [r for r in _records(run) if r["step"] > 12]
    assert [r["step"] for r in later] == [15, 18] and all("processes" not in r for r in later)
    assert (run / "checkpoints" / "step_000000018.pt").is_file()
    grid = Image.open(run / "samples" / "step_0000018.png")
    assert (grid.size, grid.mode) == (two_process_grid.size, two_process_grid.mode)


@posix_only
def test_a_killed_rank_ends_the_job(tmp_path: Path) -> None:
    run = tmp_path / "run"
    tag = f"ganforge-test-{os.getpid()}-{time.monotonic_ns()}"
    env = base_env(tmp_path) | {"GANFORGE_TEST_TAG": tag}
    args = [*TRAIN, "--steps", "100000", "--checkpoint-every-steps", "4", "--quiet", "--out", str(run)]
    job = subprocess.Popen(
        [sys.executable, "-m", "ganforge", *args, "--nproc", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: any((run / "checkpoints").glob("step_*.pt")), job, 120)
        os.kill(_worker_pid(tag, rank=1), signal.SIGKILL)
        killed = time.monotonic()
        _, err = job.communicate(timeout=90)
    finally:
        job.kill()
    assert job.returncode != 0
    assert time.monotonic() - killed < 60
    assert "ganforge: error: torchrun exited with status" in err and f"--resume {run}" in err
    resumed = _ganforge(["train", "--resume", str(run), "--steps", "2", "--quiet"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]  # the checkpoints survived the crash


@posix_only
def test_ctrl_c_saves_a_checkpoint_and_exits_130(tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = [*TRAIN, "--steps", "100000", "--log-every", "2", "--checkpoint-every-steps", "100000", "--quiet"]
    job = subprocess.Popen(
        [sys.executable, "-m", "ganforge", *args, "--out", str(run), "--nproc", "2"],
        env=base_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        _wait_for(
            lambda: (run / "metrics.jsonl").is_file() and (run / "metrics.jsonl").stat().st_size, job, 120
        )
        os.killpg(job.pid, signal.SIGINT)  # what Ctrl-C sends: every process of the group
        _, err = job.communicate(timeout=90)
    finally:
        job.kill()
    assert job.returncode == 130, err[-2000:]
    assert f"stopped by Ctrl-C; continue with: ganforge train --resume {run}" in err
    step = _records(run)[-1]["step"]
    assert [p.name for p in (run / "checkpoints").iterdir()] == [f"step_{step:09d}.pt"]


def test_two_nodes_rendezvous_on_localhost_and_stop_together_on_a_minutes_budget(tmp_path: Path) -> None:
    run = tmp_path / "run"
    rdzv = ["--nnodes=2", "--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{free_port()}", "--rdzv-id=gf"]
    # A wall-clock budget ends on each process's own clock: they must still agree on the last step.
    args = [*TRAIN, "--minutes", "0.15", "--log-every", "2", "--quiet", "--out", str(run)]
    command = torchrun(args, tmp_path, 1, rdzv)
    nodes = [
        subprocess.Popen(
            command, env=base_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    outputs = [node.communicate(timeout=180)[0] for node in nodes]
    for node, out in zip(nodes, outputs, strict=True):
        assert node.returncode == 0, out[-3000:]
    records = _records(run)
    assert records and all(r["processes"] == 2 for r in records)
    last = sorted(p.name for p in (run / "checkpoints").iterdir())[-1]
    assert sum("done: step" in out for out in outputs) == 1  # rank 0 reports, once
    assert int(last[5:14]) >= records[-1]["step"]


def _wait_for(condition, job: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if job.poll() is not None:
            pytest.fail(f"the job ended early: {job.communicate()[1][-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail("the job did not get going in time")
        time.sleep(0.2)


def _worker_pid(tag: str, rank: int) -> int:
    """The training process of ``rank`` among those started with ``tag`` in their environment."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"GANFORGE_TEST_TAG={tag}".encode() in env and f"RANK={rank}".encode() in env:
            return int(entry.name)
    raise AssertionError(f"no process of rank {rank} found")
