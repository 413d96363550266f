"""One sync's verdict: every ticket mapped and scored, every outcome, lever
and owner rolled up, every warning raised.  `assess()` is pure: tickets,
config, the Metrics readings and `now` in; an `Assessment` out.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from operator import attrgetter
from typing import Iterable, TYPE_CHECKING

from sync.core.assess.matching import Pattern

from sync.core.assess import plan

from sync.core.assess import scoring
from sync.core.assess.checks import find_warnings, sort_warnings
from sync.core.assess.flags import count_warnings
from sync.core.assess.choices import Choices
from sync.core.outcomes import Lever, Outcome
from sync.core.assess.flow import FlowRow, measure
from sync.core.assess.forecast import Forecast, forecast
from sync.core.model import Mapping, Reading, Ticket, Warning, natural_ranks
from sync.core.assess.rules import RuleHits, RuleSet
from sync.core.values import future

if TYPE_CHECKING:
    from sync.core.config import Config

NO_OWNER = "(unassigned)"


@dataclass
class TicketResult:
    ticket: Ticket
    mapping: Mapping
    held: tuple[bool, ...]       # the task score's checks, in scoring.POINTS order
    score: int | None            # None for out-of-scope (ignored) tickets
    active: bool                 # in scope and not done
    effort: float
    flags: list[str] = field(default_factory=list)


@dataclass
class OutcomeResult:
    outcome: Outcome
    current: float | None
    progress: float | None
    elapsed: float
    status: str
    active: int
    done: int
    aligned_effort: float | None     # share of the team's active effort, %
    average_score: float | None
    warnings: int = 0
    planned: float | None = None     # the plan's progress % today, with checkpoints only
    missed: list = field(default_factory=list)    # [(Checkpoint, Reading)] short of the plan
    forecast: Forecast | None = None     # where the metric heads by the deadline


@dataclass
class LeverResult:
    outcome: Outcome
    lever: Lever
    priority: float | None
    active: int
    done: int
    active_effort: float
    last_activity: datetime | None
    leading_current: float | None = None     # the leading metric's latest value
    leading_progress: float | None = None


@dataclass
class OwnerResult:
    owner: str
    active: int
    outcomes: int
    aligned_effort: float | None
    average_score: float | None
    warnings: int = 0


@dataclass
class Assessment:
    now: datetime
    tickets: list[TicketResult]
    outcomes: list[OutcomeResult]
    levers: list[LeverResult]
    owners: list[OwnerResult]
    warnings: list[Warning]
    rules: RuleSet
    hits: RuleHits
    aligned_effort: float | None
    average_score: float | None
    metric_problems: list[str] = field(default_factory=list)   # `bad_metric` lines
    # The sheet's `Set lever` choices this sync went by, by ticket key, and
    # the cells refused as no possible choice (key → why).
    choices: dict[str, str] = field(default_factory=dict)
    choice_problems: dict[str, str] = field(default_factory=dict)
    source_problems: list[str] = field(default_factory=list)   # `partial_export` lines
    flow: list[FlowRow] = field(default_factory=list)          # the Flow tab's rows
    source_failures: list[str] = field(default_factory=list)   # `metric_source_failed` lines

    @property
    def in_scope(self) -> list[TicketResult]:
        return [r for r in self.tickets if r.mapping.in_scope]

    @property
    def active(self) -> list[TicketResult]:
        return [r for r in self.tickets if r.active]

    def unmapped_active(self) -> list[TicketResult]:
        return [r for r in self.tickets if r.active and r.mapping.state == "unmapped"]

    def find(self, key: str) -> TicketResult | None:
        wanted = key.lower()
        return next((r for r in self.tickets if r.ticket.key.lower() == wanted), None)


def _mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def usable_readings(readings: list[Reading], now: datetime) -> tuple[list[Reading], list[str]]:
    """Readings a figure may rest on, and a line for each one dated in the future
    (a typo such as 2062 for 2026 is not the latest value)."""
    ok, problems = [], []
    for r in readings:
        if future(scoring.as_utc(r.date), now):
            where = f"Metrics row {r.row}" if r.row else f"a {r.metric} reading"
            problems.append(f"{where}: dated {r.date.date().isoformat()}, in the future; ignored")
        else:
            ok.append(r)
    return ok, problems


def usable_tickets(tickets: Iterable[Ticket], now: datetime) -> Iterable[Ticket]:
    """Tickets with a time past tomorrow (year 9999, a broken clock) taken as
    having no such time, and a `bad_data` problem saying so: such a ticket
    is not fresh and its time is no lever's last activity."""
    for t in tickets:
        if future(t.updated, now) or future(t.done_at, now):
            said = [f"`{name}` {when.date().isoformat()} is past tomorrow; taken as {instead}"
                    for name, when, instead in (("updated", t.updated, "never updated"),
                                                ("resolved", t.done_at, "no resolution date"))
                    if future(when, now)]
            t = replace(t, updated=None if future(t.updated, now) else t.updated,
                        done_at=None if future(t.done_at, now) else t.done_at,
                        problems=t.problems + tuple(said))
        yield t


