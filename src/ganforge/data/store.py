"""Datasets larger than memory: ``ganforge prepare`` writes a folder of images once into uint8 shards.

Layout of a store directory::

    manifest.json            format, image size and channels, counts, skipped files, class names,
                             each shard's file, image count and sha256, how long preparing took
    shards/shard-00000.npy   (n, H, W, C) uint8, at most ``shard_size`` images each (NumPy .npy)
    shards/shard-00000.json  that shard's record, labels and skipped files (written after the .npy,
                             so an interrupted prepare redoes only the shards without one)

Decoding runs in a process pool over all cores; the parent writes one shard at a time, so memory stays
at about one shard whatever the size of the folder. Training maps the shards read-only and gathers each
batch from them (:class:`ShardedImages`); every process reads only the images of its share of each epoch.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

from ganforge.data.folder import decode_image, folder_labels, printable, scan_images
from ganforge.data.images import ImageData
from ganforge.errors import UserError
from ganforge.fileio import atomic_path, write_atomic

FORMAT = "ganforge-store"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CHUNK = 256  # files per decoding task: large enough to amortise the inter-process transfer


def is_store(path: str | Path) -> bool:
    """Whether ``path`` is a directory written by ``ganforge prepare``."""
    return (Path(path) / MANIFEST).is_file()


def prepare(
    folder: str | Path,
    out: str | Path,
    image_size: int,
    channels: int = 3,
    shard_size: int = 10_000,
    workers: int | None = None,
    report: Callable[[str], None] = print,
) -> dict:
    """Decode, convert and resize every image under ``folder`` into a sharded uint8 store at ``out``.

    Resumable: shards finished by an interrupted run are kept (checked against their sha256) and only
    the rest are decoded. Returns the manifest.

    Raises:
        UserError: the folder holds no images, ``out`` holds a store of other settings, or nothing decodes.
    """
    root, out = Path(folder).expanduser(), Path(out)
    if not root.is_dir():
        raise UserError(f"image folder {folder} does not exist (or is not a folder)")
    if image_size <= 0 or channels not in (1, 3) or shard_size <= 0:
        raise UserError("--size and --shard-size must be positive and --channels 1 or 3")
    files = scan_images(root)
    if not files:
        raise UserError(f"no images found under {root}")
    plan = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "source": str(root),
        "image_size": image_size,
        "channels": channels,
        "shard_size": shard_size,
        "files": len(files),
        "files_sha256": hashlib.sha256("\n".join(files).encode("utf-8", "surrogateescape")).hexdigest(),
    }
    _check_plan(out, plan)
    workers = workers or os.cpu_count() or 1
    start, shards = time.monotonic(), []
    with ProcessPoolExecutor(workers) as pool:
        for s, first in enumerate(range(0, len(files), shard_size)):
            part = files[first : first + shard_size]
            record = _finished_shard(out, s) or _write_shard(pool, root, out, s, part, image_size, channels)
            shards.append(record)
            done = first + len(part)
            rate = done / max(time.monotonic() - start, 1e-9)
            report(
                f"shard {s + 1}/{-(-len(files) // shard_size)}: {done}/{len(files)} files, {rate:.0f} files/s"
            )
    return _write_manifest(out, plan, shards, files, workers, time.monotonic() - start)


def _check_plan(out: Path, plan: dict) -> None:
    plan_file = out / "plan.json"
    if plan_file.is_file():
        old = json.loads(plan_file.read_text())
        if old != plan:
            changed = next(k for k in plan if old.get(k) != plan[k])
            raise UserError(
                f"{out} holds a store prepared with another {changed} ({old.get(changed)!r}, now "
                f"{plan[changed]!r}); use another --out or delete it"
            )
        return
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file; give --out a new or empty folder")
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} exists and is not a ganforge store in progress; use another --out")
    (out / "shards").mkdir(parents=True, exist_ok=True)
    write_atomic(plan_file, json.dumps(plan, indent=1).encode())


def _finished_shard(out: Path, s: int) -> dict | None:
    record_file = out / "shards" / f"shard-{s:05d}.json"
    if not record_file.is_file():
        return None
    record = json.loads(record_file.read_text())
    if _sha256(out / record["file"]) != record["sha256"]:
        return None  # damaged after it was written: decode it again
    return record


def _write_shard(
    pool: ProcessPoolExecutor, root: Path, out: Path, s: int, part: list[str], size: int, channels: int
) -> dict:
    chunks = [part[i : i + CHUNK] for i in range(0, len(part), CHUNK)]
    arrays, good, skipped = [], [], []
    for names, (array, ok, bad) in zip(
        chunks, pool.map(_decode_chunk, [(root, c, size, channels) for c in chunks]), strict=True
    ):
        arrays.append(array)
        good += [n for n, keep in zip(names, ok, strict=True) if keep]
        skipped += bad
    images = np.concatenate(arrays) if arrays else np.zeros((0, size, size, channels), np.uint8)
    rel = f"shards/shard-{s:05d}.npy"
    with atomic_path(out / rel) as tmp, open(tmp, "wb") as f:
        np.save(f, images)
    record = {
        "file": rel,
        "images": len(images),
        "sha256": _sha256(out / rel),
        "good": good,
        "skipped": skipped,
    }
    write_atomic(out / "shards" / f"shard-{s:05d}.json", json.dumps(record).encode())
    return record


def _decode_chunk(task: tuple[Path, list[str], int, int]) -> tuple[np.ndarray, list[bool], list[str]]:
    root, names, size, channels = task
    images, ok, skipped = [], [], []
    for name in names:
        result = decode_image(root / name, size, channels)
        ok.append(isinstance(result, np.ndarray))
        if ok[-1]:
            images.append(result)
        else:
            skipped.append(printable(f"{name}: {result}")[:300])
    array = np.stack(images) if images else np.zeros((0, size, size, channels), np.uint8)
    return array, ok, skipped


def _write_manifest(
    out: Path, plan: dict, shards: list[dict], files: list[str], workers: int, seconds: float
) -> dict:
    good = [name for record in shards for name in record["good"]]
    if not good:
        raise UserError(f"none of the {len(files)} files under {plan['source']} could be read")
    labels, class_names = folder_labels(good)
    manifest = {
        **plan,
        "images": len(good),
        "skipped": [entry for record in shards for entry in record["skipped"]],
        "class_names": class_names,
        "shards": [{k: r[k] for k in ("file", "images", "sha256")} for r in shards],
        "prepared": {
            "workers": workers,
            "seconds": round(seconds, 1),
            "files_per_s": round(len(files) / seconds, 1),
        },
    }
    if labels is not None:
        np.save(out / "labels.npy", np.asarray(labels, dtype=np.int64))
    write_atomic(out / MANIFEST, json.dumps(manifest, indent=1).encode())
    return manifest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


# ----- reading ---------------------------------------------------------------------------------------


class ShardedImages:
    """The images of a store as one (N, C, H, W) uint8 sequence, gathered from memory-mapped shards.

    Indexing with a tensor of indices (or a slice) returns a uint8 tensor. The pages a gather mapped are
    dropped from this process after every ``release_every`` gathers, so resident memory stays flat however
    much of the store an epoch touches; the kernel's page cache still keeps what it can. Why after every
    gather: the kernel maps whole cached folios around each touched image, so 200 random batches of 256
    64x64 images left 8.8 GB resident (measured, docs/distributed.md); dropping them costs ~1.5 ms a batch.
    """

    def __init__(self, paths: list[Path], counts: list[int], release_every: int = 1) -> None:
        if not paths:
            raise UserError("the store holds no images; prepare it again from a folder with images")
        self._maps = [_ShardMap(p) for p in paths]
        self._ends = np.cumsum(counts)
        self._starts = self._ends - np.asarray(counts)
        h, w, c = self._maps[0].array.shape[1:]
        self.shape = torch.Size((int(self._ends[-1]), c, h, w))
        self.dtype = torch.uint8
        self.release_every, self._gathers = release_every, 0

    def head(self, n: int) -> ShardedImages:
        """The first ``n`` images, still on disk (what ``--limit`` uses)."""
        view = object.__new__(ShardedImages)
        view.__dict__.update(self.__dict__)
        view.shape = torch.Size((min(n, len(self)), *self.shape[1:]))
        return view

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: torch.Tensor | slice | int) -> torch.Tensor:
        if isinstance(index, slice):
            if index.start in (None, 0) and index.step in (None, 1) and index.stop is not None:
                return self.head(index.stop)  # type: ignore[return-value]
            index = torch.arange(len(self))[index]
        idx = torch.as_tensor(index, dtype=torch.int64).reshape(-1).numpy()
        if len(idx) and (idx.min() < 0 or idx.max() >= len(self)):
            raise IndexError(f"image index out of range for a store of {len(self)} images")
        shard = np.searchsorted(self._ends, idx, side="right")
        out = np.empty((len(idx), self.shape[2], self.shape[3], self.shape[1]), dtype=np.uint8)
        for s in np.unique(shard):
            where = np.nonzero(shard == s)[0]
            out[where] = self._maps[s].array[idx[where] - self._starts[s]]
        self._gathers += 1
        if self._gathers % self.release_every == 0:
            for m in self._maps:
                m.release()
        images = torch.from_numpy(out).permute(0, 3, 1, 2)  # (N, C, H, W) view of NHWC bytes
        return images[0] if isinstance(index, int) else images


class _ShardMap:
    """One shard mapped read-only, with a way to drop its pages from this process's resident set."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as f:
            major, _ = np.lib.format.read_magic(f)
            read_header = (
                np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(f)
            offset = f.tell()
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if dtype != np.uint8 or len(shape) != 4:
            raise UserError(f"{path} is not a ganforge shard (uint8 N x H x W x C); prepare the store again")
        self.array = np.frombuffer(self._map, dtype=np.uint8, offset=offset).reshape(shape)

    def release(self) -> None:
        if hasattr(mmap, "MADV_DONTNEED"):
            self._map.madvise(mmap.MADV_DONTNEED)


def store_shape(path: str | Path) -> tuple[int, int]:
    """(channels, image_size) a store was prepared at."""
    manifest = json.loads((Path(path) / MANIFEST).read_text())
    return int(manifest["channels"]), int(manifest["image_size"])


def load_store(path: str | Path, image_size: int, channels: int) -> ImageData:
    """A prepared store as :class:`ImageData` whose images stay on disk.

    Raises:
        UserError: not a store, another format version, or prepared at another size / channel count.
    """
    root = Path(path)
    manifest = json.loads((root / MANIFEST).read_text())
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise UserError(
            f"{root} is not a ganforge store of format version {FORMAT_VERSION}; prepare it again"
        )
    if (manifest["image_size"], manifest["channels"]) != (image_size, channels):
        raise UserError(
            f"{root} was prepared at {manifest['image_size']}x{manifest['image_size']} with "
            f"{manifest['channels']} channel(s); the model asks for {image_size}x{image_size} with "
            f"{channels}: run ganforge prepare again with --size {image_size} --channels {channels}"
        )
    shards = [s for s in manifest["shards"] if s["images"]]
    images = ShardedImages([root / s["file"] for s in shards], [s["images"] for s in shards])
    labels_file = root / "labels.npy"
    labels = torch.from_numpy(np.load(labels_file)) if labels_file.is_file() else None
    return ImageData(images, labels, str(root), manifest["class_names"], manifest["skipped"])  # type: ignore[arg-type]
