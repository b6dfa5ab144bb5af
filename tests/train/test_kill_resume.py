"""At least 20 SIGKILLs (random moments, inside checkpoint writes, inside grid writes), each resumed."""

import pytest

from benchmarks.harness import kill as kill_harness
from tests.conftest import posix_only

pytestmark = posix_only  # SIGKILL


@pytest.mark.slow
def test_21_kills_each_resume_from_the_newest_complete_checkpoint(tmp_path):
    report = kill_harness.run(tmp_path / "run", kills=21, seed=1)
    assert len(report) == 21
    assert {k.mode for k in report} == set(kill_harness.MODES)
    # The write kills really landed inside a write: the half-written temporary file was there.
    assert all(k.temp_files >= 1 for k in report if k.mode != "random")
    assert all(k.resumed_at == k.newest_complete for k in report)
    assert report[-1].newest_complete > report[0].newest_complete  # the run made progress across kills
