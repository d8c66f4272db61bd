"""A small text progress bar for management commands (written to stderr)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(self, total: int, *, label: str = "", stream: TextIO | None = None, width: int = 30):
        self.total, self.label, self.width = total, label, width
        self.stream = stream or sys.stderr
        self.done = 0
        self.started = time.monotonic()
        self._last_draw = 0.0
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())

    def update(self, step: int = 1, note: str = "") -> None:
        self.done += step
        now = time.monotonic()
        if self.done >= self.total or now - self._last_draw >= (0.1 if self.interactive else 1.0):
            self._last_draw = now
            self.draw(note)

    def draw(self, note: str = "") -> None:
        fraction = self.done / self.total if self.total else 1.0
        filled = int(self.width * fraction)
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        line = (f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} "
                f"{fraction:4.0%} {rate:.1f}/s eta {eta:.0f}s {note}").rstrip()
        self.stream.write(("\r" + line) if self.interactive else (line + "\n"))
        self.stream.flush()

    def close(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()
