"""A CSV or JSON metric source: a file at an https URL or a local path.

CSV: a header row, then one reading a row.  JSON: a list of objects.  The
columns (keys) are `date`, `metric` and `value` unless `columns:` renames
them (`{date: Day, metric: KPI, value: Value}`).  A download is bounded:
https only, no redirects (a redirect could hand our headers to another
host), DOWNLOAD_SECONDS for the whole of it, and at most MAX_BYTES.  A
local path must be a regular file (not a device or FIFO, which never end)
and is read up to MAX_BYTES too.
"""
from __future__ import annotations

import csv
import io
import json
import os
import stat
import time
from datetime import date
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

import requests
from pydantic import field_validator

from sync.core.config import Strict
from sync.core.errors import DataError, Interrupted, RemoteError
from sync.worker.runtime import Runtime

from connectors import download as dl
from connectors import http as remote
from connectors.files.source import beside_config

MAX_BYTES = 10 * 1024 * 1024
DOWNLOAD_SECONDS = 30.0       # the whole download: docs/forecasts.md says so
CONNECT_SECONDS = 5.0
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class Columns(Strict):
    date: str = "date"
    metric: str = "metric"
    value: str = "value"


def _remote(url: str) -> bool:
    return "://" in url


class FileMetricsConfig(Strict):
    type: Literal["csv", "json"]
    name: str
    url: str                          # https URL or a local path
    columns: Columns = Columns()
    headers: dict[str, str] = {}      # sent with the download; values from ${ENV}

    @field_validator("url")
    @classmethod
    def _https(cls, url: str) -> str:
        if not _remote(url):
            return url
        parsed = urlparse(url)
        if parsed.scheme == "https" and parsed.hostname:
            return url
        if parsed.scheme == "http" and parsed.hostname in _LOOPBACK:
            return url                # a server on this machine (tests), never the network
        raise ValueError("expected an https:// URL or a local file path "
                         "(plain http only to this machine)")


class FileMetrics:
    def __init__(self, config: FileMetricsConfig, base_dir: Path | None = None,
                 runtime: Runtime | None = None):
        self.config = config
        self.name = config.name
        self.base_dir = base_dir
        self.runtime = runtime or Runtime()

    def _bytes(self) -> bytes:
        if _remote(self.config.url):
            return download(self.config.url, self.config.headers, self.runtime, self.name)
        return read_local(beside_config(self.config.url, self.base_dir), self.name)

    def read(self, since: date) -> list[tuple]:
        data = self._bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DataError("not UTF-8 text") from None
        records = _csv(text) if self.config.type == "csv" else _json(text)
        cols = self.config.columns
        wanted = (cols.date, cols.metric, cols.value)
        if records:
            have = set().union(*(r.keys() for r in records))
            missing = [c for c in wanted if c not in have]
            if missing:
                raise DataError(f"no column {', '.join(repr(m) for m in missing)} (found: "
                                f"{', '.join(sorted(map(str, have)))[:200]}); name them with `columns:`")
        return [tuple(r.get(c) for c in wanted) for r in records]

    def check(self) -> str:
        return f"{len(self.read(date.today()))} rows"


def _csv(text: str) -> list[dict]:
    return [dict(row) for row in csv.DictReader(io.StringIO(text))]


def _json(text: str) -> list[dict]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"not JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise DataError("expected a JSON list of objects, one per reading")
    return data


def _size(limit: int) -> str:
    return f"{limit // 2**20} MB" if limit % 2**20 == 0 else f"{limit:,} bytes"


def read_local(path: Path, name: str) -> bytes:
    """A regular file's bytes, at most MAX_BYTES.  Opened without blocking
    (a FIFO would wait for a writer) and checked on the open file, so a path
    swapped after a look is still caught; one more byte than the cap is
    read, so a file that grows past it is refused too."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise DataError(f"metrics {name}: cannot read {path}: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise DataError(f"metrics {name}: {path} is not a regular file (a folder, device or "
                            "pipe); give the path of a CSV or JSON file")
        with open(fd, "rb", closefd=False) as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise DataError(f"metrics {name}: cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise DataError(f"metrics {name}: {path} is over the {_size(MAX_BYTES)} limit for a metric "
                        "file; not read")
    return data


def download(url: str, headers: dict[str, str], runtime: Runtime, name: str = "") -> bytes:
    """GET with no redirects and a size cap, whole within DOWNLOAD_SECONDS
    (its connection, the wait for the answer, the body and a retry all count:
    a server trickling a row now and then must not hold `check` or a sync),
    through the shared request door (retried once on a 5xx or a dropped
    connection).  Messages name the host only: the URL and headers may carry
    a token."""
    host = urlparse(url).hostname or "the server"
    named = f"metrics {name}: " if name else ""
    limit = DOWNLOAD_SECONDS
    deadline = time.monotonic() + limit
    too_slow = f"{named}the download from {host} took longer than {limit:g} s; stopped"
    hint = "the server sends it too slowly: serve the file faster, or make it smaller"

    def once() -> bytes:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RemoteError(too_slow, hint=hint)
        try:
            with dl.session_until(deadline, runtime.stop) as session, \
                    session.get(url, headers=headers, timeout=(min(CONNECT_SECONDS, left), left),
                                stream=True, allow_redirects=False) as response:
                status = response.status_code
                if status >= 300:             # a redirect too: connectors.http says what each means
                    raise remote.status_error("metrics", status, label=host, what="download", host=host,
                                              retry_after=remote.retry_after(
                                                  response.headers.get("Retry-After")),
                                              redact=runtime.redactor)
                return dl.read_body(response, deadline=deadline, max_bytes=MAX_BYTES)
        except dl.BodyTooSlow:
            raise RemoteError(too_slow, hint=hint) from None
        except dl.Stopped:
            raise Interrupted(f"interrupted: {named}the download from {host}; not finished, the worker "
                              "is stopping", hint="the next sync after the restart tries again") from None
        except dl.BodyTooLarge:
            raise DataError(f"{named}{host} sent over {_size(MAX_BYTES)}; stopped reading") from None
        except requests.RequestException as exc:
            if time.monotonic() >= deadline:   # the read timeout was the time left
                raise RemoteError(too_slow, hint=hint) from None
            raise remote.network_error("metrics", "download", exc, label=host) from None

    return remote.call("metrics", once, runtime=runtime, attempts=2, seconds=limit)


def register(registry) -> None:
    build = lambda config, runtime, sink: FileMetrics(config, runtime.base_dir, runtime)   # noqa: E731
    for type_ in ("csv", "json"):
        registry.add("metric", type_, FileMetricsConfig, build, secrets=(), credentials=("url", "headers.*"))
