"""Train your own generator/discriminator pair on MNIST in a few lines, Keras style.

    python examples/custom_gan.py            # about a minute on a laptop CPU

Writes grids to runs/custom-example/ after every epoch and a final 8x8 grid.
"""

import torch
from torch import nn

import ganforge


class Generator(nn.Module):
    def __init__(self, latent_dim: int = 32) -> None:
        super().__init__()
        self.latent_dim = latent_dim  # ganforge reads this to draw noise
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 256),
            nn.ReLU(),
            nn.Linear(256, 28 * 28),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, 1, 28, 28)  # images in [-1, 1]


class Discriminator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 256), nn.LeakyReLU(0.2), nn.Linear(256, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # one logit per image


if __name__ == "__main__":
    torch.manual_seed(0)
    mnist = ganforge.load_data(ganforge.DataConfig(source="mnist", limit=10_000))
    gan = ganforge.GAN(Generator(), Discriminator(), loss="nonsaturating", g_lr=2e-4, d_lr=2e-4)
    out = "runs/custom-example"
    gan.fit(
        mnist,
        epochs=3,
        batch_size=64,
        callbacks=[
            ganforge.ImageGrid(out),
            ganforge.LambdaCallback(on_epoch_end=lambda ctx: print(f"epoch {ctx.state.epoch} done")),
        ],
    )
    print("samples:", tuple(gan.generate(16).shape), "-> see", out)
