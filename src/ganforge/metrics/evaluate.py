"""``ganforge eval``: generated images against a reference set, as a table and a JSON record.

Targets: a run directory or checkpoint (samples are drawn from its EMA generator when it has one), a
``.npy`` array of uint8 images, or a folder of images. References: ``mnist:test``-style dataset
splits or a folder. Reference features are computed once and cached, keyed by the data's sha256 and
the extractor's weights hash.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.config import DataConfig
from ganforge.data import SPLIT_SETS, has_test_split, load_data
from ganforge.data.images import ImageData
from ganforge.data.paths import cache_dir
from ganforge.errors import UserError
from ganforge.fileio import atomic_path
from ganforge.latent import cycled_labels, seeded_noise, truncate
from ganforge.metrics.classes import class_stats, mode_stats
from ganforge.metrics.distances import FeatureStats, frechet_distance, kid, near_copies, prdc
from ganforge.metrics.extractors import Extractor, data_sha256, default_extractor, get_extractor
from ganforge.metrics.swd import DESCRIPTION as SWD_DESCRIPTION
from ganforge.metrics.swd import swd
from ganforge.sampling import generate, load_run_generator
from ganforge.version import __version__

PRDC_MAX = 5000  # k-NN metrics need an n x n distance matrix: capped to keep memory near 200 MB
MODE_SAMPLES = 26_000  # what the mode-collapse literature draws for Stacked MNIST (26 per mode)


def default_samples(extractor: Extractor, otherwise: int) -> int:
    """How many images to generate for an evaluation with ``extractor`` when the user gave no number."""
    return MODE_SAMPLES if extractor.counts_modes else otherwise


def training_split(ref_name: str) -> ImageData | None:
    """The training split that goes with a built-in ``name:test`` reference (for the memorisation check)."""
    name, _, split = ref_name.partition(":")
    if has_test_split(name) and split == "test":
        return load_data(_split_config(name, "train"))
    return None


def _split_config(name: str, split: str) -> DataConfig:
    channels, side = SPLIT_SETS[name]
    return DataConfig(source=name, split=split, channels=channels, image_size=side)


def load_reference(ref: str, shape: tuple[int, ...] = (1, 28, 28)) -> tuple[ImageData, str]:
    """``mnist:test``, ``fashion-mnist:train``, ``twemoji`` or a folder (loaded as ``shape`` (C, H, W))."""
    name, _, split = ref.partition(":")
    if has_test_split(name):
        return load_data(_split_config(name, split or "test")), f"{name}:{split or 'test'}"
    if name == "twemoji" or Path(ref).is_dir():
        return load_data(DataConfig(source=ref, channels=shape[0], image_size=shape[1])), ref
    raise UserError(
        f"--against '{ref}' is not a dataset split (mnist:test, fashion-mnist:test, stacked-mnist:test), "
        "twemoji or a folder"
    )


def load_target(
    target: Path, n: int, seed: int, shape: tuple[int, int, int], truncation: float | None = None
) -> tuple[torch.Tensor, torch.Tensor | None, dict[str, Any]]:
    """uint8 images (n, C, H, W) from a run, checkpoint, .npy or folder (+ requested labels, conditional)."""
    if target.suffix == ".npy":
        try:
            array = np.load(target, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:  # object arrays, damaged or non-.npy files
            raise UserError(f"{target} is not a readable array of uint8 images ({exc})") from None
        if array.dtype != np.uint8 or array.ndim not in (3, 4):
            raise UserError(f"{target} must hold uint8 images shaped (N, H, W) or (N, H, W, 3)")
        images = torch.from_numpy(np.ascontiguousarray(array[:n]))
        images = images[:, None] if images.ndim == 3 else images.permute(0, 3, 1, 2)
        return images, None, {"target": str(target), "kind": "npy"}
    if target.is_dir() and not (target / "checkpoints").is_dir() and not (target / "config.json").is_file():
        data = load_data(DataConfig(source=str(target), channels=shape[0], image_size=shape[1]))
        return data.images[:n], None, {"target": str(target), "kind": "folder"}
    generator, cfg, step = load_run_generator(target, torch.device("cpu"))
    noise = truncate(seeded_noise(seed, n, generator.latent_dim), truncation)
    classes = getattr(generator, "num_classes", None)
    requested = cycled_labels(n, classes)
    info = {"target": str(target), "preset": cfg.preset, "step": step}
    if truncation is not None:
        info["truncation"] = truncation
    return generate(generator, noise, requested), requested, info


@dataclass
class Reference:
    """A reference set as the metrics use it: features, their statistics, labels, and what it was."""

    name: str
    sha256: str
    extractor_sha256: str
    features: torch.Tensor
    stats: FeatureStats
    labels: torch.Tensor | None
    # The uint8 images themselves, for the weight-free SWD (None in files saved before it existed).
    images: torch.Tensor | None = None

    def save(self, path: Path) -> None:
        """Write plain tensors and strings (``ganforge eval --against FILE`` reads it back)."""
        state = {
            "format": REFERENCE_FORMAT,
            "name": self.name,
            "sha256": self.sha256,
            "extractor_sha256": self.extractor_sha256,
            "features": self.features,
            "stats": self.stats.to_dict(),
            "labels": self.labels,
            "images": self.images,
        }
        with atomic_path(Path(path)) as tmp:
            torch.save(state, tmp)

    @classmethod
    def load(cls, path: Path) -> Reference:
        """Read what :meth:`save` wrote (weights-only: nothing is unpickled)."""
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # damaged files make torch.load raise many types
            raise UserError(f"{path} is not readable reference statistics ({type(exc).__name__})") from None
        if not isinstance(state, dict) or state.get("format") not in (
            REFERENCE_FORMAT,
            "ganforge-reference-1",
        ):
            raise UserError(f"{path} is not a ganforge reference-statistics file")
        stats = state["stats"]
        return cls(
            state["name"],
            state["sha256"],
            state["extractor_sha256"],
            state["features"],
            FeatureStats(stats["n"], stats["total"], stats["outer"]),
            state["labels"],
            state.get("images"),
        )


REFERENCE_FORMAT = "ganforge-reference-2"


def build_reference(data: ImageData, name: str, extractor: Extractor) -> Reference:
    """Features of every image of ``data``, cached on disk by the data's sha256 and the extractor's hash."""
    digest, weights = data_sha256(data), _extractor_hash(extractor)
    path = cache_dir() / "metrics" / f"{hashlib.sha256(f'{digest}:{weights}'.encode()).hexdigest()[:32]}.pt"
    if path.is_file():
        with contextlib.suppress(UserError):  # a damaged or older cache file is simply recomputed
            cached = Reference.load(path)
            if cached.images is not None:
                return cached
    features, _ = extractor.run(data.images, probabilities=False)
    stats = FeatureStats.empty(extractor.feature_dim)
    stats.update(features)
    reference = Reference(name, digest, weights, features, stats, data.labels, data.images.contiguous())
    reference.save(path)
    return reference


def default_against(source: str) -> str:
    """What a run is measured against by default: a built-in set's test split, else the data itself."""
    return f"{source}:test" if has_test_split(source) else source


