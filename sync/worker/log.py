"""Logging, configured once: structlog JSON lines on stdout (a readable
console on a TTY), a `run_id` (and `workspace`) bound per sync, stdlib
loggers of the client libraries routed through the same pipeline, every
secret known to the process's `Redactor` (sync.core.redact) redacted.
"""
from __future__ import annotations

import logging
import os
import sys

import structlog

from sync.core.redact import Redactor


class Tolerant:
    """stdout (or stderr) as align-sync writes to it: when the stream is
    closed (`>&-`) or fails (`> /dev/full`, a pipe whose reader left), what
    would have been written is dropped, said once on stderr, and the work
    goes on: a log that cannot be written is not a failed sync."""

    def __init__(self, stream, name: str):
        self.stream, self.name = stream, name
        self.failed = stream is None          # closed from the start: nothing to say

    def write(self, text: str) -> int:
        if not self.failed:
            try:
                return self.stream.write(text)
            except (OSError, ValueError) as exc:
                self._fail(exc)
        return len(text)

    def flush(self) -> None:
        if not self.failed:
            try:
                self.stream.flush()
            except (OSError, ValueError) as exc:
                self._fail(exc)

    def isatty(self) -> bool:
        try:
            return not self.failed and self.stream.isatty()
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        if self.stream is None:
            raise OSError(f"{self.name} is closed")
        return self.stream.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", None) or "utf-8"

    def _fail(self, exc: BaseException) -> None:
        self.failed = True
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        # A reader that left (`| head`) chose to stop reading: nothing to say.
        quiet = isinstance(exc, BrokenPipeError)
        other = sys.stderr if self.name == "stdout" and not quiet else None
        try:
            if other is not None:
                other.write(f"align-sync: cannot write to {self.name} ({reason}); its log lines and "
                            "output are dropped from here on, the command itself goes on\n")
                other.flush()
        except (OSError, ValueError):
            pass


def guard_streams():
    """Make stdout and stderr safe to write to for the whole command, and
    keep fds 0-2 open (on /dev/null when the caller closed them) so that no
    file opened later (the state, a workbook) takes their number.  Returns
    what puts the previous streams back (main() also runs in tests)."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            spare = os.open(os.devnull, os.O_RDWR)
            if spare != fd:
                os.dup2(spare, fd)
                os.close(spare)
    before = sys.stdout, sys.stderr
    if not isinstance(sys.stderr, Tolerant):
        sys.stderr = Tolerant(sys.stderr, "stderr")
    if not isinstance(sys.stdout, Tolerant):
        sys.stdout = Tolerant(sys.stdout, "stdout")

    def restore() -> None:
        sys.stdout, sys.stderr = before
    return restore


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is now (tests and daemons swap it)."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value):
        pass


def console_wanted(choice: str | None) -> bool:
    """`--log-format`, else: a terminal gets lines for reading, anything else JSON."""
    if choice is not None:
        return choice == "console"
    return sys.stdout.isatty()


def colour_wanted() -> bool:
    # https://no-color.org: any non-empty NO_COLOR turns colour off.
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def drop_stated(_logger, _method, event: dict) -> dict:
    """An event the lines a person reads already state (bound as `stated`
    while `check` probes on a terminal: its probe line says it) is not
    printed a second time above them."""
    stated = event.pop("stated", ())
    if event.get("event") in stated:
        raise structlog.DropEvent
    return event


def configure(redactor: Redactor, json_lines: bool | None = None, level: int = logging.INFO) -> None:
    if json_lines is None:
        json_lines = not sys.stdout.isatty()
    shared = [structlog.contextvars.merge_contextvars, drop_stated, structlog.processors.add_log_level,
              structlog.processors.TimeStamper(fmt="iso", utc=True)]
    final = (structlog.processors.JSONRenderer() if json_lines
             else structlog.dev.ConsoleRenderer(colors=colour_wanted()))
    structlog.configure(
        processors=shared + [structlog.processors.format_exc_info, redactor.processor, final],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # sys.stdout at call time (structlog's default is the one at its import,
        # None when the caller closed stdout).
        logger_factory=lambda *_: structlog.PrintLogger(sys.stdout),
        cache_logger_on_first_use=False)
    # The client libraries log through stdlib logging; render them the same way.
    handler = _StdoutHandler()
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    redactor.processor, final],
        foreign_pre_chain=shared + [structlog.stdlib.add_logger_name]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for name in ("jira", "google.auth", "urllib3", "gspread", "trello"):
        logging.getLogger(name).setLevel(logging.WARNING)
