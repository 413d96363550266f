"""The one door every connector's remote requests pass through.

- `call`: one request, retried on `TransientError` only, within one deadline
  for all its attempts and waits (`connectors.retry`); the errors it lets out
  are redacted with the process's redactor.
- `status_error`: an HTTP status (and the server's own words) as one of our
  errors, with what to fix: the per-service hint table below is the only
  place a status is given a meaning.
- `network_error`, `retry_after`: a dropped connection or timeout, and the
  server's `Retry-After`, read the same way for every service.
- `read_body`: a streamed answer's body within one deadline and a size cap
  (a client's read timeout bounds each socket read, not the whole body).

Connectors keep only what their client library needs: pulling the status,
the text and the headers out of its exception.
"""
from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, TypeVar

from sync.core.errors import AlignSyncError, ConfigError, RemoteError, TransientError
from sync.worker.runtime import Runtime

from connectors import retry

T = TypeVar("T")
NAMES = {"jira": "Jira", "trello": "Trello", "sheets": "Google Sheets"}
# Services whose 429 carries no Retry-After: how long their window is.
RATE_WINDOW = {"trello": 11.0, "sheets": 20.0}   # Trello: 100 per 10 s; Sheets: buckets per minute


@dataclass(frozen=True)
class Hint:
    error: type[AlignSyncError]
    message: str            # fields: subject, status, detail (": text" or ""), said, and the caller's words
    hint: str = ""


_REVOKED = "create a new incoming webhook and update it in {where}"
_GONE = Hint(RemoteError, "{subject}: the webhook was revoked or its channel archived (HTTP {status}{detail})",
             _REVOKED)
_REMOVED = Hint(RemoteError, "{subject}: the workflow webhook was removed or disabled (HTTP {status})",
                "recreate the Teams workflow and update it in {where}")
_REDIRECT = Hint(RemoteError, "{subject}: answered HTTP {status}, a redirect to {location}, not followed",
                 "a webhook URL must be the final address: update it in {where}")
# Why Atlassian refuses credentials, in words a person can act on.
_JIRA_AUTH = {
    "expired": "create a new API token (Atlassian tokens live at most a year; every token made before "
               "mid-December 2024 expired between March and May 2026; a token may also have been "
               "revoked): id.atlassian.com → Security → API tokens, or for a service account "
               "admin.atlassian.com → Directory → Service accounts; then update source.auth.token",
    "scoped": "a scoped API token or a service account's token works only through the gateway "
              "https://api.atlassian.com/ex/jira/<cloud id>: set source.cloud_id: auto",
    "pat": "the personal access token expired or was revoked: create a new one under your Jira "
           "profile → Personal access tokens and update source.auth.token",
    "scope": "the scoped token lacks a scope: give it read:jira-work and read:jira-user (classic "
             "scopes), or make a new token with them",
    "permission": "the account needs the Browse projects permission on every project the JQL names"
                  " (a scoped token also needs read:jira-work)",
}
# (service, status or "status variant") -> what it means; anything else is a
# RemoteError quoting the server.  429 and 5xx are always transient.
HINTS: dict[str, dict[int | str, Hint]] = {
    "jira": {
        "401 scope": Hint(RemoteError, "Jira rejected the credentials for {what} (HTTP 401{detail}): the "
                                       "token's scopes do not allow this call", _JIRA_AUTH["scope"]),
        "401 pat": Hint(RemoteError, "Jira rejected the credentials (HTTP 401): the token is wrong, "
                                     "revoked or expired", _JIRA_AUTH["pat"]),
        "401 gateway": Hint(RemoteError, "Jira rejected the credentials (HTTP 401): the token is wrong, "
                                         "revoked or expired", _JIRA_AUTH["expired"]),
        401: Hint(RemoteError, "Jira rejected the credentials (HTTP 401): the token is wrong, revoked or "
                               "expired, or is a scoped token sent to the site instead of the gateway",
                  f"{_JIRA_AUTH['expired']}; or: {_JIRA_AUTH['scoped']}"),
        403: Hint(RemoteError, "Jira refused {what} (HTTP 403){detail}",
                  _JIRA_AUTH["permission"]),
        "403 label": Hint(RemoteError, "Jira refused {what} (HTTP 403){detail}",
                          "the account needs the Edit issues permission for source.writeback"),
        "400 search": Hint(ConfigError, "Jira rejected source.jql: {said}",
                           "fix the JQL; try it in Jira's issue search first"),
        404: Hint(RemoteError, "{subject}: HTTP 404 at {url}",
                  "check source.url (the site's base URL, without /jira or /rest)"),
        410: Hint(RemoteError, "{subject}: HTTP 410, this API was removed{detail}"),
    },
    "trello": {
        "4xx label": Hint(RemoteError, "Trello refused {what} (HTTP {status}: {said})",
                          "source.writeback needs a token with write access (scope read,write) of "
                          "a normal member of the board"),
        "401 key": Hint(RemoteError, "Trello rejected the API key ({said})",
                        "check source.auth.key: the key of your Power-Up's API key tab"),
        401: Hint(RemoteError, "Trello rejected the token ({said})",
                  "the token is wrong, expired or revoked: authorize a new one for this API key "
                  "and update source.auth.token"),
        404: Hint(ConfigError, "{subject}: not found (HTTP 404)",
                  "check source.boards: a board id, short link or name"),
    },
    "sheets": {
        401: Hint(RemoteError, "Google Sheets refused {email}'s token for {what} (HTTP 401)",
                  "check {auth_key}: the key or grant may be deleted, or for another project"),
        "403 scope": Hint(RemoteError, "Google Sheets refused {what} (HTTP 403{detail})",
                          "the token lacks the Sheets scope: use adc with impersonate, or "
                          "`align-sync auth google`"),
        403: Hint(RemoteError, "Google Sheets refused {what} (HTTP 403{detail})",
                  "share the spreadsheet with {email} as Editor"),
        404: Hint(RemoteError, "Google Sheets: no spreadsheet with id {id} (HTTP 404)",
                  "check sink.spreadsheet (the URL or the id between /d/ and /edit)"),
        # A `metrics:` google_sheets source: another spreadsheet, read with the sink's account.
        "403 source": Hint(RemoteError, "Google Sheets refused the {what} (HTTP 403{detail})",
                           "share that spreadsheet with {email} as Viewer"),
        "404 source": Hint(RemoteError, "Google Sheets: no spreadsheet {id}, or no such range, for the "
                                        "{what} (HTTP 404)", "check metrics' spreadsheet and range"),
    },
    "slack": {
        "3xx": _REDIRECT,
        404: _GONE,
        410: _GONE,
        "4xx revoked": _GONE,
        "4xx payload": Hint(RemoteError, "{subject}: Slack refused the message ({said})"),
    },
    "teams": {"3xx": _REDIRECT, **{status: _REMOVED for status in (401, 403, 404, 410)}},
    "webhook": {"3xx": _REDIRECT},
    # A metric source's download (connectors.metrics.csvjson): named by its host only.
    "metrics": {"3xx": Hint(RemoteError, "{host} answered with a redirect (HTTP {status}), not followed",
                            "give the final URL")},
}


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: a number, or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
        return max(0.0, seconds) if seconds == seconds and seconds != float("inf") else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def one_line(text: str, limit: int = 200) -> str:
    """A server's words as one short line (bodies can be pages of HTML)."""
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def status_error(service: str, status: int, *, redact: Callable[[str], str], what: str = "",
                 text: str = "", variant: str | tuple[str, ...] = "", retry_after: float | None = None,
                 label: str = "", **words: str) -> AlignSyncError:
    """HTTP `status` from `service` as our error.  `text`: the server's own
    message (redacted whole, then cut to one line: a cut secret would not be
    recognised); `variant`: a finer case the table knows (`"search"` for
    Jira's 400); `words`: what the hints name."""
    # (only the start is shown, so a cut far past it cannot leave half a secret in view)
    text = one_line(redact((text or "")[:65536]))
    subject = " ".join(p for p in (label or NAMES.get(service, service), what) if p)
    fields = dict(subject=subject, what=what, status=status, detail=f": {text}" if text else "",
                  said=text or f"HTTP {status}", **words)
    if status == 429:
        wait = retry_after if retry_after is not None else RATE_WINDOW.get(service)
        return TransientError(f"{subject}: rate limited (HTTP 429{fields['detail']})", retry_after=wait)
    if status >= 500:
        return TransientError(f"{subject}: HTTP {status}{fields['detail']}", retry_after=retry_after)
    table = HINTS.get(service, {})
    family = f"{status // 100}xx"
    variants = (variant,) if isinstance(variant, str) else tuple(variant)
    entry = next((table[k] for v in variants if v for k in (f"{status} {v}", f"{family} {v}")
                  if k in table), None) or table.get(status) or table.get(family)
    if entry is None:
        return RemoteError(f"{subject}: HTTP {status}{fields['detail']}")
    fields = _Words(fields)
    return entry.error(entry.message.format_map(fields), hint=entry.hint.format_map(fields))


