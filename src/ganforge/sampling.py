"""Turning a generator into pictures and arrays: fixed-noise grids, sample files, animated GIFs, walks."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn

from ganforge.checkpoint import (
    checkpoint_config,
    checkpoint_step,
    find_checkpoint,
    generator_weights,
    load_checkpoint,
    load_weights,
    needs_norms,
)
from ganforge.config import RunConfig, TrainConfig
from ganforge.data.images import to_uint8
from ganforge.errors import UserError
from ganforge.fileio import atomic_path
from ganforge.latent import cycled_labels, label_walk, truncate, walk
from ganforge.models import build_models
from ganforge.train.precision import has_convolutions


def make_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2, scale: int = 1) -> Image.Image:
    """Tile uint8 images (N, C, H, W) into one picture, ``nrow`` per row, on a white background.

    Args:
        images: uint8 tensor, C = 1 or 3.
        nrow: images per row (default: a square-ish layout).
        padding: white pixels between and around the tiles (before scaling).
        scale: integer nearest-neighbour upscaling, for small images such as 28x28 digits.
    """
    n, c, h, w = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    canvas = np.full((rows * (h + padding) + padding, nrow * (w + padding) + padding, c), 255, np.uint8)
    tiles = images.permute(0, 2, 3, 1).numpy()
    for i in range(n):
        y = padding + (i // nrow) * (h + padding)
        x = padding + (i % nrow) * (w + padding)
        canvas[y : y + h, x : x + w] = tiles[i]
    picture = Image.fromarray(canvas[:, :, 0] if c == 1 else canvas, "L" if c == 1 else "RGB")
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)
    return picture


def save_png(picture: Image.Image, path: Path) -> None:
    """Save a PNG atomically (a crash never leaves a half-written image)."""
    with atomic_path(Path(path)) as tmp:
        picture.save(tmp, format="PNG")


# Inference batches. On a CPU a large batch is slower, not faster: glibc's malloc maps every block over
# its 32 MB ceiling afresh and unmaps it when freed, so each layer's output for hundreds of images is
# faulted in page by page, every batch (`fastgan` at 64 px: 2000 images in 7.4 s at 500 a batch, 3.2 s
# at 16, the same bytes out; docs/performance.md).
CPU_BATCH = 16
ACCELERATOR_BATCH = 500


def inference_batch(device: torch.device) -> int:
    """How many images :func:`generate` runs at once on ``device``."""
    return CPU_BATCH if device.type == "cpu" else ACCELERATOR_BATCH


@torch.no_grad()
def generate(
    generator: nn.Module,
    noise: torch.Tensor,
    labels: torch.Tensor | None = None,
    batch_size: int | None = None,
) -> torch.Tensor:
    """Run ``generator`` in inference mode on ``noise`` (and ``labels`` if conditional) in batches
    (``batch_size``, or :func:`inference_batch` for the generator's device; the images do not depend on it).

    Returns uint8 images (N, C, H, W) on the CPU.
    """
    was_training = generator.training
    generator.eval()  # BatchNorm uses its moving averages, as Keras' training=False does
    device = next(generator.parameters()).device
    batch_size = batch_size or inference_batch(device)
    n_classes = getattr(generator, "num_classes", None)
    if n_classes is not None and labels is None:
        labels = cycled_labels(len(noise), n_classes)  # every class in turn
    if n_classes is None and labels is not None:
        raise UserError("this generator is not class-conditional; it cannot draw a chosen label")
    try:
        out = []
        for i, chunk in enumerate(noise.split(batch_size)):
            args = [chunk.to(device)]
            if labels is not None:
                args.append(labels[i * batch_size : i * batch_size + len(chunk)].to(device))
            out.append(to_uint8(generator(*args)))
    finally:
        generator.train(was_training)
    return torch.cat(out)


def write_samples(images: torch.Tensor, out: Path) -> str:
    """Write uint8 images (N, C, H, W): ``.png`` -> one grid, ``.npy`` -> an array, else a folder of PNGs.

    The array is (N, H, W) for grayscale and (N, H, W, 3) for RGB. Returns a description of what was written.
    """
    out = Path(out)
    if out.suffix.lower() == ".png":
        save_png(make_grid(images), out)
        return f"a grid of {len(images)} images in {out}"
    if out.suffix.lower() == ".npy":
        array = images.permute(0, 2, 3, 1).numpy()
        array = array[..., 0] if array.shape[-1] == 1 else array
        with atomic_path(out) as tmp, open(tmp, "wb") as f:
            np.save(f, np.ascontiguousarray(array))
        return f"an array {tuple(array.shape)} uint8 in {out}"
    if out.suffix:
        raise UserError(f"--out {out}: use a .png (grid), a .npy (array) or a folder name")
    out.mkdir(parents=True, exist_ok=True)
    digits = max(5, len(str(len(images) - 1)))
    for i, img in enumerate(images):
        save_png(make_grid(img[None], nrow=1, padding=0), out / f"{i:0{digits}d}.png")
    return f"{len(images)} PNG files in {out}/"


_FRAME = re.compile(r"^(epoch|step)_(\d+)\.png$")


def sample_grids(samples_dir: Path) -> list[tuple[int, str, Path]]:
    """A run's fixed-noise grids as (number, "epoch" or "step", path), oldest first; [] if none."""
    if not Path(samples_dir).is_dir():
        return []
    return sorted(
        (int(m.group(2)), m.group(1), p)
        for p in Path(samples_dir).glob("*.png")
        if (m := _FRAME.match(p.name))
    )


def animate(samples_dir: Path, out: Path, seconds_per_frame: float = 0.5) -> int:
    """Assemble the per-epoch (or per-step) grids of a run into an animated GIF, each frame labelled.

    Returns the number of frames written.
    """
    frames = sample_grids(samples_dir)
    if not frames:
        raise UserError(
            f"no sample grids (epoch_*.png or step_*.png) in {samples_dir}; train for an epoch first"
        )
    labelled = [caption(Image.open(path).convert("RGB"), f"{kind} {number}") for number, kind, path in frames]
    with atomic_path(Path(out)) as tmp:
        labelled[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=labelled[1:],
            duration=int(seconds_per_frame * 1000),
            loop=0,
        )
    return len(labelled)


ROW_SEED_STRIDE = 1_000_003  # row r of a walk grid walks through seed + r * this: rows never share seeds
WALK_FORMATS = (".gif", ".mp4")


def walk_frames(
    generator: nn.Module,
    seeds: list[int],
    frames: int,
    rows: int = 1,
    psi: float | None = None,
    label: int | None = None,
    labels: list[int] | None = None,
) -> list[Image.Image]:
    """Pictures of a latent walk: each frame stacks ``rows`` walks through ``seeds`` (row r through
    seed + r * ROW_SEED_STRIDE), noise truncated by ``psi``. Conditional generators draw ``label``, or
    move from class to class through ``labels`` (one per seed) in step with the noise, or draw class r in
    row r."""
    if rows < 1:
        raise UserError(f"--rows must be at least 1, got {rows}")
    dim = generator.latent_dim
    walks = [walk([s + r * ROW_SEED_STRIDE for s in seeds], frames, dim) for r in range(rows)]
    noise = truncate(torch.stack(walks, dim=1).reshape(frames * rows, dim), psi)  # frame-major
    classes = getattr(generator, "num_classes", None)
    chosen = None
    if classes is not None and labels is not None:
        chosen = label_walk(labels, frames, classes).repeat_interleave(rows, dim=0)  # (frames * rows, K)
    elif classes is not None:
        per_row = torch.full((rows,), label) if label is not None else cycled_labels(rows, classes)
        chosen = per_row.repeat(frames)
    images = generate(generator, noise, chosen)
    scale = max(1, 96 // images.shape[-1])  # 28 px digits become 84 px: a walk is for looking at
    return [make_grid(images[f * rows : (f + 1) * rows], nrow=1, scale=scale) for f in range(frames)]


def save_animation(frames: list[Image.Image], out: Path, fps: float = 12.0) -> None:
    """Write frames as an animated ``.gif`` (always available) or ``.mp4`` (needs imageio-ffmpeg); atomic.

    Raises:
        UserError: another extension, a missing folder, or no imageio-ffmpeg for .mp4.
    """
    out = Path(out)
    if out.suffix.lower() not in WALK_FORMATS:
        raise UserError(f"--out {out}: use a .gif or an .mp4 file")
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: the folder {out.parent} does not exist")
    if out.suffix.lower() == ".mp4":
        try:
            import imageio.v2 as imageio
            import imageio_ffmpeg  # noqa: F401  (imageio finds ffmpeg through it)
        except ImportError:
            raise UserError(
                "writing .mp4 needs: pip install imageio imageio-ffmpeg (or ganforge[video])"
            ) from None
        # Even sizes: the H.264 encoder's colour subsampling needs them.
        rgb = [np.asarray(_even(f.convert("RGB"))) for f in frames]
        with atomic_path(out) as tmp:
            imageio.mimwrite(tmp, rgb, fps=fps, macro_block_size=1)
        return
    with atomic_path(out) as tmp:
        frames[0].save(
            tmp, format="GIF", save_all=True, append_images=frames[1:], duration=int(1000 / fps), loop=0
        )


def _even(picture: Image.Image) -> Image.Image:
    w, h = picture.width + picture.width % 2, picture.height + picture.height % 2
    if (w, h) == picture.size:
        return picture
    padded = Image.new("RGB", (w, h), "white")
    padded.paste(picture, (0, 0))
    return padded


def side_by_side(pictures: list[Image.Image], gap: int = 0) -> Image.Image:
    """``pictures`` in one row, top-aligned on white, ``gap`` pixels apart."""
    width = sum(p.width for p in pictures) + gap * (len(pictures) - 1)
    row = Image.new("RGB", (width, max(p.height for p in pictures)), "white")
    x = 0
    for picture in pictures:
        row.paste(picture, (x, 0))
        x += picture.width + gap
    return row


def caption(picture: Image.Image, text: str) -> Image.Image:
    """``picture`` under a white strip with ``text`` (a frame's step in a GIF)."""
    strip = 14
    framed = Image.new("RGB", (picture.width, picture.height + strip), "white")
    framed.paste(picture, (0, strip))
    ImageDraw.Draw(framed).text((3, 2), text, fill="black")
    return framed


def load_run_generator(target: Path, device: torch.device) -> tuple[torch.nn.Module, RunConfig, int]:
    """Rebuild a run's generator (its EMA copy when it has one) from a checkpoint alone.

    Returns the generator, the run's config and the checkpoint's training step.
    """
    checkpoint = load_checkpoint(find_checkpoint(target))
    generator, cfg = generator_from_checkpoint(checkpoint)
    return in_trained_layout(generator.to(device), cfg), cfg, checkpoint_step(checkpoint)


def in_trained_layout(generator: nn.Module, cfg: RunConfig) -> nn.Module:
    """``generator`` in the memory layout its run trained in.

    Convolutions round differently in channels-last and contiguous layouts; drawing in the trained layout
    gives the same pixels everywhere a run is used (``ganforge sample``, ``GAN.from_run``, an export).
    """
    if cfg.train.channels_last and has_convolutions(generator):
        return generator.to(memory_format=torch.channels_last)
    return generator


def generator_from_checkpoint(checkpoint: dict) -> tuple[nn.Module, RunConfig]:
    """The generator a loaded checkpoint draws with (its EMA copy when it has one), in eval mode, on the
    CPU, with the run's config."""
    cfg = RunConfig.from_dict(checkpoint_config(checkpoint))
    generator, _ = build_models(cfg.model, cfg.data)
    load_weights(generator, generator_weights(checkpoint), "generator")
    if needs_norms(checkpoint):
        # An older checkpoint: its EMA copy kept the live BatchNorm statistics.
        recompute_norms(generator, samples=cfg.train.ema_norm_samples)
    return generator.eval(), cfg


# BatchNorm statistics of an EMA generator are measured on this many samples of their own fixed noise
# (the config's default: one number, set in config/fields.py).
NORM_SAMPLES = TrainConfig().ema_norm_samples
NORM_BATCH = 256
NORM_SEED = 20_240_601  # a stream of its own: no training stream and no global RNG is touched


@torch.no_grad()
def recompute_norms(generator: nn.Module, samples: int = NORM_SAMPLES, batch: int = NORM_BATCH) -> bool:
    """Measure ``generator``'s BatchNorm statistics on its own samples; False if it has no BatchNorm.

    An EMA generator averages weights, but BatchNorm statistics cannot be averaged: the live generator's
    describe the live weights. Deterministic: the noise (and, for a conditional generator, every class
    in turn) comes from a fixed seed of its own. The cumulative average over ``samples`` images replaces
    the running statistics; the generator is left in eval mode.
    """
    norms = batch_norms(generator)
    if not norms:
        return False
    device = next(generator.parameters()).device
    noise = torch.randn(samples, generator.latent_dim, generator=torch.Generator().manual_seed(NORM_SEED))
    classes = getattr(generator, "num_classes", None)
    # Classes in turn: as evenly as training draws its fakes' labels (train/draws.py). The statistics
    # depend on the class mix, and measured under another mix than training's they shift every class's
    # colours (SWD two to three times worse, docs/colour-pilots.md): change both or neither.
    labels = cycled_labels(samples, classes)
    momenta = [m.momentum for m in norms]
    generator.eval()  # only the BatchNorm layers measure: dropout, say, must not draw random numbers
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches below
        m.train()
    try:
        for start in range(0, samples, batch):
            args = [noise[start : start + batch].to(device)]
            if labels is not None:
                args.append(labels[start : start + batch].to(device))
            generator(*args)
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        generator.eval()
    return True


def batch_norms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The BatchNorm layers of ``module`` that keep running statistics."""
    return [
        m
        for m in module.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
    ]
