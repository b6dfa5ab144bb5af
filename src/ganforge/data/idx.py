"""Reader for the idx format of MNIST-style datasets (plain or gzip-compressed).

Every size is checked against the header, so a truncated or corrupt file raises a clear
:class:`~ganforge.errors.UserError` instead of yielding garbage.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from ganforge.errors import UserError

_UBYTE = 0x08


def read_idx_bytes(path: Path) -> bytes:
    """The file's decompressed content (gzip detected by its magic bytes, not its name)."""
    raw = Path(path).read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise UserError(f"{path} is a damaged gzip file ({exc}); delete it and fetch it again") from None


def parse_idx(content: bytes, source: str = "idx data") -> np.ndarray:
    """Parse idx bytes into a uint8 array shaped as the header says.

    Args:
        content: the decompressed file content.
        source: a name for error messages (usually the path).
    """
    if len(content) < 4:
        raise UserError(f"{source} is too short to be an idx file ({len(content)} bytes)")
    zero, dtype, ndim = struct.unpack(">HBB", content[:4])
    if zero != 0 or dtype != _UBYTE or not 1 <= ndim <= 4:
        raise UserError(
            f"{source} is not an unsigned-byte idx file (magic {content[:4].hex()}); "
            "expected e.g. train-images-idx3-ubyte"
        )
    header = 4 + 4 * ndim
    if len(content) < header:
        raise UserError(f"{source} is truncated inside its header")
    shape = struct.unpack(f">{ndim}I", content[4:header])
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(content) != expected:
        state = "truncated" if len(content) < expected else "longer than its header says"
        raise UserError(
            f"{source} is {state}: header {shape} needs {expected} bytes, file has {len(content)}; "
            "delete it and fetch it again"
        )
    return np.frombuffer(content, dtype=np.uint8, offset=header).reshape(shape)


def read_idx(path: Path) -> np.ndarray:
    """Read a plain or gzip idx file into a uint8 array."""
    return parse_idx(read_idx_bytes(path), str(path))


def encode_idx(array: np.ndarray) -> bytes:
    """Encode a uint8 array as idx bytes (the inverse of :func:`parse_idx`)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, _UBYTE, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()
