"""One GAN update: owns both networks, their optimisers, the loss and the noise generator."""

from __future__ import annotations

import torch
from torch import nn

from ganforge.config import OptimConfig, TrainConfig
from ganforge.errors import UserError
from ganforge.losses import LOSSES


def make_adam(params: list[nn.Parameter], cfg: OptimConfig) -> torch.optim.Adam:
    """Adam with the config's learning rate, betas and epsilon."""
    return torch.optim.Adam(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps)


class Trainer:
    """Holds G, D and their optimisers and performs training steps.

    Losses come back as tensors on the device; reading them forces a host-device sync, so the loop
    accumulates them and reads only every logging interval.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        cfg: TrainConfig,
        latent_dim: int,
        device: torch.device,
    ) -> None:
        if cfg.loss not in LOSSES:
            raise UserError(f"unknown loss '{cfg.loss}'; choose one of: {', '.join(LOSSES)}")
        self.G = generator.to(device)
        self.D = discriminator.to(device)
        self.opt_g = make_adam(list(self.G.parameters()), cfg.g_optim)
        self.opt_d = make_adam(list(self.D.parameters()), cfg.d_optim)
        self.loss = LOSSES[cfg.loss]
        self.latent_dim = latent_dim
        self.device = device
        self.noise = torch.Generator(device=device)
        self.noise.manual_seed(cfg.seed)

    def sample_noise(self, n: int) -> torch.Tensor:
        """n standard-normal latent vectors from the trainer's own seeded generator."""
        return torch.randn(n, self.latent_dim, generator=self.noise, device=self.device)

    def simultaneous_step(self, real: torch.Tensor) -> dict[str, torch.Tensor]:
        """The TF2 tutorial's step: one forward pass, both gradients from it, both optimisers step.

        Args:
            real: a batch of real images in [-1, 1] on the device.

        Returns:
            Detached scalars: d_loss, g_loss, d_real and d_fake (mean sigmoid outputs).
        """
        self.G.train()
        self.D.train()
        fake = self.G(self.sample_noise(real.shape[0]))
        real_logits = self.D(real)
        fake_logits = self.D(fake)
        d_loss = self.loss.d(real_logits, fake_logits)
        g_loss = self.loss.g(fake_logits)
        d_params = list(self.D.parameters())
        g_params = list(self.G.parameters())
        # Each loss differentiates only its own network's weights, as the tutorial's two tapes do.
        g_grads = torch.autograd.grad(g_loss, g_params, retain_graph=True)
        d_grads = torch.autograd.grad(d_loss, d_params)
        for p, grad in zip(g_params + d_params, g_grads + d_grads, strict=True):
            p.grad = grad
        self.opt_g.step()
        self.opt_d.step()
        return {
            "d_loss": d_loss.detach(),
            "g_loss": g_loss.detach(),
            "d_real": torch.sigmoid(real_logits.detach()).mean(),
            "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
        }

    def state_dict(self) -> dict:
        """Everything the trainer owns that a resume needs."""
        return {
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "noise_rng": self.noise.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.noise.set_state(state["noise_rng"])
