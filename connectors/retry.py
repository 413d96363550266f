"""Retrying one remote request: the loop under `connectors.http.call`.

Only `TransientError` is retried (429, 5xx, timeouts, dropped connections),
one request at a time, never a paginating loop.  A `Retry-After` from the
server sets the wait, otherwise exponential backoff with jitter.  Each
request has one deadline, its attempts and waits included: a wait that would
end past it is not started, and the error then says what the server asked
for (a `Retry-After: 86400` fails at once, it does not hold a sync for a
day).  The client libraries' own retries are switched off where they are built.
"""
from __future__ import annotations

import time
from typing import Callable, TypeVar

import structlog
from tenacity import (RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt,
                      stop_before_delay, wait_exponential_jitter)

from sync.core.errors import TransientError
from sync.worker.runtime import Runtime

log = structlog.get_logger("align_sync.retry")
T = TypeVar("T")


def sleep(seconds: float) -> None:
    """Tests replace this (or time.sleep) to run retries without waiting."""
    time.sleep(seconds)


_backoff = wait_exponential_jitter(initial=1, max=30, jitter=1)


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, TransientError) and exc.retry_after is not None:
        return exc.retry_after
    return _backoff(state)


def run(service: str, once: Callable[[], T], *, runtime: Runtime, attempts: int,
        seconds: float) -> T:
    """`once()` until it returns, raises anything but TransientError, runs
    out of `attempts`, or the next wait would end past `seconds` from now."""

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception()
        log.warning("http.retry", service=service, attempt=state.attempt_number,
                    wait=round(state.upcoming_sleep, 2), error=exc.message)
        runtime.telemetry.count_retry(service, exc)

    def give_up(state: RetryCallState):
        exc = state.outcome.exception()
        if isinstance(exc, TransientError) and exc.retry_after is not None and \
                state.attempt_number < attempts and state.seconds_since_start + state.upcoming_sleep >= seconds:
            raise TransientError(f"{exc.message}; the server asked to wait {exc.retry_after:g} s, "
                                 f"past this request's {seconds:g} s deadline",
                                 hint=exc.hint or "it is tried again at the next sync",
                                 source=exc.source) from None
        raise exc

    retrying = Retrying(retry=retry_if_exception_type(TransientError),
                        stop=stop_after_attempt(attempts) | stop_before_delay(seconds),
                        wait=_wait, sleep=lambda s: sleep(s), before_sleep=before_sleep,
                        retry_error_callback=give_up)
    return retrying(once)
