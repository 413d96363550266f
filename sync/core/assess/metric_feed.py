"""Readings that arrive by themselves: what the configured metric sources
returned, folded into the Metrics tab beside people's rows.

A source's row carries the Note `from <name>`; there is one per date, metric
and source, and a later value of the same day replaces it.  A person's row
for the same date and metric wins: the source's is not added, and one
already in the tab no longer counts.  People's rows are never changed.
Pure: the tab as read, what each source returned, config and `now`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Iterable

from sync.core.numbers import parse_number
from sync.core.values import parse_date
from sync.core.model import Reading

NOTE = "from "
FUTURE_SLACK = timedelta(days=1)      # as for people's rows: past tomorrow is a typo


@dataclass(frozen=True)
class Fetched:
    """One source's answer: its rows (date, metric, value as read), or why it failed."""
    name: str
    rows: list[tuple[Any, Any, Any]] = field(default_factory=list)
    error: str | None = None


@dataclass
class MetricRows:
    """What a sink changes in the Metrics tab: source rows whose value changed
    (sheet row → Date, Metric, Value, Note) and new source rows, in order."""
    changed: dict[int, list] = field(default_factory=dict)
    added: list[list] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changed or self.added)


@dataclass
class Merged:
    readings: list[Reading]           # what the figures rest on
    rows: MetricRows
    problems: list[str]               # unreadable source rows (`bad_metric`)
    failures: list[str]               # failed sources (`metric_source_failed`)


def wanted_metrics(config) -> set[str]:
    """Metrics some outcome or guardrail names (lower case): only these are kept."""
    names = {o.metric for o in config.outcomes}
    names |= {g.metric for o in config.outcomes for g in o.guardrails}
    return {n.strip().lower() for n in names}


def since(config) -> date:
    """`:since`: the earliest start of any outcome."""
    return min(o.start for o in config.outcomes)


def source_of(note: str, names: set[str]) -> str | None:
    """The configured source a Metrics row came from, by its Note."""
    if note.startswith(NOTE) and note[len(NOTE):] in names:
        return note[len(NOTE):]
    return None


def _key(day: date, metric: str) -> tuple[date, str]:
    return day, metric.strip().lower()


def merge(readings: list[Reading], fetched: Iterable[Fetched], config, now: datetime) -> Merged:
    fetched = list(fetched)
    names = {m.name for m in getattr(config, "metrics", ())}
    wanted = wanted_metrics(config)
    people: set[tuple[date, str]] = set()
    ours: dict[tuple[str, date, str], Reading] = {}    # (source, day, metric) → its last row
    for r in readings:
        name = source_of(r.note, names)
        if name is None:
            people.add(_key(r.date.date(), r.metric))
        else:
            ours[(name, *_key(r.date.date(), r.metric))] = r
    problems, failures = [], []
    rows = MetricRows()
    for got in fetched:
        if got.error is not None:
            failures.append(f"metric source {got.name}: {got.error}; its earlier rows are kept")
            continue
        latest: dict[tuple[date, str], tuple[str, float]] = {}
        for n, (raw_date, raw_metric, raw_value) in enumerate(got.rows, start=1):
            when, value = parse_date(raw_date), parse_number(raw_value)
            metric = str(raw_metric).strip() if raw_metric not in (None, "") else ""
            what = [f"date {raw_date!r} is not a date" if when is None else "",
                    "metric is blank" if not metric else "",
                    f"value {raw_value!r} is not a number" if value is None else ""]
            if any(what):
                problems.append(f"metric source {got.name} row {n}: "
                                f"{'; '.join(w for w in what if w)}; row ignored")
                continue
            if metric.lower() not in wanted:
                continue
            if when > now + FUTURE_SLACK:
                problems.append(f"metric source {got.name} row {n}: dated "
                                f"{when.date().isoformat()}, in the future; row ignored")
                continue
            latest[_key(when.date(), metric)] = (metric, value)     # a later row of the day wins
        for (day, low), (metric, value) in sorted(latest.items()):
            if (day, low) in people:
                continue                                           # the person's row wins
            cells = [day.isoformat(), metric, value, NOTE + got.name]
            held = ours.get((got.name, day, low))
            if held is None:
                rows.added.append(cells)
                continue
            if held.value != value:
                rows.changed[held.row] = cells
            ours[(got.name, day, low)] = Reading(held.date, held.metric, value, held.note, held.row)
    kept = [r for r in readings if source_of(r.note, names) is None]
    kept += [r for (name, day, low), r in ours.items() if (day, low) not in people]
    for cells in rows.added:
        when = parse_date(cells[0])
        kept.append(Reading(when, cells[1], cells[2], cells[3]))
    return Merged(kept, rows, problems, failures)
