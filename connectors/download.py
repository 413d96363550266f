"""A download with one deadline: connecting, the answer's headers, its body
and nothing after it.

A read timeout bounds each socket read, so a server that sends a byte now
and then (its headers or its body) never trips it and would hold `check` or
a sync for as long as it likes.  Here the sockets a download opens are
recorded as they connect (its own connection classes), and a watcher thread
shuts them at the deadline, or when the worker is asked to stop: a read
blocked in one ends at once, in whatever part of the answer it was.
"""
from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class BodyTooSlow(Exception):
    """The deadline came before the answer's end."""


class BodyTooLarge(Exception):
    """The answer was longer than its cap."""


def _recording(base: type, sockets: list) -> type:
    class Recorded(base):
        def connect(self):
            super().connect()
            sockets.append(self.sock)
    return Recorded


class ConnectionsAdapter(HTTPAdapter):
    """requests' adapter whose pools open connections of the classes given
    (a download's recording ones; a webhook's guarded ones)."""

    def __init__(self, plain: type[HTTPConnection], tls: type[HTTPSConnection]):
        self.plain, self.tls = plain, tls
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("PlainPool", (HTTPConnectionPool,), {"ConnectionCls": self.plain}),
            "https": type("TlsPool", (HTTPSConnectionPool,), {"ConnectionCls": self.tls})}


class Stopped(Exception):
    """The worker was asked to stop while the download went on."""


@contextmanager
def session_until(deadline: float, stop: threading.Event | None = None):
    """A `requests` session whose sockets are shut at `deadline` (a
    `time.monotonic()` value), or as soon as `stop` is set; leaving the block
    then raises BodyTooSlow (or Stopped), whatever the shut socket made the
    client raise."""
    sockets: list = []
    late, done = threading.Event(), threading.Event()
    stop = stop or threading.Event()

    def watch() -> None:
        # A tenth of a second at a time: the deadline, a stop or the end.
        while not done.wait(0.1):
            if stop.is_set() or time.monotonic() >= deadline:
                late.set()
                for sock in list(sockets):
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass             # already closed
                return

    session = requests.Session()
    adapter = ConnectionsAdapter(_recording(HTTPConnection, sockets), _recording(HTTPSConnection, sockets))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    watcher = threading.Thread(target=watch, name="download-deadline", daemon=True)
    watcher.start()
    try:
        yield session
    except Exception:
        if late.is_set():
            raise (Stopped if stop.is_set() else BodyTooSlow)() from None
        raise
    finally:
        done.set()
        watcher.join(timeout=5)
        session.close()
    if late.is_set():                    # a shut socket can read as the answer's end: cut short
        raise (Stopped if stop.is_set() else BodyTooSlow)()


def read_body(response, *, deadline: float, max_bytes: int, chunk: int = 65536) -> bytes:
    """The body of a streamed response (inside `session_until`), whole by
    `deadline` and at most `max_bytes` long."""
    chunks, size = [], 0
    for piece in response.iter_content(chunk):
        size += len(piece)
        if size > max_bytes:
            raise BodyTooLarge()
        if time.monotonic() > deadline:
            raise BodyTooSlow()
        chunks.append(piece)
    return b"".join(chunks)
