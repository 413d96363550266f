"""Retrying one remote request: the loop under `connectors.http.call`.

Only `TransientError` is retried (429, 5xx, timeouts, dropped connections),
one request at a time, never a paginating loop.  A `Retry-After` from the
server sets the wait, otherwise exponential backoff with jitter.  Each
request has one deadline, its attempts and waits included: a wait that would
end past it is not started, and the error then says what the server asked
for (a `Retry-After: 86400` fails at once, it does not hold a sync for a
day).  A stop request (`runtime.stop`, set when the worker is asked to
stop) ends a wait at once and the request fails as interrupted: the sync
ends, leaving the sheet as it was, instead of holding the exit for minutes
of retries.  The client libraries' own retries are switched off where they
are built.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, TypeVar

import structlog
from tenacity import (RetryCallState, Retrying, retry_if_exception, stop_after_attempt,
                      stop_before_delay, wait_exponential_jitter)

from sync.core.errors import Interrupted, TransientError
from sync.worker.runtime import Runtime

log = structlog.get_logger("align_sync.retry")
T = TypeVar("T")


def sleep(seconds: float, stop: threading.Event | None = None) -> None:
    """Wait `seconds`, or until `stop` is set.  Tests replace this (or
    time.sleep) to run retries without waiting."""
    if stop is None:
        time.sleep(seconds)
    else:
        stop.wait(seconds)


_backoff = wait_exponential_jitter(initial=1, max=30, jitter=1)


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, TransientError) and exc.retry_after is not None:
        return exc.retry_after
    return _backoff(state)


def run(service: str, once: Callable[[], T], *, runtime: Runtime, attempts: int,
        seconds: float) -> T:
    """`once()` until it returns, raises anything but TransientError, runs
    out of `attempts`, the next wait would end past `seconds` from now, or
    the worker is asked to stop (`runtime.stop`: the wait ends at once)."""
    failed: list[TransientError] = []        # the failure the coming wait follows

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception()
        if runtime.stop.is_set():
            raise interrupted(exc)
        failed[:] = [exc]
        log.warning("http.retry", service=service, attempt=state.attempt_number,
                    wait=round(state.upcoming_sleep, 2), error=exc.message)
        runtime.telemetry.count_retry(service, exc)

    def pause(seconds: float) -> None:
        sleep(seconds, runtime.stop)
        if runtime.stop.is_set():
            raise interrupted(failed[0])

    def give_up(state: RetryCallState):
        exc = state.outcome.exception()
        if isinstance(exc, TransientError) and exc.retry_after is not None and \
                state.attempt_number < attempts and state.seconds_since_start + state.upcoming_sleep >= seconds:
            raise TransientError(f"{exc.message}; the server asked to wait {exc.retry_after:g} s, "
                                 f"past this request's {seconds:g} s deadline",
                                 hint=exc.hint or "it is tried again at the next sync",
                                 source=exc.source) from None
        raise exc

    # An interrupted request is final: the worker is stopping.
    retrying = Retrying(retry=retry_if_exception(lambda exc: isinstance(exc, TransientError)
                                                 and not isinstance(exc, Interrupted)),
                        stop=stop_after_attempt(attempts) | stop_before_delay(seconds),
                        wait=_wait, sleep=pause, before_sleep=before_sleep,
                        retry_error_callback=give_up)
    return retrying(once)


def interrupted(exc: TransientError) -> Interrupted:
    """The request's last failure, not tried again: the worker is stopping."""
    return Interrupted(f"interrupted: {exc.message}; not tried again, the worker is stopping",
                          hint="the next sync after the restart tries again", source=exc.source)
