"""Regular expressions from the config run on text from the tracker, with a
time limit where a pattern could run without end.

A pattern that backtracks catastrophically on one title must fail the sync
with a name, not hang it: the `regex` engine takes a timeout per match.  The
timeout costs 1.7 µs a call (four times the search), 0.35 s over 100k
tickets' acceptance checks, so a pattern that cannot blow up on the text at
hand is searched without it.  Tame: no repeat inside a repeat, no
alternation under a repeat, no back-reference; then a search with r
unbounded repeats costs at worst about n^(r+1) steps on n characters, and
the text may be as long as keeps that near 1e8 steps (a second, the same
bound as the timeout): any length for r = 0, 5,000 for r = 1, 400 for
r = 2 (the default acceptance pattern: every title).  Anything else, or
longer, runs with the timeout.
"""
from __future__ import annotations

import re
from re import _constants as sre
from re import _parser as sre_parse

import regex

from sync.core.errors import ConfigError

MATCH_SECONDS = 1.0
LONGEST = {0: 1 << 62, 1: 5000, 2: 400}     # unbounded repeats → longest text without a timeout
_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT)}


def _walk(items, in_repeat: bool, found: list[int]) -> bool:
    """False when the parsed pattern could backtrack without end; counts
    unbounded repeats into `found`."""
    for op, av in items:
        if op in _REPEATS:
            low, high, sub = av
            if high > 1 or high == sre.MAXREPEAT:
                if in_repeat:
                    return False
                if high == sre.MAXREPEAT:
                    found[0] += 1
                if not _walk(sub, True, found):
                    return False
            elif not _walk(sub, in_repeat, found):
                return False
        elif op is sre.BRANCH:
            if in_repeat:
                return False
            if not all(_walk(branch, in_repeat, found) for branch in av[1]):
                return False
        elif op is sre.SUBPATTERN:
            if not _walk(av[3], in_repeat, found):
                return False
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            if not _walk(av[1], in_repeat, found):
                return False
        elif op in (sre.GROUPREF, sre.GROUPREF_EXISTS):
            return False
        elif op is getattr(sre, "ATOMIC_GROUP", None):
            if not _walk(av, in_repeat, found):
                return False
    return True


def longest_untimed(pattern: str) -> int:
    """The longest text this pattern is searched in without a timeout (0:
    never); `regex`-only syntax counts as not tame."""
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return 0
    found = [0]
    return LONGEST.get(found[0], 0) if _walk(parsed, False, found) else 0


class Pattern:
    """One compiled pattern of the config, searched within the time limit."""

    def __init__(self, pattern: str):
        self.pattern = pattern
        self.rx = regex.compile(pattern)
        self.untimed = longest_untimed(pattern)

    def search(self, text: str, what: str, ticket) -> bool:
        if len(text) <= self.untimed:
            return self.rx.search(text) is not None
        return bounded_search(self.rx, text, what, ticket)


def bounded_search(rx, text: str, what: str, ticket) -> bool:
    try:
        return rx.search(text, timeout=MATCH_SECONDS) is not None
    except TimeoutError:
        raise ConfigError(f"{what} {rx.pattern!r} took over {MATCH_SECONDS:g}s on ticket "
                          f"{ticket.key} ({ticket.source}) and was stopped",
                          hint="simplify the pattern: nested repeats such as (a+)+ or (a|a)+ "
                               "backtrack without end")
