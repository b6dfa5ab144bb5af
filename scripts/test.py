"""Install what the tests need, then lint, format check and the test suite, on Linux, macOS or Windows.

    python scripts/test.py             # extra arguments go to pytest, e.g. -k resume

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


def main() -> int:
    install(EXTRAS)
    debian_extras()
    for step in (["ruff", "check", "."], ["ruff", "format", "--check", "."], ["pytest", "-q", *sys.argv[1:]]):
        status = subprocess.call([sys.executable, "-m", *step], cwd=ROOT)
        if status:
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main())
