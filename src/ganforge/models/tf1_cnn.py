"""The TF1-style MNIST GAN: a small average-pooling CNN discriminator and a 4-layer transposed-conv generator.

From the notebook "Generative Adversarial Networks" (Adit Deshpande, TensorFlow 1): the discriminator's
weights come from a truncated normal with std 0.02 and zero biases, the generator's with std 0.1 and
biases 0.1 (TF1's ``truncated_normal_initializer`` / ``constant_initializer``).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ganforge.config import DataConfig, ModelConfig
from ganforge.errors import UserError
from ganforge.models.registry import register_model, require_size
from ganforge.models.tf_same import crop


class TF1Generator(nn.Module):
    """z (N, 100) -> 2x2x25 -> ReLU -> transposed convs to 3x3x256, 6x6x128, 12x12x64, 28x28xC -> tanh.

    As the notebook builds it: every kernel 5x5 with stride 2, "same" alignment for the first three
    (TF's output shapes given explicitly) and "valid" for the last (12 -> 27, padded to 28 at the end, so
    the last row and column carry only the bias); BatchNorm (epsilon 1e-3) + ReLU between; weights from a
    truncated normal with std 0.1, biases 0.1. The notebook's BatchNorm always runs in training mode, so
    it normalises with the statistics of the batch being drawn, when sampling too
    (``track_running_stats=False``). The notebook draws z with ``np.random.normal(-1, 1)``: mean -1,
    std 1; ganforge draws the standard normal for every model, so the shift happens here.
    """

    def __init__(self, latent_dim: int = 100, channels: int = 1) -> None:
        super().__init__()
        if latent_dim != 100:
            raise ValueError("the TF1 generator reshapes a 100-d z into 2x2x25")
        self.latent_dim = latent_dim
        bn = {"eps": 1e-3, "track_running_stats": False}
        self.up1 = nn.ConvTranspose2d(25, 256, 5, stride=2, padding=2)  # exactly TF's 2 -> 3 "same"
        self.bn1 = nn.BatchNorm2d(256, **bn)
        self.up2 = nn.ConvTranspose2d(256, 128, 5, stride=2, padding=1)
        self.bn2 = nn.BatchNorm2d(128, **bn)
        self.up3 = nn.ConvTranspose2d(128, 64, 5, stride=2, padding=1)
        self.bn3 = nn.BatchNorm2d(64, **bn)
        self.up4 = nn.ConvTranspose2d(64, channels, 5, stride=2, output_padding=1)
        truncated_normal_init(self, std=0.1, bias=0.1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # TF reshapes channels-last: (N, 25, 2, 2); the -1 is the notebook's noise mean.
        x = F.relu(z.view(-1, 2, 2, 25).permute(0, 3, 1, 2) - 1.0)
        x = F.relu(self.bn1(self.up1(x)))  # (N, 256, 3, 3)
        x = F.relu(self.bn2(crop(self.up2(x), 6)))  # (N, 128, 6, 6)
        x = F.relu(self.bn3(crop(self.up3(x), 12)))  # (N, 64, 12, 12)
        return torch.tanh(self.up4(x))  # (N, C, 28, 28)


class TF1Discriminator(nn.Module):
    """(N, C, 28, 28) -> conv5x5x8, ReLU, avgpool -> conv5x5x16, ReLU, avgpool -> FC 32, ReLU -> FC 1."""

    def __init__(self, channels: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 8, 5, padding=2)
        self.conv2 = nn.Conv2d(8, 16, 5, padding=2)
        self.fc1 = nn.Linear(7 * 7 * 16, 32)
        self.fc2 = nn.Linear(32, 1)
        truncated_normal_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool2d(F.relu(self.conv1(x)), 2)  # (N, 8, 14, 14)
        x = F.avg_pool2d(F.relu(self.conv2(x)), 2)  # (N, 16, 7, 7)
        x = F.relu(self.fc1(x.flatten(1)))  # (N, 32)
        return self.fc2(x)  # (N, 1) logit


def truncated_normal_init(module: nn.Module, std: float = 0.02, bias: float = 0.0) -> None:
    """TF1's truncated_normal_initializer(stddev=std) on conv/linear weights (cut at 2 std), biases = bias."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.trunc_normal_(m.weight, std=std, a=-2 * std, b=2 * std)
            nn.init.constant_(m.bias, bias)


@register_model("tf1-cnn", conditional="it reshapes exactly 100 noise values, so it cannot take a label too")
def _tf1_cnn(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    require_size("tf1-cnn", data, 28)
    if model.latent_dim != 100:
        raise UserError("model tf1-cnn reshapes z into 2x2x25, so latent_dim must be 100")
    return TF1Generator(model.latent_dim, data.channels), TF1Discriminator(data.channels)
