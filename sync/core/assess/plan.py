"""The rest of the ALIGN loop, as pure figures: an outcome's plan through its
checkpoints, a lever's leading indicator, and which checkpoints were missed.

An outcome without checkpoints plans a straight line from (start, baseline)
to (deadline, target); checkpoints bend that line, so a team that expects a
slow start and a late lift is judged against what it planned, not against
time elapsed.  Everything here is a function of config, readings and a day.
"""
from __future__ import annotations

from datetime import date

from sync.core.assess import scoring
from sync.core.outcomes import Checkpoint, Lever, Outcome
from sync.core.model import Reading



def plan_points(outcome: Outcome) -> list[tuple[date, float]]:
    """(start, baseline), each checkpoint in date order, (deadline, target)."""
    return ([(outcome.start, outcome.baseline)]
            + [(cp.date, cp.value) for cp in outcome.checkpoints]
            + [(outcome.deadline, outcome.target)])


def planned_value(outcome: Outcome, day: date) -> float:
    """The metric's planned value on `day`: straight lines between the plan's
    points, the baseline before start and the target after the deadline."""
    points = plan_points(outcome)
    if day <= points[0][0]:
        return points[0][1]
    for (d0, v0), (d1, v1) in zip(points, points[1:]):
        if day <= d1:
            return v0 + (v1 - v0) * (day - d0).days / (d1 - d0).days
    return points[-1][1]


def planned_progress(outcome: Outcome, day: date) -> float | None:
    """The planned value's progress %, one decimal; None without checkpoints
    (then Status compares with time elapsed, as it always did)."""
    if not outcome.checkpoints:
        return None
    return scoring.progress(outcome, planned_value(outcome, day))


def next_checkpoint(outcome: Outcome, day: date) -> Checkpoint | None:
    """The first checkpoint dated today or later."""
    return next((cp for cp in outcome.checkpoints if cp.date >= day), None)


def _direction(baseline: float, target: float) -> int:
    return 1 if target > baseline else -1


def checkpoint_reading(readings: list[Reading], metric: str, cp: Checkpoint) -> Reading | None:
    """The metric's first reading dated on or after the checkpoint, else its latest."""
    wanted = metric.strip().lower()
    after = [r for r in readings if r.metric.strip().lower() == wanted
             and scoring.as_utc(r.date).date() >= cp.date]
    if after:
        return min(after, key=lambda r: scoring.as_utc(r.date))
    return scoring.latest(readings, metric)


def missed_checkpoints(outcome: Outcome, readings: list[Reading],
                       day: date) -> list[tuple[Checkpoint, Reading]]:
    """Checkpoints whose date has passed and whose reading falls short of the
    planned value, counting in the direction from baseline to target.  A
    checkpoint with no reading at all is not judged (`metric_stale` says so)."""
    out = []
    sign = _direction(outcome.baseline, outcome.target)
    for cp in outcome.checkpoints:
        if cp.date >= day:
            break
        found = checkpoint_reading(readings, outcome.metric, cp)
        if found is not None and (found.value - cp.value) * sign < 0:
            out.append((cp, found))
    return out


def leading_figures(lever: Lever, readings: list[Reading]) -> tuple[float | None, float | None]:
    """The leading metric's latest value and its progress % (one decimal)."""
    lead = lever.leading
    if lead is None:
        return None, None
    last = scoring.latest(readings, lead.metric)
    if last is None:
        return None, None
    return last.value, scoring.share(last.value, lead.baseline, lead.target)


def leading_moved(lever: Lever, before: float | None, now: float | None) -> str | None:
    """`moved` / `did not move` (toward the target) between two values of the
    leading metric; `before` falls back to the baseline.  None without a
    leading indicator or a current value."""
    lead = lever.leading
    if lead is None or now is None:
        return None
    reference = lead.baseline if before is None else before
    toward = (now - reference) * _direction(lead.baseline, lead.target) > 0
    return "moved" if toward else "did not move"


def uses_loop(a) -> bool:          # a: an Assessment (which imports this module)
    """Whether the config sets any checkpoint, leading indicator or time box:
    without them every figure and tab stays as it was."""
    return (any(o.outcome.checkpoints for o in a.outcomes)
            or any(lr.lever.leading or lr.lever.experiment_until for lr in a.levers))


LOOP_FIELDS = ["Missed checkpoints", "Flat leading metrics", "Overdue experiments"]


def summary_fields(a) -> list[list]:     # a: an Assessment
    """Summary rows naming the loop's warnings (none when the loop is unused)."""
    if not uses_loop(a):
        return []
    missed = [f"{o.outcome.id} ({cp.date.isoformat()})" for o in a.outcomes for cp, _ in o.missed]

    def levers(kind: str) -> str | None:
        return ", ".join(w.lever_id for w in a.warnings if w.kind == kind) or None
    values = [", ".join(missed) or None, levers("leading_flat"), levers("experiment_overdue")]
    return [[k, v] for k, v in zip(LOOP_FIELDS, values)]
