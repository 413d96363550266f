"""Progress for a person at a terminal: a fetch or a write that takes more
than ~2 s says how far it got (pages, tickets, requests).  Off for services
and pipes, whose JSON log already has one line per unit of work.

On a terminal the line is redrawn in place on stderr (stdout carries the
command's own output); when console output goes to a file, each update is
a line of its own, at most one a second.
"""
from __future__ import annotations

import sys
import threading
import time
from typing import Callable, TextIO

AFTER = 2.0      # nothing is shown for what ends sooner
EVERY = 1.0


class Step:
    def __init__(self, owner: "Progress", what: str):
        self.owner, self.what = owner, what
        self.started = owner.clock()
        self.shown_at: float | None = None
        self.counts: dict[str, int] = {}

    def update(self, **counts: int) -> None:
        self.counts.update(counts)
        if not self.owner.enabled:
            return
        now = self.owner.clock()
        if now - self.started < AFTER:
            return
        if self.shown_at is not None and now - self.shown_at < EVERY:
            return
        self.shown_at = now
        self.owner.show(self.line(now))

    def line(self, now: float) -> str:
        parts = ", ".join(f"{n:,} {k}" for k, n in self.counts.items())
        return f"{self.what}: {parts} ({now - self.started:.0f}s)"

    def done(self) -> None:
        if self.shown_at is not None:
            self.owner.finish(self.line(self.owner.clock()))


class Progress:
    def __init__(self, enabled: bool = False, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.enabled = enabled
        self.stream = stream
        self.clock = clock
        self._lock = threading.Lock()      # fleet syncs run in threads

    def _out(self) -> TextIO:
        return self.stream or sys.stderr

    def _tty(self) -> bool:
        isatty = getattr(self._out(), "isatty", None)
        return bool(isatty and isatty())

    def step(self, what: str) -> Step:
        return Step(self, what)

    def show(self, line: str) -> None:
        with self._lock:
            out = self._out()
            out.write(f"\r\x1b[K{line}" if self._tty() else line + "\n")
            out.flush()

    def finish(self, line: str) -> None:
        if self._tty():
            with self._lock:
                out = self._out()
                out.write(f"\r\x1b[K{line}\n")
                out.flush()


QUIET = Progress()
