"""Progress output: a live one-line bar on a terminal, plain periodic lines anywhere else (CI, files)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Reports epoch, step, images/s, D/G losses, D(x), D(G(z)) and the ETA.

    Args:
        total_steps: steps the run will reach, if known (for the bar and the ETA).
        stream: where to write (stderr by default).
        enabled: False silences everything (library use, tests).
    """

    def __init__(self, total_steps: int | None, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total = total_steps
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.live = enabled and self.stream.isatty()
        self._last_draw = 0.0

    def update(self, record: dict, eta_seconds: float | None, force: bool = False) -> None:
        """Show one metrics record (as written to metrics.jsonl); ``force`` skips the redraw throttle."""
        if not self.enabled:
            return
        line = self._format(record, eta_seconds)
        if self.live:
            now = time.monotonic()
            if force or now - self._last_draw > 0.2:
                self.stream.write("\r\033[K" + line)
                self.stream.flush()
                self._last_draw = now
        else:
            print(line, file=self.stream, flush=True)

    def finish(self) -> None:
        """End the live line so whatever is printed next starts on a fresh one."""
        if self.live and self._last_draw:
            self.stream.write("\n")
            self.stream.flush()
            self._last_draw = 0.0

    def message(self, text: str) -> None:
        """A line that stays (epoch summaries, checkpoints, warnings)."""
        if not self.enabled:
            return
        if self.live:
            self.stream.write("\r\033[K")
            self._last_draw = 0.0
        print(text, file=self.stream, flush=True)

    def _format(self, r: dict, eta: float | None) -> str:
        bar = ""
        if self.total:
            done = min(r["step"] / self.total, 1.0)
            bar = f"[{'#' * int(done * 20):<20}] {done:4.0%} "
        eta_text = f" eta {_clock(eta)}" if eta is not None else ""
        return (
            f"{bar}epoch {r['epoch']} step {r['step']}"
            f"{'/' + str(self.total) if self.total else ''} | {r['images_per_sec']:.0f} img/s | "
            f"D {r['d_loss']:.3f} G {r['g_loss']:.3f} | "
            f"D(x) {r['d_real']:.2f} D(G(z)) {r['d_fake']:.2f}{eta_text}"
        )


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
