"""stdout and stderr as align-sync writes to them, made safe before anything
else runs (argument parsing included): a closed or failing stream drops
what would have been written, says so once, and the command goes on.
Apart from the log's set-up (sync.worker.log) so that `--version` and
`--help` need no more than this.
"""
from __future__ import annotations

import os
import re
import sys


# Control characters in what reaches stdout come from outside (a ticket's
# title): an escape sequence could retitle the terminal or hide a line, a
# carriage return overwrite one.  Kept: line breaks, tabs and the colour codes
# the log's console lines use (progress lines, with their \r, go to stderr).
_CONTROL = re.compile(r"\x1b\[[0-9;]*m|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escaped(match: re.Match) -> str:
    # \u001b, not \x1b: inside a JSON log line's string that is a valid escape too.
    found = match.group()
    return found if found.endswith("m") and len(found) > 1 else f"\\u{ord(found):04x}"


class Tolerant:
    """stdout (or stderr) as align-sync writes to it: when the stream is
    closed (`>&-`) or fails (`> /dev/full`, a pipe whose reader left), what
    would have been written is dropped, said once on stderr, and the work
    goes on: a log that cannot be written is not a failed sync."""

    def __init__(self, stream, name: str):
        self.stream, self.name = stream, name
        self.failed = stream is None          # closed from the start: nothing to say

    def write(self, text: str) -> int:
        if self.name == "stdout" and _CONTROL.search(text):
            text = _CONTROL.sub(_escaped, text)
        if not self.failed:
            try:
                return self.stream.write(text)
            except UnicodeEncodeError:
                # A character the stream cannot encode (a lone surrogate from
                # a tracker, or any non-ASCII one on an ASCII terminal) is
                # written escaped, not the end of the output.
                return self.write(text.encode(self.encoding, "backslashreplace").decode(self.encoding))
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
