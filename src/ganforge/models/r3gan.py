"""R3GAN's networks: normalisation-free residual G and D with grouped convolutions (Huang et al. 2024).

Written for ganforge from the paper ("The GAN is dead; long live the GAN! A Modern GAN Baseline",
NeurIPS 2024), not from its code: the paper's repository carries NVIDIA's research licence.

- Every stage at resolution r holds residual blocks x + f(x), where f is an inverted bottleneck:
  1x1 conv to ``expansion`` times the channels -> LeakyReLU 0.2 -> grouped 3x3 conv (groups of
  ``group_size`` channels) -> LeakyReLU 0.2 -> 1x1 conv back. No normalisation layer anywhere.
- Between stages, transition layers: bilinear 2x resampling and a 1x1 conv where the width changes.
- Initialisation after Fixup: the last conv of every block starts at zero, so each block begins as the
  identity; the other convs of a block get He initialisation scaled by L^(-1/4), L = blocks in the
  network (the paper's L^(-1/(2m-2)) for m = 3 layers per branch).
- G starts from a dense map of z to an s0 x s0 feature map (the paper scales a learned basis by a
  linear map of z, which gives every image the same layout per channel; on a CPU budget the dense start
  learned varied layouts sooner, docs/fast-recipes.md); D ends with a depthwise s0 x s0 conv (a learned
  basis to project onto) and a linear layer.
- Class-conditional: G appends a class embedding to z; D adds the projection <embed(y), h> (Miyato &
  Koyama 2018). Labels may also be rows of class weights, which blend classes (a walk between them).

Sizes: any s0 * 2^k from 16 to 256 with s0 in 4..7 (28 = 7 * 4 for digits, 32, 64, 128, 256).
The training recipe (relativistic loss with R1 + R2, schedules) is the ``r3gan`` preset's.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn
from torch.nn import functional as F

from ganforge.config import DataConfig, ModelConfig
from ganforge.models.conditional import as_weights
from ganforge.models.registry import register_model
from ganforge.models.sizes import pyramid

LEAK = 0.2


def channel_plan(size: int, width: int) -> dict[int, int]:
    """Channels at each resolution: 8 * width at the smallest two, halving as maps double (at least 16)."""
    resolutions = pyramid(size, "r3gan")
    plan = {}
    for i, res in enumerate(resolutions):
        halvings = max(0, i - 1)
        plan[res] = max(8 * width // 2**halvings, 16)
    return plan


class ResidualBlock(nn.Module):
    """(N, c, s, s) -> x + 1x1(act(grouped 3x3(act(1x1(x))))) -> (N, c, s, s)."""

    def __init__(self, channels: int, expansion: int, group_size: int) -> None:
        super().__init__()
        hidden = channels * expansion
        self.expand = nn.Conv2d(channels, hidden, 1)
        self.mix = nn.Conv2d(hidden, hidden, 3, padding=1, groups=max(hidden // group_size, 1))
        self.project = nn.Conv2d(hidden, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.expand(x), LEAK)
        h = F.leaky_relu(self.mix(h), LEAK)
        return x + self.project(h)

    def init(self, scale: float) -> None:
        """Fixup: He-initialised inner convs times ``scale``; the last conv zero, so the block starts as
        the identity."""
        for conv in (self.expand, self.mix):
            nn.init.kaiming_normal_(conv.weight, a=LEAK, nonlinearity="leaky_relu")
            conv.weight.data.mul_(scale)
            nn.init.zeros_(conv.bias)
        nn.init.zeros_(self.project.weight)


def _stage(channels: int, blocks: int, expansion: int, group_size: int) -> nn.Sequential:
    return nn.Sequential(*[ResidualBlock(channels, expansion, group_size) for _ in range(blocks)])


def _linear_conv(cin: int, cout: int) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, 1, bias=False)
    nn.init.kaiming_normal_(conv.weight, nonlinearity="linear")
    return conv


def _fixup(module: nn.Module) -> None:
    blocks = [m for m in module.modules() if isinstance(m, ResidualBlock)]
    for block in blocks:
        block.init(len(blocks) ** -0.25)


class R3Generator(nn.Module):
    """z (N, latent_dim) [+ class] -> dense (N, c, s0, s0) -> [blocks, 1x1, bilinear 2x] ... -> 1x1 -> image.

    The output is linear (no tanh): white and black backgrounds sit at exactly +-1 without saturating a
    nonlinearity; samples are clamped to [-1, 1] when turned into pictures.
    """

    def __init__(
        self,
        latent_dim: int,
        channels: int,
        size: int,
        width: int = 32,
        blocks: int = 1,
        num_classes: int = 0,
        expansion: int = 2,
        group_size: int = 16,
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        plan = channel_plan(size, width)
        self.resolutions = list(plan)
        s0, c0 = self.resolutions[0], plan[self.resolutions[0]]
        if num_classes:
            self.num_classes = num_classes  # the trainer passes labels when this attribute exists
            self.embed = nn.Linear(num_classes, latent_dim, bias=False)  # (N, K) class weights -> (N, d)
        inputs = latent_dim * (2 if num_classes else 1)
        self.start = nn.Linear(inputs, c0 * s0 * s0, bias=False)
        self.start_shape = (c0, s0, s0)
        self.stages = nn.ModuleList([_stage(plan[r], blocks, expansion, group_size) for r in plan])
        self.widen = nn.ModuleList([_linear_conv(plan[a], plan[b]) for a, b in itertools.pairwise(plan)])
        self.to_rgb = nn.Conv2d(plan[size], channels, 1)
        nn.init.kaiming_normal_(self.start.weight, nonlinearity="linear")
        nn.init.zeros_(self.to_rgb.bias)
        _fixup(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is not None:
            z = torch.cat([z, self.embed(as_weights(labels, self.num_classes, z.dtype))], dim=1)
        x = self.start(z).view(-1, *self.start_shape)  # (N, c0, s0, s0)
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i < len(self.widen):
                # 1x1 conv and bilinear resampling commute: narrowing first is the cheaper order.
                x = F.interpolate(self.widen[i](x), scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.to_rgb(x)  # (N, C, size, size)


class R3Discriminator(nn.Module):
    """(N, C, size, size) -> 1x1 -> [blocks, 2x2 average, 1x1] ... -> depthwise s0 x s0 -> linear -> (N, 1).

    Average pooling by 2 is bilinear downsampling at that exact factor; its double backward (for R1 and
    R2) is cheap.
    """

    def __init__(
        self,
        channels: int,
        size: int,
        width: int = 32,
        blocks: int = 1,
        num_classes: int = 0,
        expansion: int = 2,
        group_size: int = 16,
    ) -> None:
        super().__init__()
        plan = channel_plan(size, width)
        down = sorted(plan, reverse=True)  # size ... s0
        self.from_rgb = _linear_conv(channels, plan[size])
        self.stages = nn.ModuleList([_stage(plan[r], blocks, expansion, group_size) for r in down])
        self.narrow = nn.ModuleList([_linear_conv(plan[a], plan[b]) for a, b in itertools.pairwise(down)])
        s0, c0 = down[-1], plan[down[-1]]
        self.basis = nn.Conv2d(c0, c0, s0, groups=c0, bias=False)  # (N, c0, 1, 1)
        nn.init.kaiming_normal_(self.basis.weight, nonlinearity="linear")
        self.head = nn.Linear(c0, 1)
        nn.init.zeros_(self.head.bias)
        if num_classes:
            self.num_classes = num_classes
            self.embed = nn.Linear(num_classes, c0, bias=False)
            nn.init.normal_(self.embed.weight, std=1 / math.sqrt(c0))
        _fixup(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        x = self.from_rgb(x)
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i < len(self.narrow):
                x = self.narrow[i](F.avg_pool2d(x, 2))  # (N, c', s/2, s/2): pool first, it is cheaper
        h = F.leaky_relu(self.basis(x).flatten(1), LEAK)  # (N, c0)
        out = self.head(h)  # (N, 1)
        if labels is not None:
            out = out + (self.embed(as_weights(labels, self.num_classes, h.dtype)) * h).sum(1, keepdim=True)
        return out


@register_model("r3gan", conditional="native")
def _r3gan(model: ModelConfig, data: DataConfig) -> tuple[nn.Module, nn.Module]:
    k = model.num_classes if model.conditional else 0
    g = R3Generator(model.latent_dim, data.channels, data.image_size, model.width, num_classes=k)
    return g, R3Discriminator(data.channels, data.image_size, model.width, num_classes=k)
