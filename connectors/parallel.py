"""Requests in parallel, results in order: a bounded pool for connectors.

A tracker answers one page in half a second or more; read one after another,
a big query spends nearly all its time waiting.  `ordered` runs a function
over items on at most `workers` threads and yields the results in the
items' order, whatever order they finish in, so a sync's result does not
depend on timing.  Items are pulled lazily and at most `2 × workers` results
(or the caller's `window`) wait at once: a long listing is fetched while it is still being read, and
memory holds a window of pages, never all of them.

The first failure cancels what has not started, waits for what is running
(each request is bounded by its own retry deadline) and is raised: no thread
outlives the call.  Every request still goes through the connector's own
limiter and retries; a `Retry-After` seen by one worker holds them all
there (sync.worker.ratelimit).
"""
from __future__ import annotations

import contextvars
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

A = TypeVar("A")
R = TypeVar("R")


def ordered(fn: Callable[[A], R], items: Iterable[A], workers: int,
            name: str = "fetch", spare: int = 0, window: int | None = None) -> Iterator[R]:
    """fn(item) for every item, on up to `workers` threads, in item order.
    `spare`: threads beyond `workers`, for a caller whose own semaphore keeps
    `workers` requests in flight: a thread turning its answer into tickets
    (the GIL held) then no longer delays the next request.  `window`: items
    taken at most (running or waiting for their turn; default twice the
    threads), for items that are big themselves (4 MB request bodies)."""
    if workers <= 1:
        # One at a time needs no thread (and keeps a traceback simple).
        for item in items:
            yield fn(item)
        return
    pool = ThreadPoolExecutor(max_workers=workers + spare, thread_name_prefix=name)
    waiting: deque[Future] = deque()
    window = window or 2 * (workers + spare)
    try:
        for item in items:
            # The caller's log context (run id, workspace) on every line a worker logs.
            waiting.append(pool.submit(contextvars.copy_context().run, fn, item))
            while len(waiting) >= window:
                yield waiting.popleft().result()
        while waiting:
            yield waiting.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
