"""What the Jira source needs besides issues: the server's kind, the field
ids behind configured names, the API user's time zone, each cached in the
state store for a day so a sync spends its requests on issues.  Also reading
a Jira failure out of the library's exception for `connectors.http`.
"""
from __future__ import annotations

import difflib
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from sync.core.errors import AlignSyncError, ConfigError, RemoteError

from connectors import http
from connectors.jira.issue import JiraFieldIds

TTL = timedelta(hours=24)


def auth_case(text: str, config) -> str:
    """Which kind of refused credential a 401 most likely is, for the Jira
    hints in `connectors.http`: a scoped token's missing scope, a personal
    access token (Data Center), a token sent through the gateway, or an API
    token sent to the site (expired, revoked, or scoped and needing the gateway)."""
    if "scope" in text.lower():
        return "scope"
    if not config.auth.email:
        return "pat"
    return "gateway" if getattr(config, "cloud_id", None) else "site"


def _messages(exc) -> str:
    """Jira's own error text (errorMessages + errors; the gateway's `message`),
    never headers or URLs."""
    response = getattr(exc, "response", None)
    try:
        body = response.json() if response is not None else {}
    except ValueError:
        body = {}
    parts = list(body.get("errorMessages") or []) if isinstance(body, dict) else []
    if isinstance(body, dict) and isinstance(body.get("errors"), dict):
        parts += [f"{k}: {v}" for k, v in body["errors"].items()]
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        parts.append(body["message"])
    return "; ".join(str(p) for p in parts)


def translate(exc: Exception, what: str, config, redact) -> AlignSyncError:
    """A failure of the jira library, read out for `http.status_error`."""
    # lazy: the jira library (0.1 s to import) loads only when a Jira source connects
    from jira.exceptions import JIRAError
    if isinstance(exc, (requests.Timeout, requests.ConnectionError)):
        return http.network_error("jira", what, exc, hint=f"check source.url ({config.url}) and that "
                                                           "this host can reach it")
    if not isinstance(exc, JIRAError):
        return RemoteError(f"Jira {what}: unexpected {type(exc).__name__}")
    headers = getattr(exc.response, "headers", None) or {}
    kind = "API token (with auth.email)" if config.auth.email else "personal access token"
    return http.status_error("jira", exc.status_code or 0, what=what, text=_messages(exc),
                             variant=("label" if what.startswith("label") else "", what, auth_case(_messages(exc), config)),
                             retry_after=http.retry_after(headers.get("Retry-After")),
                             redact=redact, kind=kind, url=config.url)


class JiraMeta:
    def __init__(self, source, state, now: datetime):
        self.source = source
        self.state = state
        self.now = now
        self._server: dict | None = None
        self._fields_ahead: Future | None = None

    def _cached(self, key: str, load):
        return self.state.cached(self.source.name, key, self.now, TTL, load)

    def server_info(self) -> dict:
        client = self.source.client

        def load() -> dict:
            info = self.source.request("server info", client.server_info)
            return {k: info.get(k) for k in ("deploymentType", "versionNumbers", "serverTimeZone")}
        self._server = self._cached("server", load)
        return self._server

    def myself(self) -> dict:
        return self.source.request("auth check (/myself)", self.source.client.myself)

    def user_zone(self) -> tzinfo:
        """JQL dates are read in the API user's time zone (else the server's)."""
        def load() -> str:
            return self.myself().get("timeZone") or ""
        name = self._cached("user_zone", load) or (self._server or {}).get("serverTimeZone") or "UTC"
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    @contextmanager
    def fields_alongside(self):
        """The field list read on a thread while the block runs (serverInfo,
        in a fetch): when the day's copies of both are stale, two round trips
        cost one.  Leaving the block waits for it; a failure of the block is
        raised as it always was (the list is dropped), and a failed list is
        raised by `field_list`, where it always was."""
        if self.state.fresh(self.source.name, "field_list", self.now, TTL):
            yield
            return
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jira-fields")
        try:
            ahead = pool.submit(self._read_fields)
            yield
        finally:
            pool.shutdown(wait=True)
        self._fields_ahead = ahead

    def _read_fields(self) -> list[dict]:
        return [{"id": f.get("id"), "name": f.get("name"), "clauseNames": f.get("clauseNames", [])}
                for f in self.source.request("field list", self.source.client.fields)]

    def field_list(self) -> list[dict]:
        ahead, self._fields_ahead = self._fields_ahead, None
        return self._cached("field_list", ahead.result if ahead else self._read_fields)

    def field_ids(self) -> JiraFieldIds:
        client = self.source.client
        fields = self.field_list()
        # Hand the library the same list so it does not fetch /field again on
        # the first search that names fields.
        client._fields_cache_value = {n: f["id"] for f in fields for n in f.get("clauseNames") or []}
        wanted = self.source.config.fields
        epic = next((f["id"] for f in fields if (f.get("name") or "").lower() == "epic link"), None)
        return JiraFieldIds(self._resolve(fields, "estimate", wanted.estimate),
                            self._resolve(fields, "acceptance", wanted.acceptance),
                            epic if not self.source.cloud else None)

    def _resolve(self, fields: list[dict], key: str, wanted: str | None) -> str | None:
        if not wanted:
            return None
        low = wanted.strip().lower()
        for f in fields:
            if f["id"] == wanted or (f.get("name") or "").lower() == low or \
                    low in (c.lower() for c in f.get("clauseNames") or []):
                return f["id"]
        names = sorted({f.get("name") or f["id"] for f in fields})
        close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.5)
        raise ConfigError(f"source.fields.{key}: no Jira field is named or has the id {wanted!r}",
                          hint=f"close names: {', '.join(close)}" if close
                          else "see the field list under Jira settings → Issues → Custom fields")

