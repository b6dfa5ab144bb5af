"""The noise side of a generator: seeded latent vectors, truncation, and walks between seeds.

Every ganforge generator takes standard-normal noise z ~ N(0, I) (a preset whose tutorial shifts its
noise, such as tf1-mnist's N(-1, 1), does so inside the network), so the latent mean is 0 everywhere.
"""

from __future__ import annotations

import torch

from ganforge.errors import UserError


def seeded_noise(seed: int, n: int, latent_dim: int) -> torch.Tensor:
    """n latent vectors from ``seed``: the same seed gives the same vectors on every machine."""
    return torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))


def cycled_labels(n: int, classes: int | None) -> torch.Tensor | None:
    """Labels 0, 1, ..., classes - 1, 0, 1, ... for n samples (None for an unconditional generator):
    how ganforge draws "every class in turn" wherever a conditional generator samples."""
    return torch.arange(n) % classes if classes else None


def truncate(z: torch.Tensor, psi: float | None) -> torch.Tensor:
    """The truncation trick by scaling: z * psi pulls the noise toward its mean (0) by the factor psi.

    psi = 1 leaves z as it is; smaller values trade variety for typical, cleaner images; 0 draws the
    mean image. Scaling (rather than resampling components beyond a threshold, BigGAN's form) keeps a
    seed's image recognisable as psi changes, which is what a slider should do.

    Raises:
        UserError: psi outside [0, 1].
    """
    if psi is None:
        return z
    if not 0 <= psi <= 1:
        raise UserError(f"--truncation must be between 0 and 1 (1 = no truncation), got {psi}")
    return z * psi


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation from ``a`` (D,) to ``b`` (D,) at fractions ``t`` (T,): (T, D).

    Gaussian noise lives near a sphere of radius sqrt(D); a straight line between two vectors passes
    through lower-norm points the generator rarely saw, a great-circle arc does not.
    """
    a_unit, b_unit = a / a.norm(), b / b.norm()
    omega = torch.arccos((a_unit * b_unit).sum().clamp(-1, 1))
    t = t[:, None]
    if omega.abs() < 1e-6:  # (anti)parallel: fall back to a straight line
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def parse_seeds(text: str) -> list[int]:
    """``"1,5,9"`` -> [1, 5, 9]; at least two non-negative integers.

    Raises:
        UserError: anything else, in one line.
    """
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise UserError(f"--seeds takes comma-separated integers such as 1,5,9, got '{text}'") from None
    if len(seeds) < 2 or min(seeds) < 0:
        raise UserError(f"--seeds needs at least two non-negative integers, got '{text}'")
    return seeds


def walk(seeds: list[int], frames: int, latent_dim: int) -> torch.Tensor:
    """(frames, latent_dim) noise along great-circle arcs through each seed's vector in turn.

    The walk starts at the first seed and ends at the last; each of the len(seeds) - 1 legs gets an
    equal share of the frames.
    """
    if frames < 2:
        raise UserError(f"--frames must be at least 2, got {frames}")
    points = torch.cat([seeded_noise(s, 1, latent_dim) for s in seeds])
    position = torch.linspace(0, len(seeds) - 1, frames)
    leg = position.floor().long().clamp(max=len(seeds) - 2)
    out = torch.empty(frames, latent_dim)
    for i in range(len(seeds) - 1):
        mask = leg == i
        out[mask] = slerp(points[i], points[i + 1], position[mask] - i)
    return out


def label_walk(labels: list[int], frames: int, num_classes: int) -> torch.Tensor:
    """(frames, num_classes) class weights moving linearly from each label to the next, in step with
    :func:`walk` through as many seeds."""
    position = torch.linspace(0, len(labels) - 1, frames)
    leg = position.floor().long().clamp(max=len(labels) - 2)
    t = (position - leg)[:, None]
    one_hot = torch.eye(num_classes)[torch.tensor(labels)]
    return (1 - t) * one_hot[leg] + t * one_hot[leg + 1]


def parse_labels(text: str, count: int, num_classes: int) -> list[int]:
    """``"3,8"`` -> [3, 8]: one class per seed, each in 0..num_classes - 1.

    Raises:
        UserError: not integers, not one per seed, or out of range.
    """
    try:
        labels = [int(part) for part in text.split(",")]
    except ValueError:
        raise UserError(f"--labels takes comma-separated class numbers such as 3,8, got '{text}'") from None
    if len(labels) != count:
        raise UserError(f"--labels needs one class per seed ({count}), got {len(labels)}")
    if not all(0 <= label < num_classes for label in labels):
        raise UserError(f"--labels must be in 0..{num_classes - 1}, got '{text}'")
    return labels
