"""When a ticket was done, for trackers that do not say (Trello, a Jira CSV
without a Resolved column): the time of the first sync that saw it done.

Flow's throughput and lead time need a done date; a tracker's resolution
date is used whenever there is one.  The first-seen times live in state
(one JSON map per source, key → ISO time), staged with the sync and
committed only after the sink wrote, like every other state change.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from operator import attrgetter

from sync.core.model import Ticket

KEY = "first_seen_done"


def stamp(tickets: list[Ticket], state, now: datetime) -> list[Ticket]:
    """The tickets, each done one without a resolution date given the time a
    sync first saw it done.  A ticket reopened loses its stamp; one done again
    gets the time of that sync."""
    by_source: dict[str, list[int]] = {name: [] for name in set(map(attrgetter("source"), tickets))}
    for i, t in enumerate(tickets):
        if t.done and t.done_at is None:
            by_source[t.source].append(i)
    out = list(tickets)
    stamp_now = now.isoformat()
    for source, positions in by_source.items():
        seen = state.get_json(source, KEY) or {}
        if not positions and not seen:
            continue            # a tracker that dates its resolutions: nothing kept
        kept: dict[str, str] = {}
        for i in positions:
            t = out[i]
            when = seen.get(t.key, stamp_now)
            kept[t.key] = when
            out[i] = replace(t, done_at=_parse(when) or now)
        if kept != seen:
            state.stage(source, KEY, kept)
    return out


def _parse(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