def extractor_for(against: str, name: str | None = None) -> Extractor:
    """The extractor ``name``, or the one that suits reference ``against`` (a set, folder or saved file)."""
    if name is None:
        ref_name = Reference.load(Path(against)).name if against.endswith(".pt") else against
        name = default_extractor(ref_name.split(":")[0])
    return get_extractor(name)


def reference_for(against: str, shape: tuple[int, ...], extractor: Extractor) -> Reference:
    """The reference statistics of ``against`` for images shaped ``shape``: a file saved by ``ganforge
    eval --save-reference``, or a dataset split or folder (features cached on disk). ``ganforge eval``
    and ``train --eval-every`` both start here."""
    if against.endswith(".pt"):
        return Reference.load(Path(against))
    data, name = load_reference(against, tuple(shape))
    return build_reference(data, name, extractor)


def _extractor_hash(extractor: Extractor) -> str:
    return str(extractor.provenance.get("weights_sha256", extractor.name))


def evaluate(
    images: torch.Tensor,
    reference: Reference | ImageData,
    extractor: Extractor,
    seed: int = 0,
    requested: torch.Tensor | None = None,
    kid_subsets: int = 100,
    train: Reference | ImageData | None = None,
) -> dict[str, Any]:
    """Every metric of ``images`` against ``reference``; returns {"metrics": {...}, "provenance": {...}}.

    ``kid_subsets`` random subsets of up to 1000 samples each give KID's mean and std. With the
    ``train`` set (which ``reference`` must not be part of) the memorisation check runs too.
    """
    if len(images) < 2:
        raise UserError("evaluation needs at least 2 generated images")
    if isinstance(reference, ImageData):
        reference = build_reference(reference, reference.name, extractor)
    if reference.extractor_sha256 != _extractor_hash(extractor):
        raise UserError(
            f"the reference statistics of {reference.name} were computed with another extractor "
            f"than {extractor.name}; recompute them"
        )
    features, probs = extractor.run(images)
    metrics, n_prdc = _feature_metrics(features, reference, extractor, seed, kid_subsets)
    if reference.images is not None and reference.images.shape[1:] == images.shape[1:]:
        metrics |= swd(images, reference.images, seed=seed)
    if probs is not None:
        metrics |= class_stats(probs, reference.labels, requested)
        if extractor.counts_modes:
            metrics |= mode_stats(probs)
    if train is not None:
        train = build_reference(train, train.name, extractor) if isinstance(train, ImageData) else train
        metrics |= near_copies(features, train.features, reference.features)
    provenance = {
        **extractor.provenance,
        "n_generated": len(images),
        "n_reference": len(reference.features),
        "n_prdc": n_prdc,
        "kid_subsets": f"{kid_subsets} x min(1000, n)",
        "reference_sha256": reference.sha256,
        "seed": seed,
        "swd": SWD_DESCRIPTION if "SWD" in metrics else "not computed (reference saved without its images)",
        "ganforge_version": __version__,
    }
    return {"metrics": metrics, "provenance": provenance}


