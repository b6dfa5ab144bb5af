"""Which images each step trains on: a seeded shuffle per epoch, split between the processes.

The order depends only on (seed, epoch), so a resumed run continues mid-epoch exactly. With several
processes every global batch is the single-process batch of the same step, cut into equal per-rank
parts (what ``DistributedSampler`` does): each process reads only its share of every epoch, and
``batch_in_epoch`` means the same whatever the number of processes that resumes it.
"""

from __future__ import annotations

import math

import torch

from ganforge.errors import UserError


class EpochOrder:
    """Per-epoch batches of image indices for one process.

    Args:
        n: images in the dataset.
        batch_size: the global batch (all processes together).
        seed: the run's seed.
        rank, world: this process and how many train together.
    """

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world: int = 1) -> None:
        if batch_size % world:
            raise UserError(
                f"a batch of {batch_size} does not split evenly over {world} processes; "
                f"use a --batch-size that is a multiple of {world}"
            )
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.rank, self.world = rank, world
        self.local = batch_size // world
        # One process keeps the last, smaller batch; several drop it, so that every rank has a share.
        self.batches = math.ceil(n / batch_size) if world == 1 else n // batch_size

    def batches_of(self, epoch: int) -> list[torch.Tensor]:
        """This process's index batches for ``epoch`` (``batches`` of them)."""
        order = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed * 1_000_003 + epoch))
        if self.world == 1:
            return list(order.split(self.batch_size))
        rows = order[: self.batches * self.batch_size].view(self.batches, self.batch_size)
        return list(rows[:, self.rank * self.local : (self.rank + 1) * self.local])
