"""`ganforge report`: one self-contained HTML file, for finished, running, damaged and near-empty runs."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from ganforge.cli import main
from ganforge.errors import UserError
from ganforge.report import read_story, write_report
from ganforge.train.lock import RunLock

SECTIONS = ("summary", "samples", "training", "quality", "events", "checkpoints", "config")


def _external_references(html: str) -> list[str]:
    """Every src/href value that would make the browser fetch something (not data:, not #anchor)."""
    values = re.findall(r'(?:src|href)="([^"]*)"', html)
    return [v for v in values if not v.startswith(("data:", "#"))]


def test_the_report_tells_a_finished_runs_story(story_run, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", str(story_run), "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    html = out.read_text()
    for key in SECTIONS:
        assert f'<section id="{key}">' in html
    assert _external_references(html) == []
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert 'class="badge finished"' in html
    # The strip: one figure per fixed-noise grid (steps 2, 4, 6, 8), plus the final grid and the GIF.
    assert [f"step {s}" for s in (2, 4, 6, 8)] == re.findall(r"<figcaption>(step \d+)</figcaption>", html)
    assert html.count("data:image/gif;base64,") == 1
    assert "Final samples" in html
    # Curves as inline SVG: two training charts, FD and classes covered; events drawn as markers.
    assert html.count("<svg") >= 4 and "FD-mnist-cnn while training" in html and "Classes covered" in html
    assert html.count("<title>") >= 2 * 2  # the warning and the restart marked on both training charts
    # Events, escaped: a message can never inject markup.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert '<tr class="restart">' in html and '<tr class="warning">' in html
    # Checkpoints: the two step files and best.pt, marked, at the step of the lowest FD.
    records = [json.loads(line) for line in (story_run / "metrics.jsonl").read_text().splitlines()]
    quality = [r for r in records if "quality" in r]
    best_step = min(quality, key=lambda r: r["quality"]["FD-mnist-cnn"])["step"]
    assert re.search(rf'<tr class="best"><td>best.pt</td><td class="num">{best_step}</td>', html)
    assert "step_000000004.pt" in html and "step_000000008.pt" in html
    # Final metrics with provenance, and the config.
    assert "<h3>Provenance</h3>" in html and "weights_sha256" in html
    assert "&quot;preset&quot;: &quot;sn-dcgan&quot;" in html
    assert "conditional on 10 classes" in html


def test_a_damaged_run_still_gets_a_report_that_says_what_is_wrong(story_run, tmp_path):
    run = tmp_path / "damaged"
    shutil.copytree(story_run, run)
    (run / "config.json").write_text("{not json")
    with open(run / "metrics.jsonl", "a") as log:
        log.write('{"step": 9, "d_lo')  # a write cut short
    (run / "samples" / "step_0000004.png").write_bytes(b"\x89PNG garbage")
    (run / "samples" / "final_grid.png").unlink()
    (run / "checkpoints" / "step_000000004.pt").write_bytes(b"")
    done = write_report(run)
    assert done.path == run / "report.html"
    problems = " | ".join(done.problems)
    assert "config.json cannot be read" in problems
    assert "metrics.jsonl: 1 damaged line(s) skipped" in problems
    assert "samples/step_0000004.png is damaged" in problems
    assert "checkpoints/step_000000004.pt is empty" in problems
    html = done.path.read_text()
    assert '<section id="problems" class="problems">' in html
    for key in SECTIONS:
        assert f'<section id="{key}">' in html
    assert re.findall(r"<figcaption>(step \d+)</figcaption>", html) == ["step 2", "step 6", "step 8"]
    assert 'class="badge stopped"' in html  # no final grid: stopped before the end


def test_a_run_in_progress_is_reported_as_such(story_run, tmp_path):
    run = tmp_path / "running"
    shutil.copytree(story_run, run)
    lock = RunLock(run)
    lock.acquire()  # what a training process holds while it runs
    try:
        story = read_story(run)
        html = write_report(run).path.read_text()
    finally:
        lock.release()
    assert story.training_pid is not None
    assert "training now" in html and "what exists so far" in html
    assert read_story(run).training_pid is None  # released: no longer reported as running


def test_a_run_that_has_only_started_gets_a_report_of_what_is_missing(story_run, tmp_path):
    run = tmp_path / "new"
    run.mkdir()
    shutil.copy(story_run / "config.json", run / "config.json")
    done = write_report(run)
    assert any("metrics.jsonl is missing" in p for p in done.problems)
    assert any("no sample grids yet" in p for p in done.problems)
    assert any("no checkpoints yet" in p for p in done.problems)
    html = done.path.read_text()
    assert "nothing logged yet" in html and "No quality measured yet" in html


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (lambda p: None, [], "does not exist"),
        (lambda p: p.mkdir(), [], "does not look like a ganforge run"),
        (lambda p: (p.mkdir(), (p / "config.json").write_text("{}")), ["--out", "x.txt"], "ending in .html"),
        (
            lambda p: (p.mkdir(), (p / "config.json").write_text("{}")),
            ["--out", "no/such/r.html"],
            "does not exist",
        ),
    ],
)
def test_report_mistakes_are_one_line_and_write_nothing(make, args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    make(run)
    assert main(["report", str(run), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (run / "report.html").exists() and not (tmp_path / "x.txt").exists()


def test_write_report_refuses_a_folder_as_out(story_run, tmp_path):
    (tmp_path / "dir.html").mkdir()
    with pytest.raises(UserError, match="is a folder"):
        write_report(story_run, tmp_path / "dir.html")
