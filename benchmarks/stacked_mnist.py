"""Stacked MNIST mode coverage (1000 modes) after equal wall-clock minutes, beside the literature's table.

Trains each recipe on ``stacked-mnist`` for ``--minutes`` of wall clock, one after the other (each alone on
the machine, with its default threads), then measures the final EMA generator on 26,000 samples: modes
covered of 1000 and KL(mode histogram || uniform), read with the project's MNIST classifier one channel
at a time (``ganforge eval RUN --against stacked-mnist:test``), and prints them beside the published
numbers, which were all obtained with GPU budgets.

    python benchmarks/stacked_mnist.py OUT --minutes 10                      # default, r3gan, dcgan
    python benchmarks/stacked_mnist.py OUT --minutes 10 --recipes default    # only ganforge's default
    python benchmarks/stacked_mnist.py OUT --score-only                      # measure existing runs again
    python benchmarks/stacked_mnist.py OUT --recipes default --train-flags "--pack 2"   # a variant
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import subprocess
import sys
import time
from pathlib import Path

# (method, modes covered, KL to uniform, source), as the papers report them.
LITERATURE = [
    ("DCGAN", "99", "3.40", "Srivastava et al. 2017 (VEEGAN), table 2"),
    ("VEEGAN", "150", "2.95", "Srivastava et al. 2017, table 2"),
    ("PacGAN", "1000", "0.06", "Lin et al. 2018 (PacGAN)"),
    ("R3GAN", "1000", "0.078", "Huang et al. 2024 (R3GAN)"),
]
# Recipe name -> the flags of `ganforge train stacked-mnist` (the default picks itself).
RECIPES = {"default": [], "r3gan": ["--preset", "r3gan"], "dcgan": ["--preset", "dcgan"]}
SAMPLES = 26_000


def train(out: Path, recipe: str, minutes: float, seed: int, flags: list[str]) -> dict:
    """One recipe (plus ``flags``) for ``minutes`` of wall clock; returns what it reached."""
    command = [sys.executable, "-m", "ganforge", "train", "stacked-mnist", *RECIPES[recipe], *flags]
    command += ["--minutes", str(minutes), "--seed", str(seed), "--out", str(out / recipe), "--quiet"]
    start = time.monotonic()
    subprocess.run(command, check=True)
    config = json.loads((out / recipe / "config.json").read_text())
    return {"recipe": recipe, "preset": config["preset"], "wall_s": round(time.monotonic() - start, 1)}


def score(out: Path, recipe: str) -> dict:
    """Modes covered and KL to uniform of the run's final generator, on 26,000 samples."""
    record_file = out / f"{recipe}_eval.json"
    command = [sys.executable, "-m", "ganforge", "eval", str(out / recipe), "--against", "stacked-mnist:test"]
    command += ["--n", str(SAMPLES), "--json", str(record_file)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    record = json.loads(record_file.read_text())
    metrics = record["metrics"]
    return {
        "step": record["provenance"].get("step"),
        "modes": metrics["modes_covered"],
        "kl": metrics["mode_kl_to_uniform"],
        "fd": metrics["FD-stacked-mnist-cnn"],
        "kl_rgb": [round(kl, 4) for kl in channel_kls(metrics["class_histogram"])],
    }


def channel_kls(histogram: list[float]) -> list[float]:
    """KL to uniform of each channel's digit frequencies (R, G, B), from the 1000-mode histogram
    (mode = 100 R + 10 G + B): how much of the modes' KL the per-channel digit balance explains."""
    total = sum(histogram)
    kls = []
    for channel in range(3):
        stride = 10 ** (2 - channel)
        freq = [0.0] * 10
        for mode, h in enumerate(histogram):
            freq[mode // stride % 10] += h / total
        kls.append(sum(f * math.log(10 * f) for f in freq if f > 0))
    return kls


def table(rows: list[dict], minutes: float) -> str:
    """A markdown table: ganforge's recipes after ``minutes``, then the literature's."""
    lines = ["| method | budget | modes covered (of 1000) | KL to uniform | source |", "|---" * 5 + "|"]
    for r in rows:
        lines.append(
            f"| ganforge {r['recipe']} (`{r['preset']}`) | {minutes:g} min, this CPU, step {r['step']} | "
            f"{r['modes']} | {r['kl']:.3f} | this benchmark |"
        )
    lines += [f"| {name} | GPU | {modes} | {kl} | {source} |" for name, modes, kl, source in LITERATURE]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--recipes", default=",".join(RECIPES), help="comma-separated: default,r3gan,dcgan")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--score-only", action="store_true", help="measure the runs already in OUT")
    parser.add_argument("--train-flags", default="", help="more `ganforge train` flags for every recipe")
    args = parser.parse_args()
    rows = []
    for recipe in args.recipes.split(","):
        if args.score_only:
            config = json.loads((args.out / recipe / "config.json").read_text())
            row = {"recipe": recipe, "preset": config["preset"]}
        else:
            row = train(args.out, recipe, args.minutes, args.seed, shlex.split(args.train_flags))
        row |= score(args.out, recipe)
        print(json.dumps(row), flush=True)
        rows.append(row)
    print(table(rows, args.minutes))


if __name__ == "__main__":
    main()
