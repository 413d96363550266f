"""Logging, configured once: structlog JSON lines on stdout (a readable
console on a TTY), a `run_id` bound per sync, stdlib loggers of the client
libraries routed through the same pipeline, every secret redacted.
"""
from __future__ import annotations

import logging
import sys
from typing import Any, Iterable

import structlog

_secrets: list[str] = []
REDACTED = "[redacted]"


def add_secrets(values: Iterable[str]) -> None:
    """Values that must never appear in output (tokens, keys, key material)."""
    for v in values:
        if v and len(v) >= 4 and v not in _secrets:
            _secrets.append(v)
    _secrets.sort(key=len, reverse=True)


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_scrub(v) for v in value)
    return value


def _redact_processor(_, __, event: dict) -> dict:
    return {k: _scrub(v) for k, v in event.items()} if _secrets else event


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is now (tests and daemons swap it)."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value):
        pass


def configure(json_lines: bool | None = None, level: int = logging.INFO) -> None:
    if json_lines is None:
        json_lines = not sys.stdout.isatty()
    shared = [structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
              structlog.processors.TimeStamper(fmt="iso", utc=True)]
    final = (structlog.processors.JSONRenderer() if json_lines
             else structlog.dev.ConsoleRenderer(colors=False))
    structlog.configure(
        processors=shared + [structlog.processors.format_exc_info, _redact_processor, final],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(),   # sys.stdout at call time
        cache_logger_on_first_use=False)
    # The client libraries log through stdlib logging; render them the same way.
    handler = _StdoutHandler()
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    _redact_processor, final],
        foreign_pre_chain=shared + [structlog.stdlib.add_logger_name]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for name in ("jira", "google.auth", "urllib3", "gspread", "trello"):
        logging.getLogger(name).setLevel(logging.WARNING)
