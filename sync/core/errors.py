"""A flat error hierarchy, grouped by who has to act.

- ConfigError: the person who wrote the config or typed the command (exit 2).
- TransientError: nobody, yet; the call is retried, then the sync fails (exit 1).
- RemoteError: whoever owns the remote side: a token, a permission, a share (exit 1).
- DataError: whoever owns the tracker data: a ticket or export of a shape
  align-sync cannot read safely (exit 1); the message names the source,
  the ticket and the field.
- GuardError: the sync refused to write because the data looks wrong (exit 1).
- AlreadyRunning: ops: another worker holds the same state file (exit 1).

`describe()` is the one place that turns any of them into the text a person
reads; the CLI and the sheet's `Last error` both use it.
"""
from __future__ import annotations


class AlignSyncError(Exception):
    exit_code = 1

    def __init__(self, message: str, *, hint: str = "", source: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.source = source


class ConfigError(AlignSyncError):
    """Bad config, bad usage, or a query/field the remote says is invalid."""
    exit_code = 2

    def __init__(self, message: str, *, problems: list[str] | None = None, **kw):
        super().__init__(message, **kw)
        self.problems = problems or []


class TransientError(AlignSyncError):
    """Rate limits, 5xx, timeouts, dropped connections: worth another try."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class Interrupted(TransientError):
    """A request not tried again because the worker was asked to stop: the
    whole sync ends with it (a part that only warns, a metric source, too).
    A one-off command so ended exits 130, as one stopped by Ctrl-C does."""
    exit_code = 130


class RemoteError(AlignSyncError):
    """The remote refused for a reason a retry will not fix (401, 403, 404)."""


class DataError(AlignSyncError):
    """Tracker data of the wrong shape that cannot be read without guessing."""


class GuardError(AlignSyncError):
    """A safety guard stopped the write (zero tickets, a sudden drop)."""


class AlreadyRunning(AlignSyncError):
    """A second worker was started on a state file another one holds."""


def describe(exc: BaseException) -> str:
    """One readable message for a person, never a traceback."""
    if isinstance(exc, ConfigError) and exc.problems:
        return "\n".join(exc.problems)
    if isinstance(exc, AlignSyncError):
        text = exc.message
        if exc.source and not text.startswith(f"source {exc.source}"):
            text = f"source {exc.source}: {text}"
        if exc.hint:
            text = f"{text} ({exc.hint})"
        return text
    return f"unexpected error: {type(exc).__name__}: {exc}"