def assess(tickets: Iterable[Ticket], config: Config, readings: list[Reading],
           now: datetime, rules: RuleSet | None = None,
           metric_problems: Iterable[str] = (), choices: Choices | None = None,
           source_problems: Iterable[str] = (), workspace: str = "",
           source_failures: Iterable[str] = ()) -> Assessment:
    """`choices`: the sheet's `Set lever` choices, merged over those kept in state;
    `source_problems`: what the sources found incomplete (a partial export).
    `workspace`: its name seeds Flow's Monte Carlo (with the date).
    `source_failures`: one line per metric source that could not be read."""
    readings, future = usable_readings(readings, now)
    rules = rules or RuleSet.compile(config)
    review = config.review
    pattern = Pattern(review.acceptance_pattern)
    usable = list(usable_tickets(tickets, now))
    # natural() once per key, as a rank: the tickets sort by it here and their
    # warnings in sort_warnings ("" ranks the warnings that name no ticket).
    ranks = natural_ranks([""] + [t.key for t in usable])
    ordered = sorted(usable, key=lambda t: ranks[t.key])
    ordered.sort(key=attrgetter("source"))      # stable: by source, then in natural order
    mappings, hits = rules.map_each(ordered, choices.chosen if choices else None)
    if len(ranks) <= len(ordered):
        # Two tickets share a key (two sources, or a repeat): where they share
        # the uid too, both take the mapping of the last, as a lookup by uid gives.
        by_uid = {t.uid: m for t, m in zip(ordered, mappings)}
        mappings = [by_uid[t.uid] for t in ordered]
    results, tallies = _scored(ordered, mappings, review, pattern, now)
    team_effort = sum(tallies.team.efforts)
    outcomes = [_outcome(o, tallies.outcomes[o.id], readings, team_effort, now)
                for o in config.outcomes]
    levers = [_lever(o, lv, tallies.levers[lv.id], readings) for o, lv in config.levers()]
    owners = _owners(tallies.owners)
    result = Assessment(now, results, outcomes, levers, owners, [], rules, hits,
                        scoring.percent(sum(tallies.team.mapped_efforts), team_effort),
                        _mean(tallies.team.scores),
                        list(metric_problems) + future,
                        dict(choices.chosen) if choices else {},
                        dict(choices.refused) if choices else {}, list(source_problems))
    result.source_failures = list(source_failures)
    result.flow = measure(results, config.outcomes, config.flow.window, now, workspace)
    found = find_warnings(result, config, readings)
    result.warnings = sort_warnings(found, ranks)
    count_warnings(result, found, NO_OWNER)
    return result


@dataclass(slots=True)
class _Tally:
    """What the figures of the team, an outcome, a lever or an owner are
    made of, gathered while the tickets are scored: one pass over 100k
    tickets, where a sum per figure read each ticket again (and its ticket
    and mapping, from all over memory).  Efforts are kept as lists and summed
    by sum(), in ticket order, so each total is the float it always was."""
    active: int = 0
    done: int = 0
    efforts: list[float] = field(default_factory=list)          # of the active tickets
    mapped_efforts: list[float] = field(default_factory=list)   # of the active mapped ones
    scores: list[int] = field(default_factory=list)             # of the tickets in scope
    outcome_ids: set[str] = field(default_factory=set)          # of the active mapped ones
    last: datetime | None = None                                # the latest `updated`


