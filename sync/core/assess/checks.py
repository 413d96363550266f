"""The warnings of docs/sheet.md, each raised by a small pure function.

Every check reads the finished `Assessment` (plus config and Metrics) and
returns `Warning`s; `raise_warnings` runs them all and sorts high → low.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from collections import defaultdict
from dataclasses import dataclass
from operator import itemgetter

from sync.core.assess import choices as sheet_choices
from sync.core.assess import scoring
from sync.core.model import SEVERITY_ORDER, Reading, Ticket, Warning, natural_ranks

if TYPE_CHECKING:
    from sync.core.config import Config


def _ticket_warnings(a, config: Config) -> list[Warning]:
    # One pass, each Warning made where it is found: 150k of them at 100k
    # tickets.  tuple.__new__ makes the same Warning as Warning(...) without
    # its keyword handling in Python (0.1 µs against 0.35).
    out: list[Warning] = []
    add, new = out.append, tuple.__new__
    review = config.review
    stale = f"not updated within {_days(review.cadence)} (last: "
    no_estimate = f"no estimate (counted as {review.default_estimate:g})"
    refusals = a.choice_problems
    for r in a.tickets:
        t, m = r.ticket, r.mapping
        refused = refusals.get(t.key) if refusals else None
        in_scope = m.state != "ignored"
        if not in_scope and not m.unknown_tags and not refused:
            continue
        # What each of the ticket's warnings ends with.
        key, owner, outcome, lever = t.key, t.owner or "", m.outcome_id or "", m.lever_id or ""
        for tag in m.unknown_tags:
            add(new(Warning, ("medium", "unknown_tag", _unknown(tag), key, owner, outcome, lever)))
        if refused:
            add(new(Warning, ("medium", "unknown_tag", f"sheet: {refused}",
                              key, owner, outcome, lever)))
        if not in_scope:
            continue
        for problem in t.problems:
            add(new(Warning, ("medium", "bad_data", f"source {t.source}: ticket {key}: {problem}",
                              key, owner, outcome, lever)))
        if m.ambiguous_with:
            add(new(Warning, ("low", "ambiguous", f"also matches levers of outcome(s) "
                              f"{', '.join(m.ambiguous_with)}; kept {m.matched_by}",
                              key, owner, outcome, lever)))
        if r.active:
            if m.state == "unmapped":
                add(new(Warning, ("medium", "unmapped", f"{t.title!r} serves no lever or outcome",
                                  key, owner, outcome, lever)))
            if not owner:
                add(new(Warning, ("medium", "unowned", "active ticket has no owner",
                                  key, owner, outcome, lever)))
            if t.estimate is None:
                add(new(Warning, ("low", "no_estimate", no_estimate, key, owner, outcome, lever)))
            held = r.held
            if not held[3] and m.state == "mapped":
                add(new(Warning, ("low", "no_acceptance",
                                  "no acceptance metric (field empty, pattern not found)",
                                  key, owner, outcome, lever)))
            if not held[4]:
                when = t.updated.date().isoformat() if t.updated else "never"
                add(new(Warning, ("low", "stale", f"{stale}{when})", key, owner, outcome, lever)))
    return out


def _unknown(tag: str) -> str:
    sheet = f"{sheet_choices.SHEET}: "
    if tag.startswith(sheet):      # a `Set lever` cell: say where it came from
        return (f"sheet: {sheet_choices.HEADER} {sheet_choices.quoted(tag[len(sheet):])} "
                "names no configured lever id (nor `ignore`)")
    return f"tag {tag!r} names no configured lever or outcome id"


def _days(delta) -> str:
    days = delta.total_seconds() / 86400
    return f"{days:g}d" if days >= 1 else f"{delta.total_seconds() / 3600:g}h"


@dataclass
class _Groups:
    """The tickets three checks group, gathered in one pass over them all."""
    goals: dict[str, set[str]]        # owner → outcomes of their active mapped tickets
    done_by_outcome: dict[str, list[Ticket]]
    done_by_lever: dict[str, list[Ticket]]


def _groups(a) -> _Groups:
    goals: dict[str, set[str]] = defaultdict(set)
    by_outcome: dict[str, list[Ticket]] = defaultdict(list)
    by_lever: dict[str, list[Ticket]] = defaultdict(list)
    for r in a.tickets:
        m = r.mapping
        if m.state != "mapped":
            continue
        t = r.ticket
        if r.active and t.owner:
            goals[t.owner].add(m.outcome_id)
        if t.done:
            by_outcome[m.outcome_id].append(t)
            if m.lever_id:
                by_lever[m.lever_id].append(t)
    return _Groups(goals, by_outcome, by_lever)


def _goal_overload(groups: _Groups, config: Config) -> list[Warning]:
    limit = config.review.max_goals_per_person
    return [Warning("high", "goal_overload",
                    f"{owner} has active tickets for {len(ids)} outcomes (max {limit}): "
                    f"{', '.join(sorted(ids))}", owner=owner)
            for owner, ids in sorted(groups.goals.items()) if len(ids) > limit]


def _lever_warnings(a) -> list[Warning]:
    return [Warning("medium", "idle_lever", f"lever {lr.lever.name!r} has no active ticket",
                    owner=lr.lever.owner or "", outcome_id=lr.outcome.id, lever_id=lr.lever.id)
            for lr in a.levers if lr.active == 0]


def _outcome_warnings(a, groups: _Groups, config: Config, readings: list[Reading]) -> list[Warning]:
    out = []
    low, high = config.review.levers_per_outcome
    cadence = config.review.cadence
    done = groups.done_by_outcome
    for res in a.outcomes:
        o = res.outcome
        base = dict(owner=o.owner or "", outcome_id=o.id)
        if not low <= len(o.levers) <= high:
            out.append(Warning("low", "lever_count",
                               f"{len(o.levers)} levers; expected {low} to {high}", **base))
        if not o.owner:
            out.append(Warning("medium", "unowned_outcome", f"outcome {o.name!r} has no owner", **base))
        if res.status in ("off track", "at risk"):
            against = (f"{res.elapsed:g}% of the time elapsed" if res.planned is None
                       else f"{res.planned:g}% planned by the checkpoints")
            out.append(Warning("high" if res.status == "off track" else "medium", "off_track",
                               f"{res.status}: progress {res.progress:g}% vs {against}", **base))
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
        mv = scoring.movement(o, done.get(o.id, []), readings, cadence, a.now)
        # Without a reading nothing can have stayed flat: `metric_stale` says what is missing.
        if mv.done_in_window >= 3 and not mv.moved_toward_target and mv.read:
            out.append(Warning("medium", "activity_bias",
                               f"{mv.done_in_window} tickets done in the last {_days(2 * cadence)} "
                               f"but {o.metric} went {mv.reference:g} → {mv.current:g}", **base))
    return out


def _checkpoint_warnings(a) -> list[Warning]:
    out = []
    for res in a.outcomes:
        o = res.outcome
        for cp, found in res.missed:
            when = scoring.as_utc(found.date).date().isoformat()
            out.append(Warning(
                "high", "checkpoint_missed",
                f"checkpoint {cp.date.isoformat()} planned {o.metric} at {cp.value:g}; it was "
                f"{found.value:g} on {when}: review the levers' sequencing toward the next "
                "checkpoint, or re-plan the checkpoints if the plan was wrong",
                owner=o.owner or "", outcome_id=o.id))
    return out


def _lever_loop_warnings(a, groups: _Groups, config: Config,
                         readings: list[Reading]) -> list[Warning]:
    """`leading_flat` (the lever-level twin of `activity_bias`) and `experiment_overdue`."""
    out = []
    cadence = config.review.cadence
    done = groups.done_by_lever
    for lr in a.levers:
        lv = lr.lever
        base = dict(owner=lv.owner or "", outcome_id=lr.outcome.id, lever_id=lv.id)
        lead = lv.leading
        if lead is not None:
            mv = scoring.metric_movement(lead.metric, lead.baseline, lead.target,
                                         done.get(lv.id, []), readings, cadence, a.now)
            if mv.done_in_window >= 3 and not mv.moved_toward_target and mv.read:
                out.append(Warning(
                    "medium", "leading_flat",
                    f"{mv.done_in_window} tickets done in the last {_days(2 * cadence)} but the "
                    f"leading metric {lead.metric} went {mv.reference:g} → {mv.current:g}: check "
                    "that the shipped work reaches users, or rethink the lever before doing more",
                    **base))
        if lv.experiment_until is not None and a.now.date() > lv.experiment_until and lr.active:
            out.append(Warning(
                "medium", "experiment_overdue",
                f"the experiment was time-boxed until {lv.experiment_until.isoformat()} and still "
                f"has {lr.active} active ticket{'s' if lr.active != 1 else ''}: stop it, keep it "
                "as a lever (remove experiment_until), or extend the date", **base))
    return out


def _unused_rules(a) -> list[Warning]:
    out = []
    for rule in a.rules.all_rules():
        if not a.hits.tickets(rule):
            lever = rule.lever_id or "ignore"
            out.append(Warning("low", "unused_rule", f"{lever} rule {rule.describe()} matched no ticket",
                               outcome_id=rule.outcome_id or "", lever_id=rule.lever_id or ""))
    return out


def _metric_problems(a) -> list[Warning]:
    return [Warning("medium", "bad_metric", line) for line in a.metric_problems]


def _forecast_misses(a) -> list[Warning]:
    """An outcome not yet done whose line, carried on, falls short at the deadline."""
    out = []
    for res in a.outcomes:
        fc, o = res.forecast, res.outcome
        if fc is None or not fc.misses or res.status == "done":
            continue
        out.append(Warning("medium", "forecast_miss",
                           f"{o.metric} heads for {fc.value:g} by {o.deadline.isoformat()}, "
                           f"short of the target {o.target:g} (trend of {fc.readings} readings)",
                           owner=o.owner or "", outcome_id=o.id))
    return out


def _metric_source_failures(a) -> list[Warning]:
    return [Warning("medium", "metric_source_failed", line) for line in a.source_failures]


def _source_problems(a) -> list[Warning]:
    # A saved search page taken for the whole search would misstate every share.
    return [Warning("high", "partial_export", line) for line in a.source_problems]


def find_warnings(a, config: Config, readings: list[Reading]) -> list[Warning]:
    """Every warning, in the order the checks find them: first each ticket's
    together, in the order of `a.tickets`, then those that name no ticket."""
    found = _ticket_warnings(a, config)
    groups = _groups(a)
    # Extended in place: `a + b + ...` copied the 150k ticket warnings ten times.
    for more in (_goal_overload(groups, config), _lever_warnings(a),
                 _outcome_warnings(a, groups, config, readings), _forecast_misses(a),
                 _unused_rules(a), _metric_problems(a), _metric_source_failures(a),
                 _source_problems(a), _checkpoint_warnings(a),
                 _lever_loop_warnings(a, groups, config, readings)):
        found += more
    return found


def sort_warnings(found: list[Warning], key_ranks: dict[str, int] | None = None) -> list[Warning]:
    """A sorted copy of `found`: by severity, kind, outcome, lever, key (in
    natural order) and owner, ties as found.  `key_ranks`: `natural_ranks`
    of every key a warning names ("" too), when the caller has them already.

    One stable sort puts keys and owners in order, by an int (the key's
    rank, then the owner's): the ticket warnings come in ticket order, so
    that sort has little to do.  Grouping by the rest keeps that order within
    each group, and only the few groups are sorted by their tuple.  One sort
    by the whole tuple per warning took four times as long (150k warnings
    at 100k tickets)."""
    ranks = natural_ranks({w.key for w in found}) if key_ranks is None else key_ranks
    owners = {owner: i for i, owner in enumerate(sorted(set(map(itemgetter(4), found))))}
    width = len(owners)
    ordered = sorted(found, key=lambda w: ranks[w[3]] * width + owners[w[4]])
    groups: dict[tuple, list[Warning]] = {}
    for group, w in zip(map(_GROUP, ordered), ordered):
        same = groups.get(group)
        if same is None:
            groups[group] = [w]
        else:
            same.append(w)
    out: list[Warning] = []
    for group in sorted(groups, key=lambda g: (SEVERITY_ORDER[g[0]], g[1], g[2], g[3])):
        out += groups[group]
    return out


_GROUP = itemgetter(0, 1, 5, 6)        # severity, kind, outcome, lever


def raise_warnings(a, config: Config, readings: list[Reading],
                   key_ranks: dict[str, int] | None = None) -> list[Warning]:
    """Every warning, sorted (`sort_warnings`)."""
    return sort_warnings(find_warnings(a, config, readings), key_ranks)
