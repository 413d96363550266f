"""How work flows: per lever, per outcome and for the team, over the last
`flow.window` of done work — throughput, work in progress, lead time, and
when the open tickets will be done (a Monte Carlo of the window's weeks).

Pure: the assessed tickets, the window, `now` and a seed.  The random
generator is seeded from the workspace and the date, so every sync of one
day draws the same trials and writes the same date.
"""
from __future__ import annotations

import math
import random
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import accumulate, islice
from statistics import median, quantiles
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sync.core.assessment import TicketResult
    from sync.core.config import Outcome

TRIALS = 10_000
CONFIDENCE = 0.85
MAX_WEEKS = 520        # a forecast past ten years says "not at this pace", not a date
WEEK = timedelta(weeks=1)
TEAM = "*"


@dataclass(frozen=True, slots=True)
class FlowRow:
    outcome_id: str          # TEAM for the whole team
    lever_id: str            # "" on an outcome's and the team's row
    throughput: float        # done tickets per week over the window
    wip: int
    lead_median: float | None
    lead_p85: float | None
    open: int
    done_by: date | None

    def cells(self) -> list:
        return [self.outcome_id, self.lever_id or None, self.throughput, self.wip,
                self.lead_median, self.lead_p85, self.open,
                self.done_by.isoformat() if self.done_by else None]


@dataclass(slots=True)
class _Tally:
    weeks: list[int]                     # done count per week, most recent first
    leads: list[float] = field(default_factory=list)
    open: int = 0
    wip: int = 0

    def add(self, other: "_Tally") -> None:
        self.weeks = [a + b for a, b in zip(self.weeks, other.weeks)]
        self.leads += other.leads
        self.open += other.open
        self.wip += other.wip


def _percentile(values: list[float], share: float) -> float:
    """Linear interpolation between the closest ranks (spreadsheets' PERCENTILE)."""
    if len(values) == 1:
        return values[0]
    return quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def weeks_to_finish(counts: list[int], open_count: int, rng: random.Random,
                    trials: int = TRIALS) -> int | None:
    """Weeks by which `CONFIDENCE` of the trials finished `open_count` tickets,
    each trial drawing a past week's done count at random, week after week.
    None when that lies past MAX_WEEKS.

    The draws are one stream cut into trials: random bytes mapped to week
    indices by `bytes.translate` and summed by `accumulate`, both in C, so
    10,000 trials of a busy team take milliseconds, not seconds."""
    if open_count <= 0:
        return 0
    n = len(counts)
    if not any(counts) or open_count > max(counts) * MAX_WEEKS:
        return None
    usable = 256 - 256 % n                      # bytes past this would favour low indices
    table = bytes(b % n for b in range(256))
    reject = bytes(range(usable, 256))
    mean = sum(counts) / n
    chunk = min(1 << 18, max(4096, int(trials * min(MAX_WEEKS, open_count / mean + 1))))
    totals: list[int] = []                     # running sum of the stream drawn so far
    start, base, needed = 0, 0, []
    for _ in range(trials):
        goal = base + open_count
        while True:
            at = bisect_left(totals, goal, start)
            if at < len(totals) or len(totals) - start >= MAX_WEEKS:
                break
            if start > 1 << 16:                 # drop the finished trials' part of the stream
                del totals[:start]
                at, start = at - start, 0
            picks = rng.randbytes(chunk).translate(table, reject)
            running = accumulate(map(counts.__getitem__, picks), initial=totals[-1] if totals else 0)
            totals.extend(islice(running, 1, None))     # the initial value is already there
        taken = at - start + 1
        if taken > MAX_WEEKS:
            needed.append(math.inf)
            start += MAX_WEEKS
        else:
            needed.append(taken)
            start = at + 1
        base = totals[start - 1]
    needed.sort()
    weeks = needed[math.ceil(CONFIDENCE * trials) - 1]
    return None if weeks == math.inf else int(weeks)


def measure(tickets: list[TicketResult], outcomes: list[Outcome], window: timedelta,
            now: datetime, seed: str) -> list[FlowRow]:
    """Each outcome's row then its levers' rows, in config order; the team's last."""
    n_weeks = max(1, round(window / WEEK))
    groups: dict[tuple[str, str], _Tally] = {}
    for r in tickets:
        m = r.mapping
        if m.state == "ignored":
            continue
        key = (m.outcome_id or "", m.lever_id or "") if m.state == "mapped" else ("", "")
        tally = groups.get(key)
        if tally is None:
            tally = groups[key] = _Tally([0] * n_weeks)
        t = r.ticket
        if r.active:
            tally.open += 1
            tally.wip += t.in_progress
        elif t.done and t.done_at is not None:
            ago = now - t.done_at
            if timedelta(0) <= ago < window:
                tally.weeks[int(ago / WEEK)] += 1
                if t.created is not None and t.done_at >= t.created:
                    tally.leads.append((t.done_at - t.created).total_seconds() / 86400)
    rows = []
    team = _Tally([0] * n_weeks)
    for tally in groups.values():
        team.add(tally)
    for o in outcomes:
        total = _Tally([0] * n_weeks)
        for key, tally in groups.items():
            if key[0] == o.id:
                total.add(tally)
        rows.append(_row(o.id, "", total, n_weeks, now, seed))
        for lv in o.levers:
            rows.append(_row(o.id, lv.id, groups.get((o.id, lv.id)) or _Tally([0] * n_weeks),
                             n_weeks, now, seed))
    rows.append(_row(TEAM, "", team, n_weeks, now, seed))
    return rows


def _row(outcome_id: str, lever_id: str, tally: _Tally, n_weeks: int, now: datetime,
         seed: str) -> FlowRow:
    done = sum(tally.weeks)
    leads = sorted(tally.leads)
    done_by = None
    if done:
        # One generator per row: a row's date does not depend on the rows before it.
        rng = random.Random(f"{seed}|{now.date().isoformat()}|{outcome_id}|{lever_id}")
        weeks = weeks_to_finish(tally.weeks, tally.open, rng)
        done_by = now.date() + timedelta(weeks=weeks) if weeks is not None else None
    return FlowRow(outcome_id, lever_id, round(done / n_weeks, 1), tally.wip,
                   round(median(leads), 1) if leads else None,
                   round(_percentile(leads, CONFIDENCE), 1) if leads else None,
                   tally.open, done_by)
