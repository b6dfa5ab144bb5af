"""Print how each metric ranks real, slightly blurred, half-the-classes, single-class and noise sets.

    python benchmarks/metric_ranking.py --n 5000      # run from the repository root

The sets come from the training split (see ``tests/metrics/test_ranking.py``); each is evaluated
against the test split with the dataset's classifier extractor.
"""

from __future__ import annotations

import argparse

from harness.ranking import ORDER, rank


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--n", type=int, default=5000)
    args = parser.parse_args()
    for dataset in ("mnist", "fashion-mnist"):
        results = rank(dataset, args.n)
        print(f"\n{dataset} (n = {args.n} per set, against the 10k test split)")
        print("| set | FD | KID | precision | recall | density | coverage | classes covered |")
        print("|---|---|---|---|---|---|---|---|")
        for name in ORDER:
            m = results[name]
            print(
                f"| {name} | {m[f'FD-{dataset}-cnn']:.2f} | {m[f'KID-{dataset}-cnn']:.2f} | "
                f"{m['precision']:.3f} | {m['recall']:.3f} | {m['density']:.3f} | {m['coverage']:.3f} | "
                f"{m['classes_covered']} |"
            )


if __name__ == "__main__":
    main()
