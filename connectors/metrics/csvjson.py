"""A CSV or JSON metric source: a file at an https URL or a local path.

CSV: a header row, then one reading a row.  JSON: a list of objects.  The
columns (keys) are `date`, `metric` and `value` unless `columns:` renames
them (`{date: Day, metric: KPI, value: Value}`).  A download is bounded:
https only, no redirects (a redirect could hand our headers to another
host), a timeout, and at most MAX_BYTES.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

import requests
from pydantic import field_validator

from sync.core.config import Strict
from sync.core.errors import DataError
from sync.worker.runtime import Runtime

from connectors import http as remote
from connectors.files.source import beside_config

MAX_BYTES = 10 * 1024 * 1024
TIMEOUT = (5, 30)
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
        if not _remote(self.config.url):
            path = beside_config(self.config.url, self.base_dir)
            try:
                if path.stat().st_size > MAX_BYTES:
                    raise DataError(f"{path} is over {MAX_BYTES // 2**20} MB")
                return path.read_bytes()
            except OSError as exc:
                raise DataError(f"cannot read {path}: {exc.strerror}") from None
        return download(self.config.url, self.config.headers, self.runtime)

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


def download(url: str, headers: dict[str, str], runtime: Runtime) -> bytes:
    """GET with a timeout, no redirects and a size cap, through the shared
    request door (retried once on a 5xx or a dropped connection: a metric
    source must not hold the sync).  Messages name the host only: the URL and
    headers may carry a token."""
    host = urlparse(url).hostname or "the server"

    def once() -> bytes:
        try:
            with requests.get(url, headers=headers, timeout=TIMEOUT, stream=True,
                              allow_redirects=False) as response:
                status = response.status_code
                if status >= 300:             # a redirect too: connectors.http says what each means
                    raise remote.status_error("metrics", status, label=host, what="download", host=host,
                                              retry_after=remote.retry_after(
                                                  response.headers.get("Retry-After")),
                                              redact=runtime.redactor)
                chunks, size = [], 0
                for chunk in response.iter_content(65536):
                    size += len(chunk)
                    if size > MAX_BYTES:
                        raise DataError(f"{host} sent over {MAX_BYTES // 2**20} MB; stopped reading")
                    chunks.append(chunk)
                return b"".join(chunks)
        except requests.RequestException as exc:
            raise remote.network_error("metrics", "download", exc, label=host) from None

    return remote.call("metrics", once, runtime=runtime, attempts=2, seconds=60)


def register(registry) -> None:
    build = lambda config, runtime, sink: FileMetrics(config, runtime.base_dir, runtime)   # noqa: E731
    for type_ in ("csv", "json"):
        registry.add("metric", type_, FileMetricsConfig, build, secrets=(), credentials=("url", "headers.*"))
