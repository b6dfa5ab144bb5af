"""Datasets: every source becomes an :class:`ImageData` of uint8 images."""

from __future__ import annotations

from pathlib import Path

from ganforge.config import DataConfig
from ganforge.data.folder import guess_channels, load_folder
from ganforge.data.images import ImageData, to_uint8, to_unit_range
from ganforge.data.mnist import SPECS, load_mnist_like
from ganforge.data.stacked import NAME as STACKED
from ganforge.data.stacked import load_stacked_mnist
from ganforge.data.store import is_store, load_store, store_shape
from ganforge.data.twemoji import twemoji_folder
from ganforge.errors import UserError

BUILTIN = (*SPECS, STACKED, "twemoji")
# Built-in sets with a train and a test split (all 28x28): (channels, side) of each.
SPLIT_SETS = {**{name: (1, 28) for name in SPECS}, STACKED: (3, 28)}

__all__ = [
    "BUILTIN",
    "SPLIT_SETS",
    "ImageData",
    "has_test_split",
    "load_data",
    "natural_shape",
    "to_uint8",
    "to_unit_range",
]


def has_test_split(source: str) -> bool:
    """Whether ``source`` is a built-in set with a test split to measure against (mnist, ...)."""
    return source in SPLIT_SETS


def natural_shape(source: str) -> tuple[int, int | None]:
    """(channels, side) a source is in, before any resizing; side None when it has no single size.

    Built-in digits are (1, 28), Twemoji (3, None); a prepared store has the shape it was prepared at;
    a folder is grayscale when its first images are (see :func:`guess_channels`).
    """
    if source in SPLIT_SETS:
        return SPLIT_SETS[source]
    if source == "twemoji":
        return 3, None
    if is_store(source):
        return store_shape(source)
    return (guess_channels(Path(source)) if Path(source).is_dir() else 3), None


def load_data(cfg: DataConfig) -> ImageData:
    """Load the dataset a :class:`DataConfig` names, shaped as the config asks."""
    if cfg.source in SPLIT_SETS:
        channels, side = SPLIT_SETS[cfg.source]
        if (cfg.channels, cfg.image_size) != (channels, side):
            kind = "grayscale" if channels == 1 else "RGB"
            raise UserError(
                f"{cfg.source} images are {side}x{side} {kind}; the model asks for "
                f"{cfg.image_size}x{cfg.image_size} with {cfg.channels} channel(s)"
            )
        if cfg.source == STACKED:
            data = load_stacked_mnist(cfg.split, cfg.data_dir)
        else:
            data = load_mnist_like(cfg.source, cfg.split, cfg.data_dir)
    elif cfg.source == "twemoji":
        data = load_folder(twemoji_folder(), cfg.image_size, cfg.channels)
        data.name = "twemoji"
    elif is_store(cfg.source):
        data = load_store(cfg.source, cfg.image_size, cfg.channels)
    else:
        data = load_folder(cfg.source, cfg.image_size, cfg.channels)
    return data.subset(cfg.limit)
