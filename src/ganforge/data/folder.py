"""Any folder of images as a training set: decoded once, resized, cached on disk as uint8.

Files are found recursively (PNG, JPEG, WebP, BMP, GIF), converted to RGB or grayscale (transparent
pixels composited onto white), resized so the shorter side fits and centre-cropped to a square.
Unreadable files are skipped and reported. When every image sits in a first-level sub-folder and there
are at least two, the sub-folder names become class labels.

The decoded array is cached under ``<cache>/folders/`` keyed by the file list, sizes, mtimes and the
target shape, and memory-mapped from there, so a second run starts in seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganforge.data.images import ImageData, from_numpy_nhwc
from ganforge.data.paths import cache_dir
from ganforge.errors import UserError
from ganforge.fileio import atomic_path, write_atomic

EXTENSIONS = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"}
_CACHE_FORMAT = 1
# Declared sizes above this are refused before decoding: a few hundred bytes can claim gigapixels.
MAX_PIXELS = 50_000_000


def load_folder(folder: str | Path, image_size: int, channels: int) -> ImageData:
    """Load every image under ``folder`` as uint8 (N, channels, image_size, image_size).

    Raises:
        UserError: the folder is missing, holds no images, or none of them can be read.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise UserError(f"image folder {folder} does not exist (or is not a folder)")
    if channels not in (1, 3):
        raise UserError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels}")
    files = scan_images(root)
    if not files:
        raise UserError(f"no images ({', '.join(sorted(EXTENSIONS))}) found under {root}")
    key = _cache_key(root, files, image_size, channels)
    array_path = cache_dir() / "folders" / f"{key}.npy"
    meta_path = array_path.with_suffix(".json")
    if not (array_path.is_file() and meta_path.is_file()):
        _decode_into_cache(root, files, image_size, channels, array_path, meta_path)
    meta = json.loads(meta_path.read_text())
    # Copy-on-write map: pages are read from disk on demand and never written back.
    array = np.load(array_path, mmap_mode="c")
    labels = None if meta["labels"] is None else torch.tensor(meta["labels"], dtype=torch.int64)
    return ImageData(from_numpy_nhwc(array), labels, str(root), meta["class_names"], meta["skipped"])


def scan_images(root: Path) -> list[str]:
    found = []
    # followlinks=False: a symlink loop cannot trap the walk.
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in filenames:
            if Path(name).suffix.lower() in EXTENSIONS:
                found.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(found)


def _cache_key(root: Path, files: list[str], image_size: int, channels: int) -> str:
    digest = hashlib.sha256(f"{_CACHE_FORMAT}:{image_size}:{channels}".encode())
    for rel in files:
        try:
            st = (root / rel).stat()
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            stamp = "unreadable"
        digest.update(os.fsencode(rel) + b"\0" + stamp.encode() + b"\n")
    return digest.hexdigest()[:32]


def _decode_into_cache(
    root: Path, files: list[str], size: int, channels: int, array_path: Path, meta_path: Path
) -> None:
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        decoded = list(pool.map(lambda rel: decode_image(root / rel, size, channels), files, chunksize=64))
    good = [(rel, img) for rel, img in zip(files, decoded, strict=True) if isinstance(img, np.ndarray)]
    skipped = [
        printable(f"{rel}: {err}")[:300]
        for rel, err in zip(files, decoded, strict=True)
        if isinstance(err, str)
    ]
    if not good:
        raise UserError(
            f"none of the {len(files)} image files under {root} could be read (first: {skipped[0]})"
        )
    array = np.stack([img for _, img in good])
    labels, class_names = folder_labels([rel for rel, _ in good])
    with atomic_path(array_path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)
    meta = {"root": str(root), "labels": labels, "class_names": class_names, "skipped": skipped}
    write_atomic(meta_path, json.dumps(meta).encode())


def decode_image(path: Path, size: int, channels: int) -> np.ndarray | str:
    """One file -> (size, size, channels) uint8, or a short reason it could not be read."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return "not a regular file"  # a FIFO or device would block or never end
        with Image.open(path) as img:
            if img.size[0] * img.size[1] > MAX_PIXELS:
                return f"too large: declares {img.size[0]}x{img.size[1]} pixels (limit {MAX_PIXELS:,})"
            img.seek(0)  # animated GIF/WebP: first frame
            img = _to_mode(img, "RGB" if channels == 3 else "L")
            w, h = img.size
            side = min(w, h)
            box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
            img = img.resize((size, size), Image.Resampling.LANCZOS, box=box)
            array = np.asarray(img, dtype=np.uint8)
    except Exception as exc:  # PIL raises many types for broken files; each is a skip, not a crash
        return f"{type(exc).__name__}: {exc}"
    return array.reshape(size, size, channels)


GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


def guess_channels(root: Path, look_at: int = 16) -> int:
    """1 when the first ``look_at`` readable images of a folder are all grayscale, else 3.

    Grayscale means a grey mode, or RGB(A)/palette pixels whose three channels are equal (greyscale
    images saved as RGB are common). Unreadable files are passed over; an empty folder gives 3.
    """
    seen = 0
    for name in scan_images(root):
        try:
            with Image.open(root / name) as img:
                img.seek(0)
                if img.mode not in GRAY_MODES:
                    rgb = np.asarray(img.convert("RGB").resize((32, 32)), dtype=np.int16)
                    if np.abs(rgb - rgb[..., :1]).max() > 2:
                        return 3
        except Exception:  # a broken file says nothing about the others
            continue
        seen += 1
        if seen >= look_at:
            break
    return 1 if seen else 3


def _to_mode(img: Image.Image, mode: str) -> Image.Image:
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):
        # 16/32-bit: scale to 8 bits instead of letting convert() clip everything above 255.
        data = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if img.mode.startswith("I") and data.max() > 255 else 255.0
        img = Image.fromarray(np.clip(data / peak * 255 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return img.convert(mode)


def folder_labels(files: list[str]) -> tuple[list[int] | None, list[str] | None]:
    parts = [Path(rel).parts for rel in files]
    if any(len(p) < 2 for p in parts):
        return None, None
    class_names = sorted({p[0] for p in parts})
    if len(class_names) < 2:
        return None, None
    index = {name: i for i, name in enumerate(class_names)}
    return [index[p[0]] for p in parts], [printable(n) for n in class_names]


def printable(text: str) -> str:
    # Non-UTF-8 file names arrive as surrogate escapes: show their bytes instead of failing to print.
    # Control characters (a newline in a file name) are escaped so that one entry stays one line.
    text = os.fsencode(text).decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