class _Words(dict):
    """The words a hint names; one the caller did not give reads generically."""
    DEFAULTS = {"email": "the service account", "auth_key": "sink.credentials", "id": "(unknown id)",
                "url": "source.url", "kind": "token", "where": "the config", "location": "another host"}

    def __missing__(self, key: str) -> str:
        return self.DEFAULTS.get(key, key)


def network_error(service: str, what: str, exc: BaseException, *, label: str = "", hint: str = "",
                  redact: Callable[[str], str] | None = None) -> TransientError:
    """A timeout or a dropped/refused connection: worth another try.  The
    exception's text is said only when `redact` is given (it may hold a URL)."""
    subject = " ".join(p for p in (label or NAMES.get(service, service), what) if p)
    detail = f" {one_line(redact(str(exc)))}" if redact is not None and str(exc) else ""
    return TransientError(f"{subject}: {type(exc).__name__}{detail}", hint=hint)


def call(service: str, request: Callable[[], T], *, runtime: Runtime,
         translate: Callable[[Exception], Exception] | None = None,
         attempts: int | None = None, seconds: float | None = None) -> T:
    """Run one request, retrying it on TransientError within the workspace's
    caps (`runtime.retry`; `attempts` and `seconds` lower them for one call).

    `translate` turns a client library's exception into one of our errors
    (which decides whether it is retried); it sees every failure.  What comes
    out is redacted: a server may echo credentials back."""
    def once() -> T:
        try:
            return request()
        except AlignSyncError as exc:
            raise _redacted(exc, runtime) from None
        except Exception as exc:
            if translate is None:
                raise
            raise _redacted(translate(exc), runtime) from None

    return retry.run(service, once, runtime=runtime, attempts=attempts or runtime.retry.attempts,
                     seconds=seconds or runtime.retry.max_seconds)


def _redacted(exc: Exception, runtime: Runtime) -> Exception:
    if isinstance(exc, AlignSyncError):
        exc.message, exc.hint = runtime.redactor(exc.message), runtime.redactor(exc.hint)
        exc.args = (exc.message,)
    return exc
