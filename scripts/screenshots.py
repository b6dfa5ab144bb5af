"""README's pictures of `ganforge report` and `ganforge serve`, taken with the tests' headless chromium.

    python scripts/screenshots.py RUN --out docs/img

Writes report.png (the top of RUN's report) and serve.png (the local page after a draw and a walk),
each palette-quantised to stay small. Needs playwright and Debian's chromium, as the browser tests do.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

from ganforge.report import write_report


def _small_png(shot: bytes, out: Path, crop_height: int) -> None:
    image = Image.open(io.BytesIO(shot)).convert("RGB")
    image = image.crop((0, 0, image.width, min(crop_height, image.height)))
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    report = write_report(args.run, args.out / "_report.html").path
    server = subprocess.Popen(
        [sys.executable, "-m", "ganforge", "serve", str(args.run), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = server.stdout.readline().split(" at ")[1].split(" ")[0]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.goto(report.as_uri())
            _small_png(page.screenshot(full_page=True), args.out / "report.png", 1500)
            page.goto(url)
            page.locator("#status").filter(has_text="seed 0,").wait_for(timeout=120_000)
            page.click("#walk")
            page.locator("#walk-status").filter(has_text="frames").wait_for(timeout=120_000)
            _small_png(page.screenshot(full_page=True), args.out / "serve.png", 1100)
            browser.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
        report.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
