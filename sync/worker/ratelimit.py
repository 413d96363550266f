"""A sliding-window limiter: at most `limit` requests per `window` seconds.

Trello allows 100 requests per 10 s per token (and blocks the whole key for
the window after 200 429s), so the Trello source waits here before each
request rather than learning the limit from 429s; Jira gets a burst ceiling
per host and credentials.  `Limiters` is one process object, passed to every
workspace, so workspaces that reach the same host with the same credentials
share one limiter.

A server's `Retry-After` is the other half: `hold` sets a "not before" time
that every request through the limiter waits for, so when one of a pool's
workers is told to slow down, all of them do, not only the one that asked.
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from typing import Callable

from sync.core.errors import TransientError


class SlidingWindow:
    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self.stamps: deque[float] = deque()
        self.lock = threading.Lock()
        self.not_before = 0.0           # on `clock`: no request before it (a Retry-After)
        # Per thread, the hold it has already waited out: each thread sleeps
        # a hold once (and the one that was told sleeps it in its retry), so
        # a sleep that passes no time, in tests, never spins.
        self._served = threading.local()

    def hold(self, seconds: float) -> None:
        """No request through this limiter for `seconds` from now; the
        calling thread waits them in its own retry."""
        with self.lock:
            until = self.clock() + seconds
            if until >= self.not_before:
                self.not_before = self._served.until = until

    def told(self, error: Exception) -> Exception:
        """An error carrying a server's Retry-After holds every request here
        for that long (the pool's other workers too); returned as it is."""
        seconds = getattr(error, "retry_after", None)
        if seconds:
            self.hold(seconds)
        return error

    def wait(self, sleep: Callable[..., None], stop: threading.Event | None = None) -> float:
        """Block until a request may go; returns the seconds waited.  `stop`
        (the workspace's stop request) holds back a request that must wait:
        its wait ends at once (`sleep(seconds, stop)` returns early), it is
        not sent, and it fails as a transient error the retry loop reports
        as interrupted.  One that may go at once goes."""
        waited = 0.0
        while True:
            with self.lock:
                now = self.clock()
                while self.stamps and now - self.stamps[0] >= self.window:
                    self.stamps.popleft()
                if now < self.not_before and self.not_before > getattr(self._served, "until", 0.0):
                    pause = self.not_before - now
                    self._served.until = self.not_before
                elif len(self.stamps) < self.limit:
                    self.stamps.append(now)
                    return waited
                else:
                    pause = self.window - (now - self.stamps[0])
            # Only a request that must wait is held back by a stop: one that
            # may go at once goes, as the running sync is let finish.
            if stop is None:
                sleep(pause)
            elif stop.is_set():
                raise _stopped()
            else:
                sleep(pause, stop)
                if stop.is_set():
                    raise _stopped()
            waited += pause


def _stopped() -> TransientError:
    return TransientError("waiting for the rate limit (a server's Retry-After or the "
                          "requests-per-window ceiling) when the worker was asked to stop")


class Limiters:
    """The process's limiters, one per (service, host, credentials)."""

    def __init__(self):
        self._by_key: dict[str, SlidingWindow] = {}
        self._lock = threading.Lock()

    def get(self, *identity: str, limit: int, window: float) -> SlidingWindow:
        # Keyed by a hash so the registry never holds a token itself.
        key = hashlib.sha256("\0".join(identity).encode()).hexdigest()
        with self._lock:
            if key not in self._by_key:
                self._by_key[key] = SlidingWindow(limit, window)
            return self._by_key[key]

    def __len__(self) -> int:
        return len(self._by_key)
