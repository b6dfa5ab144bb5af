"""Hostile image folders: every kind of broken, odd or dangerous file that ganforge must skip or read.

Used by ``tests/data/test_hostile_inputs.py`` (which asserts on the outcome) and
``benchmarks/hostile_inputs.py`` (which prints it).
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bomb(side: int) -> bytes:
    """A 100-byte PNG that declares side x side pixels."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\0" * 64))


def animated_gif() -> bytes:
    frames = [Image.new("L", (20, 20), v) for v in (255, 0, 0)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    return buffer.getvalue()


def jpeg_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


GOOD = {
    # name -> (file bytes, expected mean grey level of the 8x8 grayscale result)
    "sixteen_bit.png": (png_bytes(Image.fromarray(np.full((20, 20), 65535, np.uint16))), 255),
    "cmyk.jpg": (jpeg_bytes(Image.new("CMYK", (20, 20), (0, 0, 0, 0))), 255),
    "animated.gif": (animated_gif(), 255),  # the first frame (white), not a later one
    "palette_alpha.png": (None, 255),  # written below: transparent palette entry -> white
    "grey_alpha.png": (png_bytes(Image.new("LA", (20, 20), (0, 0))), 255),
}

BAD = {
    "zero_bytes.png": b"",
    "truncated.png": png_bytes(Image.effect_noise((64, 64), 50))[:300],
    "truncated.jpg": jpeg_bytes(Image.effect_noise((64, 64), 50))[:400],
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
