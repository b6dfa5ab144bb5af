"""Start small multi-process jobs for the distributed tests: plain workers and torchrun."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nobody listens on right now (for a rendezvous on 127.0.0.1)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(tmp: Path) -> dict[str, str]:
    """The environment of a child: offline, one math thread each, the test's cache."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", GANFORGE_OFFLINE="1", GANFORGE_DIST_TIMEOUT="60")
    env.setdefault("GANFORGE_CACHE", str(tmp / "cache"))
    return env


def run_workers(script: Path, args: list[str], world: int, tmp: Path, timeout: float = 120) -> None:
    """Run ``script args`` as ``world`` ranks with torchrun's environment variables; all must succeed."""
    port = free_port()
    procs = []
    for rank in range(world):
        env = base_env(tmp) | {
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": str(world),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, str(script), *args],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=timeout)[0] for p in procs]
    for rank, (p, out) in enumerate(zip(procs, outputs, strict=True)):
        assert p.returncode == 0, f"rank {rank} failed:\n{out[-3000:]}"


def torchrun(args: list[str], tmp: Path, nproc: int = 2, extra: list[str] | None = None) -> list[str]:
    """The command line of ``torchrun ... -m ganforge ARGS``."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        *(extra or ["--standalone"]),
        f"--nproc-per-node={nproc}",
        "-m",
        "ganforge",
        *args,
    ]