@dataclass
class _Tallies:
    team: _Tally = field(default_factory=_Tally)
    outcomes: defaultdict = field(default_factory=lambda: defaultdict(_Tally))   # mapped tickets
    levers: defaultdict = field(default_factory=lambda: defaultdict(_Tally))     # mapped tickets
    owners: defaultdict = field(default_factory=lambda: defaultdict(_Tally))     # active tickets


def _scored(ordered: list[Ticket], mappings: list[Mapping], review, pattern: Pattern,
            now: datetime) -> tuple[list[TicketResult], _Tallies]:
    """Every ticket with its mapping (in the same order), task score and
    effort; and the tallies of the team, the outcomes, levers and owners."""
    results = []
    tallies = _Tallies()
    team, outcomes, levers, owners = tallies.team, tallies.outcomes, tallies.levers, tallies.owners
    totals: dict[tuple, int] = {}     # 32 possible `held` tuples: each summed once
    held_all = scoring.task_scores(ordered, mappings, review, pattern, now)
    for t, m, held in zip(ordered, mappings, held_all):
        score = totals.get(held)
        if score is None:
            score = totals[held] = scoring.total(held)
        in_scope = m.state != "ignored"
        active = in_scope and not t.done
        effort = scoring.effort(t, review)
        results.append(TicketResult(t, m, held, score if in_scope else None, active, effort))
        if not in_scope:
            continue
        mapped = m.state == "mapped"
        team.scores.append(score)
        if active:
            team.efforts.append(effort)
            owner = owners[t.owner or NO_OWNER]
            owner.active += 1
            owner.efforts.append(effort)
            owner.scores.append(score)
            if mapped:
                team.mapped_efforts.append(effort)
                owner.mapped_efforts.append(effort)
                owner.outcome_ids.add(m.outcome_id)
        if mapped:
            for tally in (outcomes[m.outcome_id], levers[m.lever_id]) if m.lever_id \
                    else (outcomes[m.outcome_id],):
                tally.active += active
                tally.done += t.done
                tally.scores.append(score)
                if active:
                    tally.efforts.append(effort)
                if t.updated and (tally.last is None or t.updated > tally.last):
                    tally.last = t.updated      # as max() keeps the first of equals
    return results, tallies


def _outcome(o: Outcome, mine: _Tally, readings: list[Reading], team_effort: float,
             now: datetime) -> OutcomeResult:
    last = scoring.latest(readings, o.metric)
    current = last.value if last else None
    prog = scoring.progress(o, current)
    elapsed = scoring.time_elapsed(o, now)
    # With checkpoints, Status measures progress against the plan, not the calendar.
    planned = plan.planned_progress(o, now.date())
    return OutcomeResult(
        o, current, prog, elapsed, scoring.status(prog, elapsed if planned is None else planned),
        mine.active, mine.done, scoring.percent(sum(mine.efforts), team_effort),
        _mean(mine.scores), planned=planned,
        missed=plan.missed_checkpoints(o, readings, now.date()),
        forecast=forecast(o, readings, now))


def _lever(o: Outcome, lv: Lever, mine: _Tally, readings: list[Reading]) -> LeverResult:
    return LeverResult(o, lv, scoring.priority(lv.impact, lv.effort, lv.confidence),
                       mine.active, mine.done, sum(mine.efforts), mine.last,
                       *plan.leading_figures(lv, readings))


def _owners(per_owner: dict[str, _Tally]) -> list[OwnerResult]:
    return [OwnerResult(name, mine.active, len(mine.outcome_ids),
                        scoring.percent(sum(mine.mapped_efforts), sum(mine.efforts)),
                        _mean(mine.scores))
            for name, mine in sorted(per_owner.items(), key=lambda kv: kv[0].lower())]
