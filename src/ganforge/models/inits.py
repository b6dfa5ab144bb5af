"""Weight initialisations shared by the families that reproduce Keras models."""

from __future__ import annotations

from torch import nn


def keras_init(module: nn.Module) -> None:
    """Glorot-uniform weights and zero biases for every conv/linear layer, as Keras initialises them."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
