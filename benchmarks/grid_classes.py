"""Which digits do a run's fixed-noise grids show? Classifies every tile of samples/epoch_*.png.

    python benchmarks/grid_classes.py RUN_DIR [--min-prob 0.5] [--grids 'epoch_*.png' | final_grid.png]

Each 28x28 tile is cut back out of the saved grids (by default the per-epoch ones) and given to
ganforge's MNIST classifier (the FD-mnist-cnn extractor); a tile counts as a digit when the classifier
gives it at least --min-prob. Prints the classes of every grid, the union over all of them, and, for
scale, how often as many real test images drawn at random show all ten classes (what a perfect generator
would do with a grid of that size).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganforge.data import DataConfig, load_data
from ganforge.metrics import get_extractor

TILE, PADDING = 28, 2


def tiles(path: Path) -> torch.Tensor:
    """The uint8 tiles (N, 1, 28, 28) of a square grid saved by ganforge (any integer scale)."""
    picture = np.asarray(Image.open(path).convert("L"))
    for per_row in range(1, 33):
        side = per_row * (TILE + PADDING) + PADDING
        if picture.shape[1] % side == 0 and picture.shape[0] % side == 0:
            scale = picture.shape[1] // side
            break
    else:
        raise SystemExit(f"{path} is not a square grid of 28x28 tiles")
    small = picture[::scale, ::scale]
    cut = [
        small[PADDING + r * (TILE + PADDING) :, PADDING + c * (TILE + PADDING) :][:TILE, :TILE]
        for r in range(per_row)
        for c in range(per_row)
    ]
    return torch.from_numpy(np.stack(cut))[:, None]


def perfect_grid_rate(n: int, grids: int = 20000, seed: int = 0) -> float:
    """Share of grids of n random real test images that show all ten classes."""
    labels = load_data(DataConfig(source="mnist", split="test")).labels
    rng = torch.Generator().manual_seed(seed)
    picks = labels[torch.randint(0, len(labels), (grids, n), generator=rng)]
    return float(np.mean([len(set(row.tolist())) == 10 for row in picks]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--min-prob", type=float, default=0.5)
    parser.add_argument("--grids", default="epoch_*.png", help="which grids in RUN/samples (a glob)")
    args = parser.parse_args()
    extractor = get_extractor("mnist-cnn")
    union: set[int] = set()
    grids = sorted((args.run / "samples").glob(args.grids))
    if not grids:
        raise SystemExit(f"no samples/{args.grids} in {args.run}")
    for path in grids:
        images = tiles(path)
        _, probs = extractor.run(images)
        best, label = probs.max(dim=1)
        seen = sorted({int(c) for c, p in zip(label, best, strict=True) if p >= args.min_prob})
        union |= set(seen)
        unsure = int((best < args.min_prob).sum())
        below = f"{unsure} of {len(images)} tiles below {args.min_prob}"
        print(f"{path.name}: {len(seen)} classes {seen} ({below})")
    print(f"union over {len(grids)} grids: {len(union)} classes {sorted(union)}")
    n = len(tiles(grids[0]))
    print(f"{n} random real test images show all ten classes in {perfect_grid_rate(n):.1%} of 20000 draws")


if __name__ == "__main__":
    main()
