"""Many issues of an export decoded by one call.

`json`'s `raw_decode` reads one issue per call.  A run is the whole issues
of about 32 kB of the export decoded by one call of a faster decoder: a
third less time reading a 228 MB export and building its tickets.
"""
from __future__ import annotations

import re

import msgspec

from connectors.jira.window import Text


class Runs:
    """Many issues decoded by one call: from an issue's start to the end of
    the first issue that ends `RUN` characters on (or the window's last
    whole issue).  That end is found by a marker learnt
    from the first two issues: how the first ended (its last two characters,
    `}}` when `fields` comes last, as Jira writes it), the file's separator
    and the key the next starts with.  The same text can occur inside an
    issue (a list of sub-task objects); then the run is not a list of whole
    values and fails to decode, and the next marker is tried, or the
    issues up to there are read one at a time.

    A run that decodes is what one-at-a-time reading gives: a JSON value is
    read the same whatever follows it, and the values the fast decoder would
    read differently from `json` (NaN, 1e400, a lone surrogate, an integer of
    thousands of digits) it refuses, so that run is read one at a time."""

    TRIES = 3               # markers tried per run
    LESSONS = 3             # issues read alone to learn the marker from (one may end a window)

    def __init__(self):
        self.marker: str | None = None
        self.lessons = 0        # issues the marker was sought after (a few: then no runs)
        self.until = 0          # (absolute) no run is tried before here: one failed or found none

    def first_key(self, text: Text, pos: int) -> str | None:
        """The key the issue at `pos` starts with, while no marker is known."""
        if self.marker is not None or self.lessons >= self.LESSONS:
            return None
        key = _FIRST_KEY.match(text.buf, pos)
        return key.group(0) if key else None

    def learn(self, text: Text, first: str | None, end: int) -> None:
        """After an issue read alone, ending at `end`: the marker, if the next
        issue starts with the same key as that one."""
        if first is None:
            return
        self.lessons += 1
        sep = _SEP.match(text.buf, end)
        if end >= 2 and sep is not None and text.buf.startswith(first, sep.end()):
            self.marker = text.buf[end - 2:sep.end() + len(first)]

    def take(self, text: Text, pos: int) -> tuple[list | None, int]:
        """The whole issues from `pos` to the first marker past `RUN`
        characters (or the window's last), decoded at once, and where they
        end; (None, pos) to read one at a time."""
        if self.marker is None or text.dropped + pos < self.until:
            return None, pos
        buf = text.buf
        at = buf.find(self.marker, pos + RUN)
        forward = at >= 0           # else the window's last markers, backwards
        if not forward:
            at = buf.rfind(self.marker, pos)
        tried = len(buf)
        for _ in range(self.TRIES):
            if at <= pos:
                break
            try:
                return decode_run(buf[pos:at + 2]), at + 2
            except _FAST_ERRORS:
                tried = at
                # A marker inside an issue: the one after (or before) it is
                # likely an issue's end.
                at = buf.find(self.marker, at + 1) if forward else buf.rfind(self.marker, pos, at)
        # Read one at a time up to the last marker tried (or, none found, the
        # window's end), then try again.
        self.until = text.dropped + tried
        return None, pos


# A run's length in characters: a dozen or so issues, whose values are
# still in the processor's cache when they become tickets.  Measured on the
# 228 MB export, reading and building tickets: runs of 32 kB 1.85 s, 8 kB
# 1.95 s, 128 kB 2.0 s, a whole 4 MB window 2.7 s, one issue at a time 2.6 s.
RUN = 32 << 10
_FIRST_KEY = re.compile(r'\{[ \t\n\r]*"([^"\\]{1,64})"[ \t\n\r]*:')
_SEP = re.compile(r"[ \t\n\r]*,[ \t\n\r]*")
# One C call for a run's issues (msgspec's JSON decoder, which reads builtin
# values exactly as `json` does and refuses the few it would read otherwise),
# where `raw_decode` takes one call per issue.
_fast_decode = msgspec.json.Decoder().decode
_FAST_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)


def decode_run(issues: str) -> list:
    """The issues of a run (the text of whole issues and the separators
    between them) as a list; raises one of `_FAST_ERRORS` where it cannot.
    Two levels more than the list needs: at the same stack both decoders give
    up at the same depth, so this makes a run refuse a level before json does
    and the frame or two between the two call chains cannot let a run read
    what one-at-a-time reading refuses."""
    return _fast_decode("[[[" + issues + "]]]")[0][0]
