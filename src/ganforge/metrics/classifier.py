"""Small CNN classifiers for 28x28 grayscale datasets: the feature extractors of MNIST-like metrics.

Inception features are meaningless on 28x28 digits; a classifier trained on the domain itself gives
features (its penultimate layer, 128-d) and class probabilities that mean something there. Weights are
trained by ``scripts/train_classifier.py`` and committed with a provenance record next to them.

``stacked-mnist-cnn`` reads each channel of a Stacked MNIST image with the MNIST classifier: its
features are the three channels' features side by side (384-d), its classes the 1000 digit triples,
with p(mode) = p_red(d1) p_green(d2) p_blue(d3) (the benchmark's protocol: one digit per channel).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from torch import nn

from ganforge.errors import UserError
from ganforge.metrics.extractors import Extractor, register_extractor


class DigitCNN(nn.Module):
    """Three conv blocks and two dense layers, about 131k parameters.

    Input: float images in [-1, 1], (N, 1, 28, 28). ``features`` returns the 128-d penultimate layer,
    ``forward`` the 10 class logits.
    """

    feature_dim = 128
    num_classes = 10

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _block(1, 32),  # (N, 32, 14, 14)
            _block(32, 64),  # (N, 64, 7, 7)
            _block(64, 64),  # (N, 64, 3, 3)
            nn.Flatten(),  # (N, 576)
            nn.Linear(576, 128),
            nn.ReLU(),  # (N, 128): the features
        )
        self.head = nn.Linear(128, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer activations, (N, 128)."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))


WEIGHTS_DIR = Path(__file__).parent / "weights"


def _classifier(dataset: str) -> Extractor:
    weights = WEIGHTS_DIR / f"{dataset}-cnn.pt"
    record_path = weights.with_suffix(".json")
    if not weights.is_file() or not record_path.is_file():
        raise UserError(f"{weights} or its provenance record is missing; reinstall ganforge")
    record = json.loads(record_path.read_text())
    actual = hashlib.sha256(weights.read_bytes()).hexdigest()
    if actual != record["weights_sha256"]:
        raise UserError(f"{weights} does not match the sha256 in {record_path.name}; reinstall ganforge")
    model = DigitCNN()
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    model.eval().requires_grad_(False)
    return Extractor(
        name=f"{dataset}-cnn",
        features=model.features,
        feature_dim=DigitCNN.feature_dim,
        image_shape=(1, 28, 28),
        probabilities=lambda f: torch.softmax(model.head(f), dim=1),
        provenance={
            "extractor": f"{dataset}-cnn",
            "weights_sha256": actual,
            "classifier_test_accuracy": record["test_accuracy"],
            "resizer": "none (28x28 grayscale only)",
        },
    )


def _stacked() -> Extractor:
    digits = _classifier("mnist")

    def features(x: torch.Tensor) -> torch.Tensor:
        # The three channels as one batch of grayscale digits: (3N, 1, 28, 28) -> (N, 3 * 128).
        n = x.shape[0]
        per_channel = digits.features(x.transpose(0, 1).reshape(3 * n, 1, 28, 28))
        return per_channel.view(3, n, -1).transpose(0, 1).reshape(n, -1)

    def probabilities(f: torch.Tensor) -> torch.Tensor:
        p = digits.probabilities(f.view(f.shape[0] * 3, -1)).view(f.shape[0], 3, 10)  # (N, 3, 10)
        joint = p[:, 0, :, None, None] * p[:, 1, None, :, None] * p[:, 2, None, None, :]
        return joint.reshape(f.shape[0], 1000)  # mode 100 * red + 10 * green + blue

    return Extractor(
        name="stacked-mnist-cnn",
        features=features,
        feature_dim=3 * DigitCNN.feature_dim,
        image_shape=(3, 28, 28),
        probabilities=probabilities,
        provenance={**digits.provenance, "extractor": "stacked-mnist-cnn (mnist-cnn on each channel)"},
        counts_modes=True,
    )


register_extractor("mnist-cnn", lambda: _classifier("mnist"))
register_extractor("stacked-mnist-cnn", _stacked)
register_extractor("fashion-mnist-cnn", lambda: _classifier("fashion-mnist"))
