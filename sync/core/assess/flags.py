"""Each ticket's flags (the kinds of its warnings, for the Tickets tab) and
the warnings counted per outcome and per owner (the Outcomes and Owners
tabs), set on an assessment once its warnings are found.
"""
from __future__ import annotations

from collections import Counter
from itertools import groupby
from operator import itemgetter

from sync.core.model import SEVERITY_ORDER, Warning


def count_warnings(result, found: list[Warning], no_owner: str) -> None:
    """Set each ticket's flags, and the count per outcome and per owner, on
    `result` (an Assessment).  `no_owner`: the owners' row of unowned tickets.
    `found`: the warnings as the checks found them (`find_warnings`), each
    ticket's together: read in the order they were made, where the sorted
    list visits 150k of them all over memory, at twice the time."""
    per_outcome = Counter(map(itemgetter(5), found))
    per_owner = Counter(map(itemgetter(4), found))
    kinds_of: dict[str, tuple] = {}           # key → its warnings' (severity, kind)s
    blank = 0                                 # warnings naming neither a ticket nor an owner
    for key, same in groupby(found, itemgetter(3)):
        if not key:
            blank += sum(1 for w in same if not w.owner)
            continue
        kinds = tuple(map(_SEVERITY_KIND, same))
        # Two tickets with one key (two sources): the key's flags are both's.
        kinds_of[key] = kinds_of[key] + kinds if key in kinds_of else kinds
    # Ticket warnings without an owner belong to the "(unassigned)" row.
    per_owner[no_owner] += per_owner[""] - blank
    per_owner[""] = blank
    flags: dict[tuple, list[str]] = {}        # a few hundred distinct `kinds` at most
    for r in result.tickets:
        kinds = kinds_of.get(r.ticket.key)
        if kinds is None:
            r.flags = []
            continue
        listed = flags.get(kinds)
        if listed is None:
            listed = flags[kinds] = _flags(kinds)
        r.flags = list(listed)
    for o in result.outcomes:
        o.warnings = per_outcome[o.outcome.id] if o.outcome.id else 0
    for ow in result.owners:
        ow.warnings = per_owner[ow.owner]


_SEVERITY_KIND = itemgetter(0, 1)


def _flags(kinds: tuple[tuple[str, str], ...]) -> list[str]:
    """A ticket's distinct warning kinds in the order they first come in the
    sorted warnings: by severity (the highest of that kind's), then kind."""
    severity: dict[str, int] = {}
    for sev, kind in kinds:
        severity[kind] = min(severity.get(kind, len(SEVERITY_ORDER)), SEVERITY_ORDER[sev])
    return sorted(severity, key=lambda kind: (severity[kind], kind))
