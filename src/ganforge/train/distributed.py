"""Several processes, one run: torchrun's environment in, a process group and DDP wrappers out.

ganforge runs on PyTorch's own engine: ``torchrun`` (or ``ganforge train --nproc N``, which starts it)
sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT, :func:`setup` joins the process group
(NCCL on GPUs, gloo on CPU) and every helper here is a no-op in a single process, so the trainer and the
callbacks call them unconditionally. docs/distributed.md has the commands.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from ganforge.errors import UserError
from ganforge.platforms import WINDOWS, interrupted_by, own_process_group, stops_forwarded

# A rank that stops answering (dead peer, hung GPU) turns into an error after this long instead of a
# silent hang. Long enough for rank 0's grids, checkpoints and quality evaluations, which the others
# wait for at their next collective.
DEFAULT_TIMEOUT_S = 600


@dataclass(frozen=True)
class World:
    """Where this process stands: its rank among ``size`` processes and its device."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0: the only process that writes grids, logs and checkpoints."""
        return self.rank == 0


def launched() -> bool:
    """True inside a process started by torchrun (or any launcher that sets WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: torch.device) -> tuple[World, torch.device]:
    """Join the process group torchrun describes; returns this process's place and device.

    In a single process nothing is initialised and ``device`` comes back unchanged. On GPUs each process
    takes ``cuda:LOCAL_RANK``.
    """
    if not launched():
        return World(), device
    world = World(
        int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0))
    )
    if device.type == "cuda":
        if world.local_rank >= torch.cuda.device_count():
            raise UserError(
                f"local rank {world.local_rank} has no GPU: this node has {torch.cuda.device_count()}; "
                "start at most that many processes per node"
            )
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    if device.type == "mps":
        raise UserError("several processes cannot share Apple's GPU (no MPS backend for DDP): drop --nproc")
    if not dist.is_initialized():
        timeout = timedelta(seconds=float(os.environ.get("GANFORGE_DIST_TIMEOUT", DEFAULT_TIMEOUT_S)))
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=timeout, device_id=device if device.type == "cuda" else None)
    return world, device


def teardown() -> None:
    """Leave the process group (at the end of a run, so torchrun sees a clean exit).

    DDP wrappers hold the group and sit in reference cycles: collected first, they release it now
    rather than at interpreter exit, where gloo's threads could abort the process ("terminate called
    without an active exception", seen in CI after runs that had finished).
    """
    if dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()


def active() -> bool:
    """Whether this process is one of several."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank (0 in a single process)."""
    return dist.get_rank() if active() else 0


def size() -> int:
    """How many processes train together (1 in a single process)."""
    return dist.get_world_size() if active() else 1


def barrier() -> None:
    """Wait until every process gets here (a no-op in one process)."""
    if active():
        dist.barrier()


def broadcast_text(text: str | None) -> str | None:
    """Rank 0's ``text`` on every process (the others pass anything): how rank 0's set-up went."""
    if not active():
        return text
    box = [text]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def any_rank(flag: bool, device: torch.device) -> bool:
    """True when ``flag`` is true on any process: every process takes the same branch after it."""
    if not active():
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def mean_over_ranks(values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Each tensor averaged over the processes (one all-reduce for all of them)."""
    if not active() or not values:
        return values
    keys = sorted(values)
    flat = torch.stack([values[k].detach().float().reshape(()) for k in keys])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    return dict(zip(keys, flat.unbind(), strict=True))


def sum_over_ranks(value: int, device: torch.device) -> int:
    """An integer count summed over the processes."""
    if not active():
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return int(t.item())


def reseed(seed: int, step: int) -> None:
    """Give every rank but 0 its own global RNG stream (dropout masks), after a seed or a restore."""
    if rank():
        torch.manual_seed(seed * 1_000_003 + 7919 * rank() + step)


def wrap(net: nn.Module, device: torch.device, sync_bn: bool) -> nn.Module:
    """``net`` inside DistributedDataParallel when there are several processes, else ``net`` itself.

    G and D are wrapped separately, so each backward all-reduces only the network it updates. Forward
    passes whose gradients for a network are not wanted (G under no_grad in D's step, D inside G's step)
    go through the bare module, so DDP never waits for gradients that will not come.
    """
    if not active():
        return net
    if sync_bn:
        if device.type != "cuda":
            raise UserError("--sync-bn needs GPUs (NCCL); on CPU leave it off")
        net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    ids = [device.index] if device.type == "cuda" else None
    # Buffers (BatchNorm running statistics) are synced from rank 0 at every forward, as it saves them.
    return nn.parallel.DistributedDataParallel(net, device_ids=ids)


def torchrun(nproc: int, argv: list[str]) -> int:
    """Run ``ganforge`` with ``argv`` as ``nproc`` processes under torchrun on this machine.

    Returns torchrun's exit status, or 130 after a Ctrl-C (143 after SIGTERM): the processes save a
    checkpoint and stop.

    Each process gets an equal share of the CPU cores for its math threads (torchrun would give each one).
    """
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max((os.cpu_count() or 1) // nproc, 1)))
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "-m",
        "ganforge",
        *argv,
    ]
    env[WRAPPED] = "1"
    if WINDOWS:
        env["USE_LIBUV"] = "0"  # PyTorch's Windows builds have no libuv TCPStore, its default since 2.4
    # Its own session: a terminal's Ctrl-C reaches this process alone, not torchrun's agent (which would
    # print a SignalException traceback and exit 1). The signal is forwarded to the training processes,
    # which finish the step, save a checkpoint and exit cleanly; the agent then ends normally.
    job = subprocess.Popen(command, env=env, **own_process_group())
    # Before the workers exist, the agent itself stops them.
    with stops_forwarded(lambda: _children(job.pid) or [job.pid]) as stopped:
        status = job.wait()
    keyboard = any(interrupted_by(signal.Signals(s).name) for s in stopped)
    return 130 if keyboard else (143 if stopped else status)


WRAPPED = "GANFORGE_NPROC_WRAPPED"  # set for processes started by ``ganforge train --nproc``


def _children(pid: int) -> list[int]:
    """The direct child processes of ``pid`` (Linux /proc; empty elsewhere)."""
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return [int(c) for t in tasks for c in (t / "children").read_text().split()]
    except OSError:
        return []
