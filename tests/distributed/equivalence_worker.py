"""One rank of the gradient-equivalence test: two training steps on its share of a fixed global batch.

Run as ``python equivalence_worker.py OUT`` with torchrun's environment variables (or none: one process).
Every rank draws the same global noise and real batch and keeps its own slice, so N processes x B/N must
reproduce 1 process x B. The networks have no batch statistics and no dropout.
"""

from __future__ import annotations

import os
import sys

import torch

from ganforge.config import TrainConfig
from ganforge.models.mlp import MLPDiscriminator, MLPGenerator
from ganforge.train import distributed
from ganforge.train.trainer import Trainer

BATCH, LATENT, SHAPE = 8, 6, (1, 6, 6)
CASES = {
    "simultaneous-bce": {"scheme": "simultaneous"},
    "alternating-bce": {},
    "separate-batches": {"d_separate_batches": True},
    "wgan-gp": {"loss": "wgan-gp"},
    "r1-lazy": {"r1_gamma": 1.0, "r1_every": 2},
    "d-steps-2": {"d_steps": 2, "loss": "hinge"},
    "reuse-fakes": {"reuse_fakes": True, "loss": "hinge"},
}


def train_case(overrides: dict) -> dict[str, torch.Tensor]:
    """Weights of G and D after three steps of one case, as this rank sees them."""
    world, device = distributed.setup(torch.device("cpu"))
    torch.manual_seed(0)
    g = MLPGenerator(LATENT, (16,), SHAPE, activation="relu")
    d = MLPDiscriminator(SHAPE, (16,))
    cfg = TrainConfig(precision="fp32", channels_last=False, **overrides)
    trainer = Trainer(g, d, cfg, LATENT, device)
    data = torch.Generator().manual_seed(1)
    noises = iter([torch.randn(BATCH, LATENT, generator=data) for _ in range(20)])
    local = BATCH // world.size

    def noise(n: int) -> torch.Tensor:
        assert n == local, n
        return next(noises)[world.rank * n : (world.rank + 1) * n]

    trainer.draws.noise = noise  # type: ignore[method-assign]
    alphas = iter([torch.rand(BATCH, 1, 1, 1, generator=data) for _ in range(20)])

    def alpha(real: torch.Tensor) -> torch.Tensor:
        return next(alphas)[world.rank * local : (world.rank + 1) * local]

    trainer.draws.alpha = alpha  # type: ignore[method-assign]
    for _ in range(3):
        real = torch.rand(BATCH, *SHAPE, generator=data) * 2 - 1
        trainer.step(real[world.rank * local : (world.rank + 1) * local])
    weights = {f"G.{k}": v for k, v in trainer.G.state_dict().items()}
    weights |= {f"D.{k}": v for k, v in trainer.D.state_dict().items()}
    trainer.release_distributed()  # the DDP wrappers go before the process group does
    return weights


def main(out: str) -> None:
    results = {name: train_case(overrides) for name, overrides in CASES.items()}
    if distributed.rank() == 0:
        torch.save(results, out)
    distributed.teardown()


if __name__ == "__main__":
    main(sys.argv[1])
    sys.stdout.flush()
    os._exit(0)  # skip finalisation, where gloo's threads can abort the process (as python -m ganforge)
