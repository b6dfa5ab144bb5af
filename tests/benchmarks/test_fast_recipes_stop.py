"""benchmarks/fast_recipes.py passes a stop aimed at the script on to the training it started."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.benchmarks import ROOT


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM reaches a process only on POSIX")
def test_a_sigterm_to_the_script_stops_the_training_it_started(tmp_path: Path) -> None:
    ready, watching, saved = tmp_path / "ready", tmp_path / "watching", tmp_path / "saved"
    # Stands in for `ganforge train`: on SIGTERM it "saves" and exits with 143, as a run does.
    training = (
        "import pathlib, signal, sys, time\n"
        f"def stop(*_):\n    pathlib.Path({str(saved)!r}).write_text('saved')\n    sys.exit(143)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        f"pathlib.Path({str(ready)!r}).touch()\n"
        "time.sleep(120)\n"
    )
    script = (
        "import pathlib, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from tests.benchmarks import load_benchmark\n"
        "fast_recipes = load_benchmark('fast_recipes')\n"
        # The callback runs once the script's handlers are in place: the test waits for it and for the
        # stand-in's own handler (file "ready"), so the SIGTERM never comes before either.
        f"watch = lambda pid: pathlib.Path({str(watching)!r}).touch()\n"
        f"print(fast_recipes.run_forwarding_stops([sys.executable, '-c', {training!r}], watch))\n"
    )
    job = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (ready.exists() and watching.exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ready.exists() and watching.exists(), "the script or its stand-in training never started"
    os.kill(job.pid, signal.SIGTERM)
    out, _ = job.communicate(timeout=60)
    assert saved.read_text() == "saved"
    assert out.strip() == "(143, True)"
