"""Model families: one file each, registering its builder by short name (``models/registry.py``).

To add a family: write ``models/<family>.py`` with the networks (tensor shapes commented at each stage)
and a builder decorated with ``@register_model("name")``, then import the file below.
"""

from ganforge.models import (  # noqa: F401  (each registers its families on import)
    dcgan,
    lightgan,
    mlp,
    projected,
    r3gan,
    sn_dcgan,
    tf1_cnn,
    tf_dcgan,
)
from ganforge.models.registry import MODELS, apply_spectral_norm, build_models, register_model

__all__ = ["MODELS", "apply_spectral_norm", "build_models", "register_model"]
