"""The local page of `ganforge serve`, driven in a real browser (headless chromium) against a real server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(story_run):
    """`ganforge serve RUN --port 0` in its own process; yields its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ganforge", "serve", str(story_run), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    line = proc.stdout.readline()
    assert " at http://" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
    yield line.split(" at ")[1].split(" ")[0]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err, err


@pytest.fixture
def page(browser, served):
    context = browser.new_context(viewport={"width": 1000, "height": 820}, accept_downloads=True)
    page = context.new_page()
    page.requested = []
    page.on("request", lambda r: page.requested.append(r.url))
    page.goto(served)
    page.locator("#status").filter(has_text="seed 0,").wait_for(timeout=60_000)
    yield page
    context.close()


def _draw(page, seed: int) -> bytes:
    page.fill("#seed", str(seed))
    page.click("#draw")
    page.locator("#status").filter(has_text=f"seed {seed},").wait_for(timeout=60_000)
    return page.locator("#grid").screenshot()


def test_seeds_draw_different_pictures_and_the_same_seed_the_same(page, served):
    one, two, one_again = _draw(page, 1), _draw(page, 2), _draw(page, 1)
    assert one != two and one == one_again
    page.click("#next")
    page.locator("#status").filter(has_text="seed 2,").wait_for(timeout=60_000)
    assert page.locator("#grid").screenshot() == two
    # Nothing from anywhere else (blob: URLs are the pictures already fetched, held by the page).
    assert all(url.startswith((served, f"blob:{served}")) for url in page.requested), page.requested


def test_the_class_choice_changes_what_is_drawn(page):
    assert page.locator("#label-box").is_visible()  # a conditional run shows the class choice
    page.select_option("#label", "3")
    page.locator("#status").filter(has_text="class 3").wait_for(timeout=60_000)
    three = page.locator("#grid").screenshot()
    page.select_option("#label", "7")
    page.locator("#status").filter(has_text="class 7").wait_for(timeout=60_000)
    assert page.locator("#grid").screenshot() != three


def test_truncation_checkpoint_walk_and_download(page, served, tmp_path):
    before = page.locator("#grid").screenshot()
    page.fill("#truncation", "0.5")
    page.locator("#status").filter(has_text="truncation 0.5").wait_for(timeout=60_000)
    assert page.locator("#grid").screenshot() != before
    page.select_option("#checkpoint", "step_000000004.pt")
    page.locator("#status").filter(has_text="step_000000004.pt").wait_for(timeout=60_000)
    with page.expect_download() as download:
        page.click("#download")
    saved = tmp_path / "d.png"
    download.value.save_as(saved)
    query = "seed=0&count=16&truncation=0.5&checkpoint=step_000000004.pt"
    with urllib.request.urlopen(f"{served}api/grid?{query}") as response:
        assert saved.read_bytes() == response.read()  # the download is exactly the picture on screen
    page.fill("#walk-from", "3")
    page.fill("#walk-to", "9")
    page.fill("#walk-frames", "6")
    page.click("#walk")
    page.locator("#walk-status").filter(has_text="seed 3 to 9, 6 frames").wait_for(timeout=60_000)
    width, height = page.locator("#walk-strip").evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert width == 6 * height


def test_a_bad_request_is_refused_with_its_reason_on_the_page(page):
    page.fill("#seed", "-5")
    page.click("#draw")
    status = page.locator("#status.error")
    status.wait_for(timeout=60_000)
    assert "seed must be in 0.." in status.inner_text()
    page.fill("#walk-frames", "500")
    page.click("#walk")
    page.locator("#walk-status.error").filter(has_text="frames must be in 2..").wait_for(timeout=60_000)


def test_the_report_is_one_click_away(page):
    with page.context.expect_page() as opened:
        page.click("#report-link")
    report = opened.value
    report.wait_for_load_state("load")
    assert report.locator("section#samples h2").is_visible()
