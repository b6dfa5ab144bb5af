"""Feature extractors for the metrics: the base class and the registry of short names.

Extractors register themselves into it from their own modules — ``mnist-cnn`` and ``fashion-mnist-cnn``
in :mod:`~ganforge.metrics.classifier`, ``efficientnet-lite0`` in :mod:`~ganforge.metrics.efficientnet` —
and nothing here imports them back. Add your own with :func:`register_extractor`, e.g. an Inception
network when you have its weights.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ganforge.data import has_test_split
from ganforge.data.images import ImageData, to_unit_range
from ganforge.errors import UserError


@dataclass
class Extractor:
    """A network that maps uint8 images to features (and, for classifiers, class probabilities).

    Args:
        name: registry name; metrics are named after it (e.g. "FD-mnist-cnn").
        features: (N, C, H, W) float images in [-1, 1] -> (N, feature_dim) features.
        feature_dim: size of the features.
        image_shape: (C, H, W) the extractor takes; other shapes are an error (no silent resizing).
            H = W = 0 means any size (the extractor resizes, as its provenance says); C = 3 then also
            takes grayscale, repeated to RGB.
        probabilities: features -> (N, classes) softmax, when the extractor is a classifier (computed
            from the features, so the network runs once).
        provenance: what a reader needs to reproduce numbers (weights hash, resizer, ...).
        counts_modes: the classes are the modes of a mode-collapse benchmark: evaluations also report
            modes covered and the KL of the mode histogram to uniform.
        batch_size: images per forward pass. Extractors run on the CPU, where small batches are the
            fast ones: a layer's output over 32 MB is mapped and faulted in afresh by glibc's malloc
            on every batch (docs/performance.md). Keep a batch's widest activation well under that.
    """

    name: str
    features: Callable[[torch.Tensor], torch.Tensor]
    feature_dim: int
    image_shape: tuple[int, int, int]
    probabilities: Callable[[torch.Tensor], torch.Tensor] | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    counts_modes: bool = False
    batch_size: int = 64

    @torch.no_grad()
    def run(
        self, images: torch.Tensor, batch_size: int | None = None, probabilities: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """uint8 images (N, C, H, W) -> float64 features and class probabilities (or None), on the CPU,
        ``batch_size`` (default: the extractor's own) at a time."""
        if not self.accepts(tuple(images.shape[1:])):
            wanted = "RGB or grayscale images of any size" if self.image_shape[1] == 0 else self.image_shape
            raise UserError(
                f"extractor {self.name} takes {wanted}, got images shaped {tuple(images.shape[1:])}"
            )
        feats, probs = [], []
        for chunk in images.split(batch_size or self.batch_size):
            f = self.features(to_unit_range(chunk, "cpu"))
            feats.append(f.double())
            if probabilities and self.probabilities is not None:
                probs.append(self.probabilities(f).double())
        return torch.cat(feats), (torch.cat(probs) if probs else None)

    def accepts(self, shape: tuple[int, ...]) -> bool:
        """Whether images of ``shape`` (C, H, W) can be fed."""
        channels, height, _ = self.image_shape
        if height == 0:
            return len(shape) == 3 and shape[0] in (1, channels)
        return shape == self.image_shape


EXTRACTORS: dict[str, Callable[[], Extractor]] = {}


def register_extractor(name: str, factory: Callable[[], Extractor]) -> None:
    """Make ``factory`` available as ``name`` (to ``ganforge eval --extractor`` and the metrics API)."""
    EXTRACTORS[name] = factory


def get_extractor(name: str) -> Extractor:
    """Build a registered extractor."""
    if name not in EXTRACTORS:
        raise UserError(f"unknown extractor '{name}'; choose one of: {', '.join(EXTRACTORS)}")
    return EXTRACTORS[name]()


def default_extractor(dataset: str) -> str:
    """The extractor for a reference dataset name (mnist -> mnist-cnn); folders get efficientnet-lite0."""
    if not has_test_split(dataset):
        return "efficientnet-lite0"
    name = f"{dataset}-cnn"
    if name not in EXTRACTORS:
        raise UserError(
            f"no built-in extractor for '{dataset}'; pass --extractor (one of {', '.join(EXTRACTORS)})"
        )
    return name


def data_sha256(data: ImageData) -> str:
    """sha256 of a dataset's uint8 images (and labels): names the data a number was computed on."""
    digest = hashlib.sha256(data.images.contiguous().numpy().tobytes())
    if data.labels is not None:
        digest.update(data.labels.numpy().tobytes())
    return digest.hexdigest()


def module_extractor(
    name: str,
    module: nn.Module,
    feature_dim: int,
    image_shape: tuple[int, int, int],
    batch_size: int = 64,
) -> Extractor:
    """Wrap any module mapping [-1, 1] images to (N, feature_dim) features (for user registrations);
    ``batch_size`` as in :class:`Extractor` (lower it for a wide network on large images)."""
    module.eval().requires_grad_(False)
    provenance = {"extractor": name, "resizer": "none"}
    return Extractor(name, module, feature_dim, image_shape, provenance=provenance, batch_size=batch_size)
