"""Install what the tests need, then lint, format check and the test suite, on Linux, macOS or Windows.

    python scripts/test.py             # extra arguments go to pytest, e.g. -k resume, or -n 0 (one process)

On Debian/Ubuntu as root it also installs Fashion-MNIST and chromium where missing (their tests are
skipped, with the reason, without them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from install import ROOT, install

EXTRAS = "dev,rgb-metrics,export,video,tensorboard"


def debian_extras() -> None:
    """Best effort, Debian as root only: Fashion-MNIST (offline data) and chromium (browser tests)."""
    if (
        sys.platform != "linux"
        or not hasattr(os, "geteuid")
        or os.geteuid() != 0
        or not shutil.which("apt-get")
    ):
        return
    wanted = {"dataset-fashion-mnist": "/usr/share/datasets/fashion-mnist", "chromium": "/usr/bin/chromium"}
    missing = [pkg for pkg, path in wanted.items() if not Path(path).exists()]
    if not missing:
        return
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    ok = subprocess.call(["apt-get", "update", "-qq"], **quiet) == 0
    ok = ok and subprocess.call(["apt-get", "install", "-y", "-qq", *missing], **quiet) == 0
    if not ok:
        print(f"note: could not install {' '.join(missing)}; their tests will be skipped", file=sys.stderr)


def parallel() -> list[str]:
    """pytest-xdist options: one worker per core, at most 8; a test module stays on one worker.

    The suite pins torch to one thread (tests/conftest.py), so without workers it keeps one core busy:
    two workers took it from 12 to 7 minutes on a 2-core host. Whole modules per worker keep each
    module's expensive fixtures (a trained run) built once. ``-n 0`` after the script runs it serially.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = min(cores, 8)
    return ["-n", str(workers), "--dist", "loadfile"] if workers > 1 else []


def main() -> int:
    install(EXTRAS)
    debian_extras()
    pytest = ["pytest", "-q", *parallel(), *sys.argv[1:]]
    for step in (["ruff", "check", "."], ["ruff", "format", "--check", "."], pytest):
        status = subprocess.call([sys.executable, "-m", *step], cwd=ROOT)
        if status:
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main())
