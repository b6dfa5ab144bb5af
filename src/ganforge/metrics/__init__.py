"""Quality metrics: feature extractors, Fréchet distance, KID, precision/recall, density/coverage, classes.

``ganforge eval`` (and :func:`ganforge.metrics.evaluate.evaluate`) put them together with provenance.
"""

# The built-in extractors register themselves on import (the optional EfficientNet packages are only
# imported when that extractor is built).
from ganforge.metrics import classifier as _classifier  # noqa: F401
from ganforge.metrics import efficientnet as _efficientnet  # noqa: F401
from ganforge.metrics.classes import class_stats
from ganforge.metrics.distances import FeatureStats, frechet_distance, kid, prdc
from ganforge.metrics.extractors import (
    EXTRACTORS,
    Extractor,
    get_extractor,
    module_extractor,
    register_extractor,
)

__all__ = [
    "EXTRACTORS",
    "Extractor",
    "FeatureStats",
    "class_stats",
    "frechet_distance",
    "get_extractor",
    "kid",
    "module_extractor",
    "prdc",
    "register_extractor",
]
