"""Where the colour targets sit: real Twemoji, degraded in known ways, scored as a run's samples are.

    python benchmarks/twemoji_targets.py     # from the repository root; about 3.5 minutes on 2 cores

One random half of the 4009 emoji at 64x64 (seed 0), degraded (blurred, made at a lower resolution and
shown at 64 px, or cut to a few emoji repeated), against the other half: FD-efficientnet-lite0, SWD per
pyramid level, precision and recall. The colour targets (FD <= 55, SWD <= 1.5x the real-vs-real floor)
read against these rows say how close to real images a run's samples must be (docs/metrics.md). Needs
the ``[rgb-metrics]`` extra.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from harness.ranking import blur

from ganforge.config import DataConfig
from ganforge.data import ImageData, load_data
from ganforge.metrics.evaluate import build_reference, evaluate
from ganforge.metrics.extractors import get_extractor


def _shown_at_64(size: int, mode: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """Images averaged down to ``size`` px and scaled back up to 64 px: what a ``size``-px model can draw."""

    def degrade(images: torch.Tensor) -> torch.Tensor:
        small = F.interpolate(images.float(), size=size, mode="area")
        corners = {"align_corners": False} if mode == "bilinear" else {}
        large = F.interpolate(small, size=64, mode=mode, **corners)
        return large.round().clamp(0, 255).byte()

    return degrade


def _few(fraction: float) -> Callable[[torch.Tensor], torch.Tensor]:
    """The first ``fraction`` of the images, repeated to the same count: lost variety, perfect pictures."""

    def degrade(images: torch.Tensor) -> torch.Tensor:
        keep = max(1, round(fraction * len(images)))
        return images[torch.arange(len(images)) % keep]

    return degrade


SETS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "real (floor)": lambda x: x,
    "slightly blurred, sigma 0.5 px": blur,
    "made at 32 px, bilinear to 64": _shown_at_64(32, "bilinear"),
    "made at 32 px, nearest to 64": _shown_at_64(32, "nearest"),
    "made at 16 px, bilinear to 64": _shown_at_64(16, "bilinear"),
    "10% of the emoji, repeated": _few(0.1),
    "1% of the emoji, repeated": _few(0.01),
}


def main() -> None:
    data = load_data(DataConfig(source="twemoji", channels=3, image_size=64))
    order = torch.randperm(len(data.images), generator=torch.Generator().manual_seed(0))
    half = len(order) // 2
    ours, theirs = data.images[order[:half]], data.images[order[half:]]
    extractor = get_extractor("efficientnet-lite0")
    reference = build_reference(ImageData(theirs, None, "twemoji half B"), "twemoji half B", extractor)
    print(f"twemoji 64x64: {half} degraded images of half A against the {len(theirs)} of half B")
    print("| set | FD-efficientnet-lite0 | SWD | SWD-64 | SWD-32 | SWD-16 | precision | recall |")
    print("|---|---|---|---|---|---|---|---|")
    for name, degrade in SETS.items():
        m = evaluate(degrade(ours), reference, extractor, seed=0, kid_subsets=1)["metrics"]  # KID unused
        print(
            f"| {name} | {m['FD-efficientnet-lite0']:.1f} | {m['SWD']:.1f} | {m['SWD-64']:.1f} | "
            f"{m['SWD-32']:.1f} | {m['SWD-16']:.1f} | {m['precision']:.3f} | {m['recall']:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
