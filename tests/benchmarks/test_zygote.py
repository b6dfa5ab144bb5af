"""The kill harness's zygote: children forked from one prelude, each a process of its own; where it
cannot fork (macOS), each child a fresh Python that runs the prelude itself. Both ways are tested here."""

import os
import signal
import time

import pytest

from benchmarks.harness import zygote as zygote_module
from benchmarks.harness.zygote import Zygote
from tests.conftest import posix_only

PRELUDE = "import os, sys, time\nfrom_prelude = 'set once'\n"


@pytest.fixture(autouse=True, params=["forked", "fresh python"])
def way(request, monkeypatch):
    """Every test twice: as on Linux (forked from the zygote), and as elsewhere (no zygote process)."""
    if request.param == "forked" and not zygote_module.FORKS:
        pytest.skip("fork() is used on Linux only")
    monkeypatch.setattr(zygote_module, "FORKS", request.param == "forked")
    return request.param


pytestmark = posix_only  # SIGKILL


def test_children_see_the_prelude_their_arguments_and_write_their_own_log(tmp_path):
    with Zygote(PRELUDE, dict(os.environ)) as zygote:
        code = "print(sys.argv[1:], from_prelude, os.getpid() != zygote_pid)\nsys.exit(3)\n"
        zygote_pid = zygote.process.pid if zygote.process else os.getpid()  # (no zygote: not forked)
        child = zygote.start(code.replace("zygote_pid", str(zygote_pid)), ["a", "b"], tmp_path / "one.log")
        assert child.wait(timeout=60) == 3
        assert (tmp_path / "one.log").read_text() == "['a', 'b'] set once True\n"
        failing = zygote.start("raise ValueError('boom')\n", [], tmp_path / "two.log")
        assert failing.wait(timeout=60) == 1
        assert "ValueError: boom" in (tmp_path / "two.log").read_text()


def test_a_killed_child_reports_the_signal_and_the_next_one_starts_clean(tmp_path):
    with Zygote(PRELUDE, dict(os.environ)) as zygote:
        log = tmp_path / "a.log"
        child = zygote.start("print('up', flush=True)\ntime.sleep(600)\n", [], log)
        deadline = time.monotonic() + 60
        while not (log.exists() and "up" in log.read_text()) and time.monotonic() < deadline:
            assert child.poll() is None
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=60) == -signal.SIGKILL
        assert zygote.start("print('next')\n", [], tmp_path / "b.log").wait(timeout=60) == 0
        assert (tmp_path / "b.log").read_text() == "next\n"


def test_the_log_holds_nothing_of_an_earlier_process_once_start_returns(tmp_path):
    log = tmp_path / "reused.log"
    log.write_text("resumed at step 12 (the last process's line)\n")
    with Zygote(PRELUDE, dict(os.environ)) as zygote:
        child = zygote.start("time.sleep(1)\nprint('mine')\n", [], log)
        assert log.read_text() == ""
        assert child.wait(timeout=60) == 0
    assert log.read_text() == "mine\n"


def test_closing_ends_a_child_left_running(tmp_path):
    zygote = Zygote(PRELUDE, dict(os.environ))
    child = zygote.start("time.sleep(600)\n", [], tmp_path / "left.log")
    zygote.close()  # as after a failed check: the training process must not run on
    assert child.returncode == -signal.SIGKILL
