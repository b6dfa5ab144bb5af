"""Datasets: every source becomes an :class:`ImageData` of uint8 images."""

from __future__ import annotations

from ganforge.config import DataConfig
from ganforge.data.folder import load_folder
from ganforge.data.images import ImageData, to_uint8, to_unit_range
from ganforge.data.mnist import SPECS, load_mnist_like
from ganforge.data.store import is_store, load_store
from ganforge.data.twemoji import twemoji_folder
from ganforge.errors import UserError

BUILTIN = (*SPECS, "twemoji")

__all__ = ["BUILTIN", "ImageData", "load_data", "to_uint8", "to_unit_range"]


def load_data(cfg: DataConfig) -> ImageData:
    """Load the dataset a :class:`DataConfig` names, shaped as the config asks."""
    if cfg.source in SPECS:
        if (cfg.channels, cfg.image_size) != (1, 28):
            raise UserError(
                f"{cfg.source} images are 28x28 grayscale; the model asks for "
                f"{cfg.image_size}x{cfg.image_size} with {cfg.channels} channel(s)"
            )
        data = load_mnist_like(cfg.source, cfg.split, cfg.data_dir)
    elif cfg.source == "twemoji":
        data = load_folder(twemoji_folder(), cfg.image_size, cfg.channels)
        data.name = "twemoji"
    elif is_store(cfg.source):
        data = load_store(cfg.source, cfg.image_size, cfg.channels)
    else:
        data = load_folder(cfg.source, cfg.image_size, cfg.channels)
    return data.subset(cfg.limit)
