"""Sliced Wasserstein distance on Laplacian-pyramid patches (Karras et al. 2018, ProGAN, appendix D).

A measure no discriminator trains on: it needs no network and no weights, so a projected D trained on
EfficientNet-Lite0 features cannot improve it by fooling those features (Kynkäänniemi et al., ICLR 2023).
It compares the distributions of small local patches at each scale of a Laplacian pyramid: the finest
level sees edges and texture, the coarser ones colour blobs and layout.

Procedure (written for ganforge from the paper's description):
1. Each image (uint8 -> [-1, 1]) becomes a Laplacian pyramid: Gaussian blur with the 5-tap binomial
   kernel (1 4 6 4 1)/16 and 2x decimation down to 16 px; each level keeps the band-pass difference,
   the coarsest keeps the low-pass image.
2. From every level, ``patches`` random 7x7 patches per image (all channels) are descriptors.
3. Each level's descriptors, both sets together, are normalised per channel to zero mean and unit
   variance, so every level and channel weighs the same.
4. SWD per level: ``directions`` random unit directions, ``repeats`` times; both sets are projected on
   each direction, sorted, and the mean absolute difference of the sorted projections is the 1-D
   Wasserstein-1 distance; the result is averaged and multiplied by 1000 (the paper's scale).
The metric ``SWD`` is the mean over levels; ``SWD-<size>`` the levels. Lower is better; identical sets
give 0 up to sampling noise, so the floor (two halves of the same data) is part of docs/metrics.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from ganforge.data.images import to_unit_range

PATCH = 7
MIN_LEVEL = 16
PATCHES_PER_IMAGE = 64
MAX_DESCRIPTORS = 1 << 16  # per level and set: bounds memory (~40 MB) and the sorts' time
DIRECTIONS = 128
REPEATS = 4
DESCRIPTION = (
    f"Laplacian pyramid to {MIN_LEVEL} px (binomial 5-tap), {PATCHES_PER_IMAGE} random {PATCH}x{PATCH} "
    f"patches per image and level (fewer past {MAX_DESCRIPTORS} per level), per-channel normalised, "
    f"{REPEATS}x{DIRECTIONS} random directions, x1000"
)


def _blur(x: torch.Tensor) -> torch.Tensor:
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=x.dtype) / 16
    kernel = (k[:, None] * k[None, :]).expand(x.shape[1], 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel, groups=x.shape[1])


def laplacian_pyramid(x: torch.Tensor, min_size: int = MIN_LEVEL) -> list[torch.Tensor]:
    """Band-pass levels of ``x`` (N, C, H, W), finest first; the last is the low-pass residue."""
    levels = []
    while x.shape[-1] > min_size:
        low = _blur(x)[:, :, ::2, ::2]
        up = F.interpolate(low, size=x.shape[-2:], mode="nearest")
        levels.append(x - _blur(up))
        x = low
    levels.append(x)
    return levels


def _patches(level: torch.Tensor, per_image: int, generator: torch.Generator) -> torch.Tensor:
    """``per_image`` random PATCH x PATCH patches of every image, flattened: (N * per_image, C * 49)."""
    n, _, h, w = level.shape
    size = min(PATCH, h, w)
    ys = torch.randint(0, h - size + 1, (n, per_image), generator=generator)
    xs = torch.randint(0, w - size + 1, (n, per_image), generator=generator)
    offsets = torch.arange(size)
    rows = (ys[..., None] + offsets)[..., :, None]  # (N, P, size, 1)
    cols = (xs[..., None] + offsets)[..., None, :]  # (N, P, 1, size)
    batch = torch.arange(n)[:, None, None, None]
    picked = level.permute(0, 2, 3, 1)[batch, rows, cols]  # (N, P, size, size, C)
    return picked.permute(0, 1, 4, 2, 3).reshape(n * per_image, -1)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, generator: torch.Generator) -> float:
    """Mean over random directions of the 1-D Wasserstein-1 distance of the projections of a and b."""
    m = min(len(a), len(b))
    total = 0.0
    for _ in range(REPEATS):
        dirs = torch.randn(a.shape[1], DIRECTIONS, generator=generator)
        dirs /= dirs.norm(dim=0, keepdim=True)
        # (directions, m) rows sorted by numpy: its vectorised sort is several times faster than torch's.
        pa = np.sort((dirs.T @ a[torch.randperm(len(a), generator=generator)[:m]].T).numpy(), axis=1)
        pb = np.sort((dirs.T @ b[torch.randperm(len(b), generator=generator)[:m]].T).numpy(), axis=1)
        total += float(np.abs(pa - pb).mean())
    return total / REPEATS


def _descriptors(images: torch.Tensor, generator: torch.Generator) -> list[torch.Tensor]:
    per_image = max(4, min(PATCHES_PER_IMAGE, MAX_DESCRIPTORS // len(images)))
    pyramids = [laplacian_pyramid(to_unit_range(chunk, "cpu")) for chunk in images.split(500)]
    return [
        torch.cat([_patches(p[i], per_image, generator) for p in pyramids]) for i in range(len(pyramids[0]))
    ]


@torch.no_grad()
def swd(images: torch.Tensor, reference: torch.Tensor, seed: int = 0) -> dict[str, Any]:
    """SWD of uint8 ``images`` against uint8 ``reference`` (both (N, C, H, W), same C, H and W).

    Returns ``{"SWD": mean over levels, "SWD-64": ..., "SWD-32": ..., "SWD-16": ...}`` (sizes of the
    levels present). Square images of at least 16 px; the mean is over the images' own levels.
    """
    if images.shape[1:] != reference.shape[1:]:
        raise ValueError(
            f"SWD compares images of one shape, got {tuple(images.shape[1:])} and "
            f"{tuple(reference.shape[1:])}"
        )
    generator = torch.Generator().manual_seed(seed)
    ours, theirs = _descriptors(images, generator), _descriptors(reference, generator)
    result: dict[str, Any] = {}
    for a, b in zip(ours, theirs, strict=True):
        both = torch.cat([a, b]).view(len(a) + len(b), images.shape[1], -1)
        mean = both.mean(dim=(0, 2)).repeat_interleave(both.shape[2])
        std = both.std(dim=(0, 2)).clamp_min(1e-8).repeat_interleave(both.shape[2])
        size = images.shape[-1] >> len(result)
        result[f"SWD-{size}"] = 1000 * sliced_wasserstein((a - mean) / std, (b - mean) / std, generator)
    return {"SWD": sum(result.values()) / len(result), **result}
