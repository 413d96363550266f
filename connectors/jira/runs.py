"""Many issues of an export decoded by one call.

`json`'s `raw_decode` reads one issue per call; most of a big export's
reading was that call's overhead and the objects of values nobody reads
between issues.  A run is every whole issue from one issue's start to the
last issue that ends in the window, decoded at once.
"""
from __future__ import annotations

import re

import msgspec

from connectors.jira.window import Text


class Runs:
    """Many issues decoded by one call: from an issue's start to the end of
    the last whole issue in the window.  That end is found by a marker learnt
    from the first two issues: how the first ended (its last two characters,
    `}}` when `fields` comes last, as Jira writes it), the file's separator
    and the key the next starts with.  The same text can occur inside an
    issue (a list of sub-task objects); then the run is not a list of whole
    values and fails to decode, and an earlier marker is tried, or the
    window's issues are read one at a time.

    A run that decodes is what one-at-a-time reading gives: a JSON value is
    read the same whatever follows it, and the values the fast decoder would
    read differently from `json` (NaN, 1e400, a lone surrogate, an integer of
    thousands of digits) it refuses, so that run is read one at a time."""

    TRIES = 3               # markers tried per window, the last first

    def __init__(self):
        self.marker: str | None = None
        self.tried = False
        self.until = 0          # (absolute) no run is tried before here: one failed or found none

    def first_key(self, text: Text, pos: int) -> str | None:
        """The key the issue at `pos` starts with, while no marker is known."""
        if self.marker is not None or self.tried:
            return None
        key = _FIRST_KEY.match(text.buf, pos)
        return key.group(0) if key else None

    def learn(self, text: Text, first: str | None, end: int) -> None:
        """After an issue read alone, ending at `end`: the marker, if the next
        issue starts with the same key as that one."""
        if first is None:
            return
        self.tried = True
        sep = _SEP.match(text.buf, end)
        if end >= 2 and sep is not None and text.buf.startswith(first, sep.end()):
            self.marker = text.buf[end - 2:sep.end() + len(first)]

    def take(self, text: Text, pos: int) -> tuple[list | None, int]:
        """Every whole issue from `pos` to the window's last marker, decoded at
        once, and where they end; (None, pos) to read one at a time."""
        if self.marker is None or text.dropped + pos < self.until:
            return None, pos
        buf = text.buf
        at = buf.rfind(self.marker, pos)
        for _ in range(self.TRIES):
            if at <= pos:
                break
            try:
                return _fast_decode("[" + buf[pos:at + 2] + "]"), at + 2
            except _FAST_ERRORS:
                at = buf.rfind(self.marker, pos, at)
        # Read this window's issues one at a time, then try again.
        self.until = text.dropped + len(buf)
        return None, pos


_FIRST_KEY = re.compile(r'\{[ \t\n\r]*"([^"\\]{1,64})"[ \t\n\r]*:')
_SEP = re.compile(r"[ \t\n\r]*,[ \t\n\r]*")
# One C call for a window's issues (msgspec's JSON decoder, which reads
# builtin values exactly as `json` does and refuses the few it would read
# otherwise), where `raw_decode` takes one call per issue: half the reading
# of a 228 MB export.
_fast_decode = msgspec.json.Decoder().decode
_FAST_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)
