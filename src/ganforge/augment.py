"""Differentiable augmentation of everything the discriminator sees (DiffAugment, Zhao et al. 2020).

The same random transformations are applied to real and fake images, in D's updates and in G's, and
they are differentiable in the images, so G learns through them: D cannot tell real from fake by the
augmentation, and the generator is not pushed to produce augmented-looking images. With a few hundred
to a few thousand images this is what keeps D from memorising the training set.

Written for ganforge from the paper's description (the published reference is BSD-licensed; nothing
here comes from NVIDIA's ADA pipeline). Randomness is split from the arithmetic: :meth:`Augment.draw`
takes every random number an image needs as one (N, K) uniform tensor from a seeded generator, and
:meth:`Augment.apply` is a pure function of images and those numbers. That keeps runs exactly
reproducible and resumable, and lets a CUDA graph capture the arithmetic with the numbers as inputs.

Operations (images in [-1, 1], the ranges of the paper):
- ``color``: brightness + U(-0.5, 0.5); saturation x U(0, 2) around the per-pixel channel mean;
  contrast x U(0.5, 1.5) around the image mean.
- ``translation``: shift by up to 1/8 of the side in each direction (integer pixels), zero fill.
- ``cutout``: a square of half the side, at a random position, set to 0.

With a strength ``p`` below 1 (``Augment(policy, gated=True)``), each operation applies to each image
with probability p, decided by one more uniform number per operation: the form StyleGAN2-ADA tunes
(Karras et al. 2020), with p coming in as a tensor so that an adaptive p needs no new graph.
"""

from __future__ import annotations

import torch

from ganforge.errors import UserError

# operation -> how many uniform numbers it draws per image
OPERATIONS = {"color": 3, "translation": 2, "cutout": 2}
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def parse_policy(policy: str) -> tuple[str, ...]:
    """``"color,translation,cutout"`` -> its operations; ``""`` or ``"none"`` -> no augmentation.

    Raises:
        UserError: an unknown or repeated operation.
    """
    if policy.strip().lower() in ("", "none", "off"):
        return ()
    ops = tuple(op.strip().lower() for op in policy.split(","))
    for op in ops:
        if op not in OPERATIONS:
            raise UserError(
                f"unknown augmentation '{op}' in '{policy}'; use a comma-separated list of "
                f"{', '.join(OPERATIONS)} (or none)"
            )
    if len(set(ops)) != len(ops):
        raise UserError(f"augmentation policy '{policy}' names an operation twice")
    return ops


class Augment:
    """A DiffAugment policy: ``apply(x, draw(n, generator))`` augments a batch differentiably.

    Args:
        policy: comma-separated operations (``color``, ``translation``, ``cutout``); empty = identity.
        gated: each operation applies to an image with a probability ``p`` given to :meth:`apply`
            (one more number per operation is drawn); otherwise every operation always applies.
    """

    def __init__(self, policy: str, gated: bool = False) -> None:
        self.ops = parse_policy(policy)
        self.gated = gated and bool(self.ops)
        self.params = sum(OPERATIONS[op] for op in self.ops)
        self.width = self.params + (len(self.ops) if self.gated else 0)

    def __bool__(self) -> bool:
        return bool(self.ops)

    def draw(self, n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor | None:
        """The random numbers for ``n`` images, (n, K) uniform in [0, 1); None when the policy is empty."""
        if not self.ops:
            return None
        return torch.rand(n, self.width, generator=generator, device=device)

    def apply(self, x: torch.Tensor, u: torch.Tensor | None, p: torch.Tensor | None = None) -> torch.Tensor:
        """Augment images ``x`` (N, C, H, W) with the numbers ``u`` from :meth:`draw` (identity if None).

        ``p``: a gated policy's strength, a 0-d tensor in [0, 1].
        """
        if u is None:
            return x
        u = u[: x.shape[0]]
        column = 0
        for i, op in enumerate(self.ops):
            k = OPERATIONS[op]
            out = _APPLY[op](x, u[:, column : column + k].to(x.dtype))
            if self.gated:
                # (N, 1, 1, 1): this operation applies to the images whose number falls under p.
                chosen = (u[:, self.params + i] < p)[:, None, None, None]
                out = torch.where(chosen, out, x)
            x = out
            column += k
        return x


def color(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Brightness, saturation and contrast from three uniforms per image."""
    u = u[:, :, None, None, None]  # (N, 3, 1, 1, 1)
    x = x + (u[:, 0] - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (u[:, 1] * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (u[:, 2] + 0.5) + mean


def translation(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Shift each image by whole pixels, up to 1/8 of its side each way; uncovered pixels become 0."""
    n, _, h, w = x.shape
    sy, sx = int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5)
    dy = (u[:, 0] * (2 * sy + 1)).long().clamp(max=2 * sy) - sy  # integer in [-sy, sy]
    dx = (u[:, 1] * (2 * sx + 1)).long().clamp(max=2 * sx) - sx
    rows = torch.arange(h, device=x.device)[None, :] - dy[:, None]  # (N, H) source rows
    cols = torch.arange(w, device=x.device)[None, :] - dx[:, None]  # (N, W) source columns
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    batch = torch.arange(n, device=x.device)[:, None, None]
    shifted = x.permute(0, 2, 3, 1)[batch, rows.clamp(0, h - 1)[:, :, None], cols.clamp(0, w - 1)[:, None, :]]
    return (shifted * inside[..., None].to(x.dtype)).permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Zero a square of half the side whose centre is uniform over the image (clipped at the border)."""
    _, _, h, w = x.shape
    ch, cw = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    cy = (u[:, 0] * (h + (1 - ch % 2))).long()  # centre rows, as the reference draws them
    cx = (u[:, 1] * (w + (1 - cw % 2))).long()
    rows = torch.arange(h, device=x.device)[None, :]
    cols = torch.arange(w, device=x.device)[None, :]
    in_rows = (rows >= (cy - ch // 2)[:, None]) & (rows < (cy - ch // 2 + ch)[:, None])  # (N, H)
    in_cols = (cols >= (cx - cw // 2)[:, None]) & (cols < (cx - cw // 2 + cw)[:, None])  # (N, W)
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])  # (N, H, W)
    return x * keep[:, None].to(x.dtype)


_APPLY = {"color": color, "translation": translation, "cutout": cutout}
