"""``ganforge eval``: generated images against a reference set, as a table and a JSON record.

Targets: a run directory or checkpoint (samples are drawn from its EMA generator when it has one), a
``.npy`` array of uint8 images, or a folder of images. References: ``mnist:test``-style dataset
splits or a folder. Reference features are computed once and cached, keyed by the data's sha256 and
the extractor's weights hash.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge import __version__
from ganforge.config import DataConfig
from ganforge.data import BUILTIN, load_data
from ganforge.data.images import ImageData
from ganforge.data.paths import cache_dir
from ganforge.errors import UserError
from ganforge.fileio import atomic_path
from ganforge.metrics.classes import class_stats
from ganforge.metrics.distances import FeatureStats, frechet_distance, kid, prdc
from ganforge.metrics.extractors import Extractor, data_sha256
from ganforge.sampling import generate, load_generator

PRDC_MAX = 5000  # k-NN metrics need an n x n distance matrix: capped to keep memory near 200 MB


def load_reference(ref: str) -> tuple[ImageData, str]:
    """``mnist:test``, ``fashion-mnist:train``, or a folder (28x28 grayscale is assumed for folders)."""
    name, _, split = ref.partition(":")
    if name in BUILTIN:
        return load_data(DataConfig(source=name, split=split or "test")), f"{name}:{split or 'test'}"
    if Path(ref).is_dir():
        return load_data(DataConfig(source=ref)), ref
    raise UserError(
        f"--against '{ref}' is neither a dataset split (mnist:test, fashion-mnist:test) nor a folder"
    )


def load_target(
    target: Path, n: int, seed: int, shape: tuple[int, int, int]
) -> tuple[torch.Tensor, torch.Tensor | None, dict[str, Any]]:
    """uint8 images (n, C, H, W) from a run, checkpoint, .npy or folder (+ requested labels, conditional)."""
    if target.suffix == ".npy":
        array = np.load(target, allow_pickle=False)
        if array.dtype != np.uint8 or array.ndim not in (3, 4):
            raise UserError(f"{target} must hold uint8 images shaped (N, H, W) or (N, H, W, 3)")
        images = torch.from_numpy(np.ascontiguousarray(array[:n]))
        images = images[:, None] if images.ndim == 3 else images.permute(0, 3, 1, 2)
        return images, None, {"target": str(target), "kind": "npy"}
    if target.is_dir() and not (target / "checkpoints").is_dir() and not (target / "config.json").is_file():
        data = load_data(DataConfig(source=str(target), channels=shape[0], image_size=shape[1]))
        return data.images[:n], None, {"target": str(target), "kind": "folder"}
    generator, cfg = load_generator(target, torch.device("cpu"))
    noise = torch.randn(n, generator.latent_dim, generator=torch.Generator().manual_seed(seed))
    classes = getattr(generator, "num_classes", None)
    requested = torch.arange(n) % classes if classes else None
    return generate(generator, noise, requested), requested, {"target": str(target), "preset": cfg.preset}


def reference_features(reference: ImageData, extractor: Extractor) -> tuple[torch.Tensor, FeatureStats]:
    """Features and statistics of the whole reference set, cached on disk."""
    key = hashlib.sha256(
        f"{data_sha256(reference)}:{extractor.provenance.get('weights_sha256', extractor.name)}".encode()
    ).hexdigest()[:32]
    path = cache_dir() / "metrics" / f"{key}.pt"
    if path.is_file():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        stats = FeatureStats(saved["n"], saved["total"], saved["outer"])
        return saved["features"], stats
    features, _ = extractor.run(reference.images)
    stats = FeatureStats.empty(extractor.feature_dim)
    stats.update(features)
    with atomic_path(path) as tmp:
        torch.save({"features": features, **stats.to_dict()}, tmp)
    return features, stats


def evaluate(
    images: torch.Tensor,
    reference: ImageData,
    extractor: Extractor,
    seed: int = 0,
    requested: torch.Tensor | None = None,
) -> dict[str, Any]:
    """Every metric of ``images`` against ``reference``; returns {"metrics": {...}, "provenance": {...}}."""
    if len(images) < 2:
        raise UserError("evaluation needs at least 2 generated images")
    ref_features, ref_stats = reference_features(reference, extractor)
    features, probs = extractor.run(images)
    stats = FeatureStats.empty(extractor.feature_dim)
    stats.update(features)
    name = extractor.name
    kid_mean, kid_std = kid(features, ref_features, seed=seed)
    rng = torch.Generator().manual_seed(seed)
    m = min(PRDC_MAX, len(features), len(ref_features))
    picked_ref = ref_features[torch.randperm(len(ref_features), generator=rng)[:m]]
    picked = features[torch.randperm(len(features), generator=rng)[:m]]
    metrics: dict[str, Any] = {
        f"FD-{name}": frechet_distance(stats, ref_stats),
        f"KID-{name}": kid_mean,
        f"KID-{name}-std": kid_std,
        **prdc(picked_ref, picked),
    }
    if probs is not None:
        metrics |= class_stats(probs, reference.labels, requested)
    provenance = {
        **extractor.provenance,
        "n_generated": len(images),
        "n_reference": len(ref_features),
        "n_prdc": m,
        "kid_subsets": "100 x min(1000, n)",
        "reference_sha256": data_sha256(reference),
        "seed": seed,
        "ganforge_version": __version__,
    }
    return {"metrics": metrics, "provenance": provenance}


def format_table(record: dict[str, Any]) -> str:
    """The metrics as aligned ``name  value`` lines, then the provenance."""
    rows = []
    for key, value in record["metrics"].items():
        text = f"{value:.4f}" if isinstance(value, float) else str(value)
        rows.append(f"{key:<22} {text}")
    rows.append("")
    rows += [f"{key:<22} {value}" for key, value in record["provenance"].items()]
    return "\n".join(rows)