def _feature_metrics(
    features: torch.Tensor, reference: Reference, extractor: Extractor, seed: int, kid_subsets: int
) -> tuple[dict[str, Any], int]:
    """FD, KID and precision/recall/density/coverage of ``features``; and how many samples PRDC took."""
    stats = FeatureStats.empty(extractor.feature_dim)
    stats.update(features)
    name = extractor.name
    kid_mean, kid_std = kid(features, reference.features, subsets=kid_subsets, seed=seed)
    rng = torch.Generator().manual_seed(seed)
    m = min(PRDC_MAX, len(features), len(reference.features))
    picked_ref = reference.features[torch.randperm(len(reference.features), generator=rng)[:m]]
    picked = features[torch.randperm(len(features), generator=rng)[:m]]
    metrics = {
        f"FD-{name}": frechet_distance(stats, reference.stats),
        f"KID-{name}": kid_mean,
        f"KID-{name}-std": kid_std,
        **prdc(picked_ref, picked),
    }
    return metrics, m


def format_table(record: dict[str, Any]) -> str:
    """The metrics as aligned ``name  value`` lines, then the provenance."""
    rows = []
    for key, value in record["metrics"].items():
        text = f"{value:.4f}" if isinstance(value, float) else str(value)
        rows.append(f"{key:<22} {text}")
    rows.append("")
    rows += [f"{key:<22} {value}" for key, value in record["provenance"].items()]
    return "\n".join(rows)
