"""A review row in words: the lines every channel shows (the text of
`review --print` and email, Slack, Teams) and those the digest stores as
it is made (the forecast, the next checkpoint, the leading metrics), so
every channel says the same.  Pure."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sync.core.assess.plan import leading_moved, next_checkpoint

if TYPE_CHECKING:
    from sync.core.assess.assessment import Assessment
    from sync.core.present.review import Row


def by_kind(found: dict[str, list[str]]) -> str | None:
    """`stale 2 (A-1, A-2); idle_lever 1`: warnings by kind, with their keys."""
    parts = []
    for kind in sorted(found, key=lambda k: (-len(found[k]), k)):
        keys = [k for k in found[kind] if k]
        parts.append(f"{kind} {len(found[kind])}" + (f" ({', '.join(keys[:10])}"
                                                        f"{', …' if len(keys) > 10 else ''})" if keys else ""))
    return "; ".join(parts) or None


def forecast_phrase(o) -> str | None:
    """An outcome's forecast in words: `8.4 by 2026-12-31 (will hit on 2026-12-02)`."""
    fc = o.forecast
    if fc is None:
        return None
    if fc.value is None:
        return fc.status
    when = f" on {fc.hits_on.isoformat()}" if fc.hits_on else ""
    return f"{fc.value:g} by {o.outcome.deadline.isoformat()} ({fc.status}{when})"


def outlook(r: Row) -> str:
    """The forecast and Done by of one digest row, for every channel."""
    parts = [f"forecast {r.forecast}"] if r.forecast else []
    parts.append(f"open work done by {r.done_by} (85%)" if r.done_by else "open work: no done date yet")
    return "; ".join(parts)


def next_checkpoint_line(outcome, a: Assessment) -> str | None:
    """`2026-12-01: conversion 7.5`: the outcome's next checkpoint, if it has one."""
    cp = next_checkpoint(outcome, a.now.date())
    return f"{cp.date.isoformat()}: {outcome.metric} {cp.value:g}" if cp else None


def leading_lines(before: dict, a: Assessment, outcome_id: str) -> list[str]:
    """`lever: metric moved since the last review (2.3 → 2.6)` for each lever of the outcome with a
    leading indicator and a reading, against the last review (else the baseline)."""
    was = before.get("leading", {})
    out = []
    for lr in a.levers:
        if lr.outcome.id != outcome_id or lr.lever.leading is None:
            continue
        ref = was.get(lr.lever.id)
        verdict = leading_moved(lr.lever, ref, lr.leading_current)
        if verdict:
            start = lr.lever.leading.baseline if ref is None else ref
            # The window is named: `leading_flat` looks at the last two cadences,
            # this line at the time since the last review, and both may be true.
            since = "since the baseline" if ref is None else "since the last review"
            out.append(f"{lr.lever.id}: {lr.lever.leading.metric} {verdict} {since} "
                       f"({start:g} → {lr.leading_current:g})")
    return out


def loop_lines(r: Row) -> list[str]:
    """The ALIGN loop's part of an outcome's review: next checkpoint, leading metrics."""
    head = [f"next checkpoint: {r.next_checkpoint}"] if r.next_checkpoint else []
    return head + [f"leading: {line}" for line in r.leading]
