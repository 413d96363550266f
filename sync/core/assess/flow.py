"""How work flows: per lever, per outcome and for the team, over the last
`flow.window` of done work — throughput, work in progress, lead time, and
when the open tickets will be done (a Monte Carlo of the window's weeks).

Pure: the assessed tickets, the window, `now` and a seed.  The random
generator is seeded from the workspace, the date and the row, so every sync
of one day draws the same trials and writes the same date.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median, quantiles

from sync.core.outcomes import Outcome

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


def weeks_to_finish(counts: list[int], open_count: int, seed: str,
                    trials: int = TRIALS) -> int | None:
    """Weeks by which `CONFIDENCE` of the trials finished `open_count` tickets,
    each trial drawing a past week's done count at random, week after week;
    None when that lies past MAX_WEEKS.

    All trials advance together, one week per step (numpy: a busy team's
    10,000 trials take a millisecond, where a loop per draw took a tenth of a
    second per row).  Stepping stops once `CONFIDENCE` of them finished: the
    week that happened in is the answer, whatever the slower trials do."""
    if open_count <= 0:
        return 0
    if not any(counts) or open_count > max(counts) * MAX_WEEKS:
        return None
    # lazy: numpy (0.1 s to import) is needed only once a Flow forecast runs
    import numpy as np
    digest = hashlib.sha256(seed.encode()).digest()
    rng = np.random.Generator(np.random.PCG64(int.from_bytes(digest[:16], "big")))
    weekly = np.asarray(counts, dtype=np.int64)
    remaining = np.full(trials, open_count, dtype=np.int64)
    needed = math.ceil(CONFIDENCE * trials)
    finished = 0
    for week in range(1, MAX_WEEKS + 1):
        remaining -= weekly[rng.integers(0, len(counts), size=remaining.size)]
        done = remaining <= 0
        finished += int(done.sum())
        if finished >= needed:
            return week
        remaining = remaining[~done]
    return None


def measure(tickets: list, outcomes: list[Outcome], window: timedelta,
            now: datetime, seed: str) -> list[FlowRow]:
    """Each outcome's row then its levers' rows, in config order; the team's last.
    `tickets`: the assessment's TicketResults (mapping and ticket each)."""
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
        weeks = weeks_to_finish(tally.weeks, tally.open,
                                f"{seed}|{now.date().isoformat()}|{outcome_id}|{lever_id}")
        done_by = now.date() + timedelta(weeks=weeks) if weeks is not None else None
    return FlowRow(outcome_id, lever_id, round(done / n_weeks, 1), tally.wip,
                   round(median(leads), 1) if leads else None,
                   round(_percentile(leads, CONFIDENCE), 1) if leads else None,
                   tally.open, done_by)
