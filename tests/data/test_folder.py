import os

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.config import DataConfig
from ganforge.data import folder as folder_mod
from ganforge.data import load_data
from ganforge.data.folder import load_folder
from ganforge.errors import UserError
from tests.conftest import write_images


def test_mixed_formats_and_modes_load_and_corrupt_files_are_skipped(tmp_path):
    write_images(tmp_path / "a", 3, fmt="PNG")
    write_images(tmp_path / "a" / "deep", 2, fmt="JPEG")
    write_images(tmp_path / "b", 2, fmt="WEBP")
    write_images(tmp_path / "b", 1, fmt="BMP", mode="L")
    write_images(tmp_path / "c", 1, fmt="GIF", mode="P")
    Image.new("RGBA", (30, 50), (255, 0, 0, 0)).save(tmp_path / "c" / "transparent.png")
    (tmp_path / "c" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (tmp_path / "c" / "notes.txt").write_text("ignored: not an image extension")
    data = load_folder(tmp_path, image_size=16, channels=3)
    assert len(data) == 10 and data.shape == (3, 16, 16) and data.images.dtype == torch.uint8
    assert len(data.skipped) == 1 and "broken.png" in data.skipped[0]
    # Fully transparent pixels are composited onto white, not left as their hidden colour.
    # (sorted paths put c/transparent.png last)
    assert int(data.images[-1].min()) == 255


def test_grayscale_and_centre_crop(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    img = np.zeros((20, 60), np.uint8)
    img[:, 20:40] = 255  # a white centre square in a wide black image
    Image.fromarray(img, "L").save(tmp_path / "wide.png")
    data = load_folder(tmp_path, image_size=10, channels=1)
    assert data.shape == (1, 10, 10)
    assert data.images.float().mean() > 240  # the crop kept the centre, not the black sides


def test_empty_and_missing_folders_are_clear_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(UserError, match="no images"):
        load_folder(tmp_path / "empty", 16, 3)
    with pytest.raises(UserError, match="does not exist"):
        load_folder(tmp_path / "missing", 16, 3)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.jpg").write_bytes(b"")
    with pytest.raises(UserError, match="none of the 1 image files"):
        load_folder(tmp_path / "bad", 16, 3)


def test_second_load_comes_from_the_cache(tmp_path, monkeypatch):
    write_images(tmp_path / "imgs", 4)
    first = load_folder(tmp_path / "imgs", 8, 3)

    def no_decoding(*_args):
        raise AssertionError("decoded again instead of using the cache")

    monkeypatch.setattr(folder_mod, "decode_image", no_decoding)
    second = load_folder(tmp_path / "imgs", 8, 3)
    assert np.array_equal(first.images.numpy(), second.images.numpy())
    # Touching a file changes the key, so the folder is decoded again.
    os.utime(tmp_path / "imgs" / "img000.png", ns=(1, 1))
    with pytest.raises(AssertionError, match="decoded again"):
        load_folder(tmp_path / "imgs", 8, 3)


def test_sub_folders_become_labels(tmp_path):
    write_images(tmp_path / "cats", 2)
    write_images(tmp_path / "dogs", 3)
    data = load_folder(tmp_path, 8, 3)
    assert data.class_names == ["cats", "dogs"] and data.labels.tolist() == [0, 0, 1, 1, 1]


def test_load_data_routes_and_limits(tmp_path):
    write_images(tmp_path / "f", 5)
    data = load_data(DataConfig(source=str(tmp_path / "f"), channels=1, image_size=28, limit=3))
    assert len(data) == 3 and data.shape == (1, 28, 28)
    with pytest.raises(UserError, match="28x28 grayscale"):
        load_data(DataConfig(source="mnist", image_size=32))
