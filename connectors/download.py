"""A download with one deadline: connecting, the answer's headers, its body
and nothing after it.

A read timeout bounds each socket read, so a server that sends a byte now
and then (its headers or its body) never trips it and would hold `check` or
a sync for as long as it likes.  Here the sockets a download opens are
recorded as they connect (its own connection classes), and at the deadline
a timer shuts them: a read blocked in one ends at once, in whatever part of
the answer it was.
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


@contextmanager
def session_until(deadline: float):
    """A `requests` session whose sockets are shut at `deadline` (a
    `time.monotonic()` value); leaving the block past it raises BodyTooSlow,
    whatever the shut socket made the client raise."""
    sockets: list = []
    late = threading.Event()

    def shut() -> None:
        late.set()
        for sock in list(sockets):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass                     # already closed

    session = requests.Session()
    adapter = ConnectionsAdapter(_recording(HTTPConnection, sockets), _recording(HTTPSConnection, sockets))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    timer = threading.Timer(max(0.0, deadline - time.monotonic()), shut)
    timer.daemon = True
    timer.start()
    try:
        yield session
    except Exception:
        if late.is_set():
            raise BodyTooSlow() from None
        raise
    finally:
        timer.cancel()
        session.close()
    if late.is_set():                    # a shut socket can read as the answer's end: cut short
        raise BodyTooSlow()


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
