"""A sliding-window limiter: at most `limit` requests per `window` seconds.

Trello allows 100 requests per 10 s per token (and blocks the whole key for
the window after 200 429s), so the Trello source waits here before each
request rather than learning the limit from 429s.  One limiter per token,
shared by every source that uses it.
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from typing import Callable


class SlidingWindow:
    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self.stamps: deque[float] = deque()
        self.lock = threading.Lock()

    def wait(self, sleep: Callable[[float], None]) -> float:
        """Block until a request may go; returns the seconds waited."""
        waited = 0.0
        while True:
            with self.lock:
                now = self.clock()
                while self.stamps and now - self.stamps[0] >= self.window:
                    self.stamps.popleft()
                if len(self.stamps) < self.limit:
                    self.stamps.append(now)
                    return waited
                pause = self.window - (now - self.stamps[0])
            sleep(pause)
            waited += pause


_limiters: dict[str, SlidingWindow] = {}


def for_token(token: str, limit: int = 100, window: float = 10.0) -> SlidingWindow:
    # Keyed by a hash so the registry never holds the token itself.
    key = hashlib.sha256(token.encode()).hexdigest()
    if key not in _limiters:
        _limiters[key] = SlidingWindow(limit, window)
    return _limiters[key]
