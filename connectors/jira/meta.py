"""What the Jira source needs besides issues: the server's kind, the field
ids behind configured names, the API user's time zone, each cached in the
state store for a day so a sync spends its requests on issues.  Also the one
place that turns a Jira or HTTP failure into an align-sync error.
"""
from __future__ import annotations

import difflib
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from sync.core.errors import AlignSyncError, ConfigError, RemoteError, TransientError

from connectors import retry
from connectors.jira.issue import JiraFieldIds

TTL = timedelta(hours=24)


# Why Atlassian says 401 or 403, in words a person can act on.  Kept as one
# table so a shared status-to-error layer can take it over whole.
AUTH_HINTS = {
    "expired": "Atlassian API tokens live at most a year (every token made before mid-December "
               "2024 expired between March and May 2026); a token may also have been revoked. "
               "Create a new one (id.atlassian.com → Security → API tokens; a service account's in "
               "admin.atlassian.com → Directory → Service accounts) and update source.auth.token",
    "scoped": "a scoped API token or a service account's token works only through the gateway "
              "https://api.atlassian.com/ex/jira/<cloud id>: set source.cloud_id: auto",
    "pat": "the personal access token expired or was revoked: create a new one under your Jira "
           "profile → Personal access tokens and update source.auth.token",
    "scope": "the scoped token lacks a scope: give it read:jira-work and read:jira-user (classic "
             "scopes), or make a new token with them",
    "permission": "the account needs the Browse projects permission on every project the JQL names"
                  " (a scoped token also needs read:jira-work)",
}


def auth_hint(status: int, text: str, config) -> tuple[str, str]:
    """(what happened, what to do) for a 401 or 403 from Jira or the gateway."""
    if status == 401 and "scope" in text.lower():
        return "the token's scopes do not allow this call", AUTH_HINTS["scope"]
    if status == 403:
        return "the account may not do this", AUTH_HINTS["permission"]
    if not config.auth.email:
        return "the token is wrong, revoked or expired", AUTH_HINTS["pat"]
    if getattr(config, "cloud_id", None):
        return "the token is wrong, revoked or expired", AUTH_HINTS["expired"]
    return ("the token is wrong, revoked or expired, or is a scoped token sent to the site "
            "instead of the gateway", f"{AUTH_HINTS['expired']}; or: {AUTH_HINTS['scoped']}")


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


def translate(exc: Exception, what: str, config) -> AlignSyncError:
    from jira.exceptions import JIRAError
    if isinstance(exc, (requests.Timeout, requests.ConnectionError)):
        return TransientError(f"Jira {what}: {type(exc).__name__} talking to {config.url}",
                              hint="check source.url and that this host can reach it")
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        status = exc.response.status_code
    elif isinstance(exc, JIRAError):
        status = exc.status_code or 0
    else:
        return RemoteError(f"Jira {what}: unexpected {type(exc).__name__}")
    text = _messages(exc)
    headers = getattr(exc.response, "headers", None) or {}
    if status == 429 or status >= 500:
        return TransientError(f"Jira {what}: HTTP {status}" + (f" ({text})" if text else ""),
                              retry_after=retry.retry_after(headers.get("Retry-After")))
    if status in (401, 403):
        happened, hint = auth_hint(status, text, config)
        said = f": {text}" if text and (status == 403 or "scope" in text.lower()) else ""
        verb = "rejected the credentials" if status == 401 else f"refused {what}"
        return RemoteError(f"Jira {verb} (HTTP {status}{said}): {happened}", hint=hint)
    if status == 400 and what == "search":
        return ConfigError(f"Jira rejected source.jql: {text or 'HTTP 400'}",
                           hint="fix the JQL; try it in Jira's issue search first")
    if status == 404:
        return RemoteError(f"Jira {what}: HTTP 404 at {config.url}",
                           hint="check source.url (the site's base URL, without /jira or /rest)")
    if status == 410:
        return RemoteError(f"Jira {what}: HTTP 410, this API was removed: {text}")
    return RemoteError(f"Jira {what}: HTTP {status}" + (f": {text}" if text else ""))


class JiraMeta:
    def __init__(self, source, state, now: datetime):
        self.source = source
        self.state = state
        self.now = now
        self._server: dict | None = None

    def _cached(self, key: str, load):
        entry = self.state.get_json(self.source.name, key)
        if entry and self.now - datetime.fromisoformat(entry["at"]) < TTL:
            return entry["value"]
        value = load()
        self.state.stage(self.source.name, key, {"at": self.now.isoformat(), "value": value})
        return value

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

    def field_list(self) -> list[dict]:
        client = self.source.client
        return self._cached("field_list", lambda: [
            {"id": f.get("id"), "name": f.get("name"), "clauseNames": f.get("clauseNames", [])}
            for f in self.source.request("field list", client.fields)])

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

