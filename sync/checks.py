"""The warnings of PRODUCT.md §5, each raised by a small pure function.

Every check reads the finished `Assessment` (plus config and Metrics) and
returns `Warning`s; `raise_warnings` runs them all and sorts high → low.
"""
from __future__ import annotations

from collections import defaultdict

from . import scoring
from .config import Config
from .model import Reading, Warning


def _ticket_warnings(a, config: Config) -> list[Warning]:
    out = []
    review = config.review
    for r in a.tickets:
        t, m = r.ticket, r.mapping
        base = dict(key=t.key, owner=t.owner or "", outcome_id=m.outcome_id or "",
                    lever_id=m.lever_id or "")
        for tag in m.unknown_tags:
            out.append(Warning("medium", "unknown_tag",
                               f"tag {tag!r} names no configured lever or outcome id", **base))
        if not m.in_scope:
            continue
        if m.ambiguous_with:
            out.append(Warning("low", "ambiguous",
                               f"also matches levers of outcome(s) {', '.join(m.ambiguous_with)}; "
                               f"kept {m.matched_by}", **base))
        if not r.active:
            continue
        if m.state == "unmapped":
            out.append(Warning("medium", "unmapped", f"{t.title!r} serves no lever or outcome", **base))
        if not t.owner:
            out.append(Warning("medium", "unowned", "active ticket has no owner", **base))
        if t.estimate is None:
            out.append(Warning("low", "no_estimate",
                               f"no estimate (counted as {review.default_estimate:g})", **base))
        if m.mapped and not r.breakdown[3][2]:
            out.append(Warning("low", "no_acceptance",
                               "no acceptance metric (field empty, pattern not found)", **base))
        if not scoring.is_fresh(t, review, a.now):
            when = t.updated.date().isoformat() if t.updated else "never"
            out.append(Warning("low", "stale",
                               f"not updated within {_days(review.cadence)} (last: {when})", **base))
    return out


def _days(delta) -> str:
    days = delta.total_seconds() / 86400
    return f"{days:g}d" if days >= 1 else f"{delta.total_seconds() / 3600:g}h"


def _goal_overload(a, config: Config) -> list[Warning]:
    goals: dict[str, set[str]] = defaultdict(set)
    for r in a.active:
        if r.ticket.owner and r.mapping.mapped:
            goals[r.ticket.owner].add(r.mapping.outcome_id)
    limit = config.review.max_goals_per_person
    return [Warning("high", "goal_overload",
                    f"{owner} has active tickets for {len(ids)} outcomes (max {limit}): "
                    f"{', '.join(sorted(ids))}", owner=owner)
            for owner, ids in sorted(goals.items()) if len(ids) > limit]


def _lever_warnings(a) -> list[Warning]:
    return [Warning("medium", "idle_lever", f"lever {lr.lever.name!r} has no active ticket",
                    owner=lr.lever.owner or "", outcome_id=lr.outcome.id, lever_id=lr.lever.id)
            for lr in a.levers if lr.active == 0]


def _outcome_warnings(a, config: Config, readings: list[Reading]) -> list[Warning]:
    out = []
    low, high = config.review.levers_per_outcome
    cadence = config.review.cadence
    for res in a.outcomes:
        o = res.outcome
        base = dict(owner=o.owner or "", outcome_id=o.id)
        if not low <= len(o.levers) <= high:
            out.append(Warning("low", "lever_count",
                               f"{len(o.levers)} levers; expected {low} to {high}", **base))
        if not o.owner:
            out.append(Warning("medium", "unowned_outcome", f"outcome {o.name!r} has no owner", **base))
        if res.status in ("off track", "at risk"):
            out.append(Warning("high" if res.status == "off track" else "medium", "off_track",
                               f"{res.status}: progress {res.progress:g}% vs "
                               f"{res.elapsed:g}% of the time elapsed", **base))
        for g in o.guardrails:
            last = scoring.latest(readings, g.metric)
            if last is None:
                continue
            if g.max is not None and last.value > g.max:
                out.append(Warning("high", "guardrail_breach",
                                   f"{g.metric} is {last.value:g}, above its max {g.max:g}", **base))
            if g.min is not None and last.value < g.min:
                out.append(Warning("high", "guardrail_breach",
                                   f"{g.metric} is {last.value:g}, below its min {g.min:g}", **base))
        last = scoring.latest(readings, o.metric)
        if last is None or a.now - scoring.as_utc(last.date) > cadence:
            when = scoring.as_utc(last.date).date().isoformat() if last else "none"
            out.append(Warning("medium", "metric_stale",
                               f"no {o.metric} value dated within {_days(cadence)} (latest: {when})",
                               **base))
        done = [r.ticket for r in a.tickets if r.mapping.outcome_id == o.id and r.ticket.done
                and r.mapping.in_scope]
        mv = scoring.movement(o, done, readings, cadence, a.now)
        if mv.done_in_window >= 3 and not mv.moved_toward_target:
            out.append(Warning("medium", "activity_bias",
                               f"{mv.done_in_window} tickets done in the last {_days(2 * cadence)} "
                               f"but {o.metric} went {mv.reference:g} → {mv.current:g}", **base))
    return out


def _unused_rules(a) -> list[Warning]:
    out = []
    for rule in a.rules.all_rules():
        if not a.hits.tickets(rule):
            lever = rule.lever_id or "ignore"
            out.append(Warning("low", "unused_rule", f"{lever} rule {rule.describe()} matched no ticket",
                               outcome_id=rule.outcome_id or "", lever_id=rule.lever_id or ""))
    return out


def raise_warnings(a, config: Config, readings: list[Reading]) -> list[Warning]:
    found = (_ticket_warnings(a, config) + _goal_overload(a, config) + _lever_warnings(a)
             + _outcome_warnings(a, config, readings) + _unused_rules(a))
    return sorted(found, key=Warning.sort_key)

