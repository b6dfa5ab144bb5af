"""The report in a real browser (headless chromium, network off): it renders, every section is there,
every picture decodes, and no request leaves the file."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
from PIL import Image

from ganforge.report import write_report
from ganforge.train.lock import RunLock

pytestmark = pytest.mark.browser
SECTIONS = ("summary", "samples", "training", "quality", "events", "checkpoints", "config")


def _damage(run):
    (run / "config.json").write_text("{not json")
    (run / "samples" / "step_0000004.png").write_bytes(b"\x89PNG garbage")
    with open(run / "metrics.jsonl", "a") as log:
        log.write('{"step": 9, "d_lo')


@pytest.mark.parametrize("kind", ["finished", "in progress", "damaged"])
def test_the_report_renders_offline_with_every_section(kind, story_run, browser, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(story_run, run)
    lock = RunLock(run)
    if kind == "damaged":
        _damage(run)
    if kind == "in progress":
        lock.acquire()
    try:
        report = write_report(run).path
    finally:
        lock.release()
    context = browser.new_context(offline=True, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    requests, failures = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("requestfailed", lambda r: failures.append(r.url))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    for key in SECTIONS:
        assert page.locator(f"section#{key} h2").is_visible(), key
    sizes = page.locator("img").evaluate_all("imgs => imgs.map(i => [i.complete, i.naturalWidth])")
    assert sizes and all(complete and width > 0 for complete, width in sizes)  # every inlined picture decodes
    assert page.locator("svg").count() >= 2
    if kind == "damaged":
        problems = page.locator("#problems")
        assert problems.is_visible() and "config.json" in problems.inner_text()
    if kind == "in progress":
        assert "training now" in page.locator(".badge").inner_text()
    shot = page.screenshot()
    pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("L"), dtype=np.float32)
    assert pixels.std() > 20  # not a blank page
    assert requests == [report.as_uri()] and failures == []  # the file itself and nothing else
    context.close()
