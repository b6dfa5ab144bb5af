"""Broken, strange and hostile image files: each one is loaded correctly or skipped with a reason."""

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from ganforge.data import folder as folder_mod
from ganforge.data.folder import load_folder
from ganforge.errors import UserError


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bomb(side: int) -> bytes:
    """A 100-byte PNG that declares side x side pixels."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\0" * 64))


def _animated_gif() -> bytes:
    frames = [Image.new("L", (20, 20), v) for v in (255, 0, 0)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    return buffer.getvalue()


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


GOOD = {
    # name -> (file bytes, expected mean grey level of the 8x8 grayscale result)
    "sixteen_bit.png": (_png_bytes(Image.fromarray(np.full((20, 20), 65535, np.uint16))), 255),
    "cmyk.jpg": (_jpeg(Image.new("CMYK", (20, 20), (0, 0, 0, 0))), 255),
    "animated.gif": (_animated_gif(), 255),  # the first frame (white), not a later one
    "palette_alpha.png": (None, 255),  # written below: transparent palette entry -> white
    "grey_alpha.png": (_png_bytes(Image.new("LA", (20, 20), (0, 0))), 255),
}

BAD = {
    "zero_bytes.png": b"",
    "truncated.png": _png_bytes(Image.effect_noise((64, 64), 50))[:300],
    "truncated.jpg": _jpeg(Image.effect_noise((64, 64), 50))[:400],
    "not_an_image.jpg": b"this is a text file with an image extension\n" * 4,
    "bomb.png": _bomb(100_000),  # Pillow's own limit refuses it when opening
    "bomb_mid.png": _bomb(9_000),  # under Pillow's limit, over ganforge's: refused before decoding
}


def _palette_with_alpha() -> Image.Image:
    image = Image.new("P", (20, 20), 0)
    image.putpalette([0, 0, 0] * 256)
    image.info["transparency"] = 0
    return image


def make_hostile_folder(root: Path) -> None:
    """Every GOOD and BAD file, a symlink to itself, a FIFO and a directory loop, in ``root``."""
    root.mkdir()
    for name, (content, _) in GOOD.items():
        if content is None:
            _palette_with_alpha().save(root / name, transparency=0)
        else:
            (root / name).write_bytes(content)
    for name, content in BAD.items():
        (root / name).write_bytes(content)
    os.symlink("loop.png", root / "loop.png")  # a symlink to itself
    os.mkfifo(root / "pipe.png")  # opening it for reading would block forever
    os.symlink(".", root / "dir_loop")  # a directory loop: never followed


def test_every_kind_of_bad_file_is_skipped_with_a_reason(tmp_path):
    root = tmp_path / "images"
    make_hostile_folder(root)
    (root / os.fsdecode(b"caf\xe9.png")).write_bytes(GOOD["sixteen_bit.png"][0])  # non-UTF-8 name

    data = load_folder(root, image_size=8, channels=1)

    assert len(data) == len(GOOD) + 1
    means = data.images.float().mean(dim=(1, 2, 3))
    assert means.min() > 250, means  # every good file decoded to the expected white image
    reasons = dict(line.split(": ", 1) for line in data.skipped)
    assert set(reasons) == {*BAD, "loop.png", "pipe.png"}
    assert "DecompressionBombError" in reasons["bomb.png"]
    assert "too large: declares 9000x9000" in reasons["bomb_mid.png"]
    assert reasons["pipe.png"] == "not a regular file"
    assert "UnidentifiedImageError" in reasons["not_an_image.jpg"]
    assert all("\n" not in r for r in reasons.values())


def test_an_unreadable_file_is_skipped(tmp_path, monkeypatch):
    root = tmp_path / "images"
    root.mkdir()
    for i in range(3):
        (root / f"ok{i}.png").write_bytes(GOOD["sixteen_bit.png"][0])
    (root / "secret.png").write_bytes(GOOD["sixteen_bit.png"][0])
    os.chmod(root / "secret.png", 0)
    if os.geteuid() == 0:  # root reads through chmod 000: make open() fail the way it would for a user
        real_open = folder_mod.Image.open

        def guarded(path, *args, **kwargs):
            if str(path).endswith("secret.png"):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(folder_mod.Image, "open", guarded)
    data = load_folder(root, image_size=8, channels=3)
    assert len(data) == 3
    assert data.skipped == [
        "secret.png: PermissionError: [Errno 13] Permission denied: " + repr(str(root / "secret.png"))
    ]


def test_a_folder_of_only_bad_files_is_one_clear_error(tmp_path):
    for name, content in BAD.items():
        (tmp_path / name).write_bytes(content)
    with pytest.raises(UserError, match=r"none of the 6 image files under .* could be read \(first: "):
        load_folder(tmp_path, image_size=8, channels=3)


_VALID = [
    _png_bytes(Image.effect_noise((24, 24), 40)),
    _jpeg(Image.effect_noise((24, 24), 40).convert("RGB")),
    _animated_gif(),
]


@st.composite
def damaged_files(draw):
    """Valid PNG/JPEG/GIF bytes, truncated and with bytes overwritten, or pure noise."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=600))
    data = bytearray(draw(st.sampled_from(_VALID)))
    for _ in range(draw(st.integers(0, 6))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(0, len(data)))])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.tuples(st.sampled_from(sorted(folder_mod.EXTENSIONS)), damaged_files()), max_size=6))
def test_fuzzed_folders_load_or_fail_with_a_user_error(tmp_path_factory, files):
    root = tmp_path_factory.mktemp("fuzz")
    (root / "anchor.png").write_bytes(_VALID[0])  # one good image, so a result is possible
    for i, (ext, content) in enumerate(files):
        (root / f"f{i}{ext}").write_bytes(content)
    data = load_folder(root, image_size=8, channels=3)  # must not raise anything
    assert data.images.shape[1:] == (3, 8, 8)
    assert len(data) + len(data.skipped) == len(files) + 1
