"""Retrying one remote request: the policy every connector shares.

Only `TransientError` is retried (429, 5xx, timeouts, dropped connections),
one request at a time, never a paginating loop; a `Retry-After` from the
server sets the wait, otherwise exponential backoff with jitter.  Attempts
and total time are capped so one sync stays bounded.  The client libraries'
own retries are switched off where they are built.
"""
from __future__ import annotations

import email.utils
import time
from datetime import datetime, timezone
from typing import Callable, TypeVar

import structlog
from tenacity import (RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt,
                      stop_after_delay, wait_exponential_jitter)

from sync.core.errors import AlignSyncError, TransientError
from sync.worker.runtime import Runtime

log = structlog.get_logger("align_sync.retry")
T = TypeVar("T")

ATTEMPTS = 5                 # the default (sync.worker.runtime.RetrySettings); `check` uses 2
MAX_WAIT = 120.0             # a Retry-After beyond this is capped


def sleep(seconds: float) -> None:
    """Tests replace this (or time.sleep) to run retries without waiting."""
    time.sleep(seconds)


_backoff = wait_exponential_jitter(initial=1, max=30, jitter=1)
def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: a number, or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, TransientError) and exc.retry_after is not None:
        return min(exc.retry_after, MAX_WAIT)
    return _backoff(state)


def call(service: str, request: Callable[[], T], *, runtime: Runtime,
         translate: Callable[[Exception], Exception] | None = None,
         attempts: int | None = None) -> T:
    """Run one request, retrying it on TransientError within the workspace's
    caps (`runtime.retry`; `attempts` lowers them for one call).

    `translate` turns a client library's exception into an align-sync error
    (which decides whether it is retried); it sees every failure."""
    attempts = attempts or runtime.retry.attempts

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception()
        log.warning("http.retry", service=service, attempt=state.attempt_number,
                    wait=round(state.upcoming_sleep, 2), error=exc.message)
        runtime.telemetry.count_retry(service, exc)

    retrying = Retrying(retry=retry_if_exception_type(TransientError),
                        stop=stop_after_attempt(attempts) | stop_after_delay(runtime.retry.max_seconds),
                        wait=_wait, sleep=lambda s: sleep(s), before_sleep=before_sleep,
                        reraise=True)
    def once() -> T:
        try:
            return request()
        except Exception as exc:
            if translate is None or isinstance(exc, AlignSyncError):
                raise
            raise translate(exc) from None

    return retrying(once)
