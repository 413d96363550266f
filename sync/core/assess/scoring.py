"""Scores (docs/sheet.md) as pure functions of tickets, config, metrics and `now`.

Nothing here reads a clock or does I/O: `now` is always an argument, so a
score can be recomputed exactly in a test or in `explain`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sync.core.config import Review
from sync.core.outcomes import Outcome
from sync.core.model import Mapping, Reading, Ticket
from sync.core.assess.matching import Pattern
from sync.core.numbers import MAX_METRIC
from sync.core.values import as_utc  # noqa: F401 (as_utc: checks and assessment use scoring's)

POINTS = (("mapped to a lever or outcome", 50), ("has an owner", 15),
          ("has an estimate", 10), ("has an acceptance metric", 15),
          ("fresh: done, or updated within the review cadence", 10))


def effort(ticket: Ticket, review: Review) -> float:
    return ticket.estimate if ticket.estimate is not None else review.default_estimate


def is_fresh(ticket: Ticket, review: Review, now: datetime) -> bool:
    """Done, or updated within the cadence.  A ticket with no update time is not fresh."""
    if ticket.done:
        return True
    return ticket.updated is not None and now - ticket.updated <= review.cadence


def has_acceptance(ticket: Ticket, pattern: Pattern) -> bool:
    """`pattern`: the compiled `review.acceptance_pattern`."""
    if ticket.acceptance.strip():
        return True
    what = "review.acceptance_pattern"
    return (pattern.search(ticket.title, what, ticket)
            or pattern.search(ticket.description, what, ticket))


def task_score(ticket: Ticket, mapping: Mapping, review: Review, pattern,
               now: datetime) -> tuple[bool, ...]:
    """Which checks of the task score held, in the order of POINTS."""
    return (mapping.mapped, bool(ticket.owner), ticket.estimate is not None,
            has_acceptance(ticket, pattern), is_fresh(ticket, review, now))


def task_scores(tickets: list[Ticket], mappings: list[Mapping], review: Review, pattern: Pattern,
                now: datetime) -> list[tuple[bool, ...]]:
    """`task_score` of each ticket (paired with its mapping), for a whole sync.
    The same checks, written out in one loop: 100k calls of three functions
    were a tenth of the assessment.  The acceptance pattern runs once per
    distinct description (tickets cloned from a template, or left blank,
    share one), and not on the title once the description is known to hold
    it: a search without a time limit cannot fail, so its order does not
    matter.  tests/test_scoring.py holds it equal to `task_score`."""
    what = "review.acceptance_pattern"
    cadence = review.cadence
    described: dict[str, bool] = {}        # description → the pattern found in it
    out = []
    for t, m in zip(tickets, mappings):
        if t.acceptance.strip():
            accepted = True
        else:
            known = described.get(t.description)      # None: not searched yet
            if known and len(t.title) <= pattern.untimed:
                accepted = True      # the description holds it; the title's search could not fail
            elif pattern.search(t.title, what, t):
                accepted = True
            elif known is None:
                accepted = described[t.description] = pattern.search(t.description, what, t)
            else:
                accepted = known
        fresh = True if t.done else (t.updated is not None and now - t.updated <= cadence)
        out.append((m.state == "mapped", bool(t.owner), t.estimate is not None, accepted, fresh))
    return out


def total(held: tuple[bool, ...]) -> int:
    return sum(points for (_, points), ok in zip(POINTS, held) if ok)


def breakdown(held: tuple[bool, ...]) -> list[tuple[str, int, bool]]:
    """For a person: each check, its points, and whether it held."""
    return [(label, points, ok) for (label, points), ok in zip(POINTS, held)]


def percent(part: float, whole: float) -> float | None:
    """A share as 0–100 with one decimal; None when there is nothing to divide."""
    return round(part / whole * 100, 1) if whole else None


def latest(readings: list[Reading], metric: str, before: datetime | None = None) -> Reading | None:
    """The reading of `metric` with the most recent date (optionally at or before `before`)."""
    best = None
    wanted = metric.strip().lower()
    for r in readings:
        if r.metric.strip().lower() != wanted:
            continue
        if before is not None and as_utc(r.date) > before:
            continue
        if best is None or as_utc(r.date) >= as_utc(best.date):
            best = r
    return best


def share(value: float, start: float, end: float) -> float:
    """(value − start) ÷ (end − start) as a percentage, one decimal.  A span
    of 1e-300 makes any move astronomical: shown as at most ±1e15 %, never
    as infinity (no sheet cell can hold it)."""
    return round(max(-MAX_METRIC, min(MAX_METRIC, (value - start) / (end - start) * 100)), 1)


def progress(outcome: Outcome, current: float | None) -> float | None:
    return None if current is None else share(current, outcome.baseline, outcome.target)


def time_elapsed(outcome: Outcome, now: datetime) -> float:
    span = (outcome.deadline - outcome.start).days
    gone = (now.date() - outcome.start).days
    return round(min(100.0, max(0.0, gone / span * 100)), 1)


def status(progress_pct: float | None, elapsed_pct: float) -> str:
    if progress_pct is None:
        return "no data"
    if progress_pct >= 100:
        return "done"
    if progress_pct >= elapsed_pct - 10:
        return "on track"
    if progress_pct >= elapsed_pct - 25:
        return "at risk"
    return "off track"


def priority(impact: float | None, effort_: float | None, confidence: float) -> float | None:
    if impact is None or not effort_:
        return None
    return round(impact * confidence / effort_, 2)


@dataclass(frozen=True)
class Movement:
    """What `activity_bias` looks at for one outcome over the last two cadences."""
    done_in_window: int
    reference: float
    current: float
    moved_toward_target: bool
    read: bool = True            # the metric has a reading at all (else nothing moved or stayed)


def movement(outcome: Outcome, done_tickets: list[Ticket], readings: list[Reading],
             cadence: timedelta, now: datetime) -> Movement:
    """Done tickets in the window, and whether the metric moved toward the target.

    The reference is the latest value dated at or before the window's start
    (or the baseline when there is none); the current value is the latest
    value of all (or the reference, when there is no reading at all).
    """
    return metric_movement(outcome.metric, outcome.baseline, outcome.target, done_tickets,
                           readings, cadence, now)


def metric_movement(metric: str, baseline: float, target: float, done_tickets: list[Ticket],
                    readings: list[Reading], cadence: timedelta, now: datetime) -> Movement:
    """`movement` for any metric with a baseline and a target (a lever's
    leading indicator uses it for `leading_flat`)."""
    start = now - 2 * cadence
    count = sum(1 for t in done_tickets
                if (t.done_at or t.updated) is not None and start <= (t.done_at or t.updated) <= now)
    before = latest(readings, metric, before=start)
    reference = before.value if before else baseline
    last = latest(readings, metric)
    current = last.value if last else reference
    direction = 1 if target > baseline else -1
    return Movement(count, reference, current, (current - reference) * direction > 0, last is not None)
