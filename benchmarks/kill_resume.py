"""SIGKILL a training process again and again, resume it each time, and print what was lost.

The harness (``benchmarks/harness/kill.py``, which ``tests/train/test_kill_resume.py`` asserts on)
kills ``ganforge train`` at random moments and inside checkpoint and grid writes; this prints one
line per kill and a summary.

    python benchmarks/kill_resume.py --kills 30
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from harness.kill import MODES, newest_complete, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="run directory (default: a temporary one)")
    args = parser.parse_args()
    run_dir = args.out or Path(tempfile.mkdtemp(prefix="kill-resume-")) / "run"
    started = time.monotonic()
    report = run(run_dir, args.kills, args.seed)
    for i, kill in enumerate(report, 1):
        print(
            f"kill {i:3d} {kill.mode:16s} last logged step {kill.logged_step:5d}  newest complete "
            f"checkpoint {kill.newest_complete:5d}  resumed at {kill.resumed_at:5d}  "
            f"lost {kill.lost_steps:3d}  temp files at kill {kill.temp_files}"
        )
    lost = [k.lost_steps for k in report]
    by_mode = {m: sum(k.mode == m for k in report) for m in MODES}
    print(
        f"{len(report)} kills ({', '.join(f'{n} {m}' for m, n in by_mode.items())}), every resume from the "
        f"newest complete checkpoint; lost steps per kill: max {max(lost)}, "
        f"mean {sum(lost) / len(lost):.1f}; "
        f"final step {newest_complete(run_dir)}, weights finite, directory consistent; "
        f"{time.monotonic() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
