"""Every random number a training step uses, from one seeded stream per process.

Noise, fake labels, noisy D targets, WGAN-GP mixing weights and DiffAugment parameters are drawn here,
outside the update functions, so a CUDA graph can replay an update with fresh numbers and a resumed run
continues the very same stream (its state is in every checkpoint).
"""

from __future__ import annotations

import torch

from ganforge.augment import Augment
from ganforge.config import TrainConfig


class Draws:
    """The stream of process ``rank``: rank 0's is the single-process one, the others are offset."""

    def __init__(
        self,
        cfg: TrainConfig,
        latent_dim: int,
        num_classes: int | None,
        augment: Augment,
        device: torch.device,
    ) -> None:
        self.cfg = cfg
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.augment = augment
        self.device = device
        self.generator = torch.Generator(device=device)

    def seed(self, rank: int, offset: int = 0) -> None:
        """Start the stream of process ``rank`` (``offset`` moves a resumed non-zero rank along)."""
        self.generator.manual_seed(self.cfg.seed + 1_000_003 * rank + offset)

    def noise(self, n: int) -> torch.Tensor:
        """n standard-normal latent vectors."""
        return torch.randn(n, self.latent_dim, generator=self.generator, device=self.device)

    def labels(self, n: int) -> torch.Tensor | None:
        """Uniform class labels for n fakes (None for an unconditional GAN).

        sampling.recompute_norms measures the EMA generator's BatchNorm statistics with classes in turn,
        the same even mix: a change of this distribution must change that one too.
        """
        if self.num_classes is None:
            return None
        return torch.randint(0, self.num_classes, (n,), generator=self.generator, device=self.device)

    def targets(self, n: int, kind: str) -> torch.Tensor:
        """D's targets for n "real" or "fake" images: a constant, or uniform in [low, high] (noisy labels)."""
        low, high = getattr(self.cfg, f"{kind}_label_low"), getattr(self.cfg, f"{kind}_label_high")
        if low == high:
            return torch.full((1, 1), low, device=self.device)
        u = torch.rand(n, 1, generator=self.generator, device=self.device)
        return low + (high - low) * u

    def alpha(self, real: torch.Tensor) -> torch.Tensor:
        """WGAN-GP interpolation weights, one per image."""
        shape = (real.shape[0], *([1] * (real.ndim - 1)))
        return torch.rand(shape, generator=self.generator, device=real.device)

    def aug(self, n: int) -> torch.Tensor | None:
        """The augmentation's parameters for n images (None when augmentation is off)."""
        return self.augment.draw(n, self.generator, self.device)
