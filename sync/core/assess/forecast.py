"""Where an outcome's metric is heading: a straight line through its readings,
projected to the deadline.

The line is fitted by the Theil–Sen estimator: its slope is the median of
the slopes between every pair of readings, its intercept the median of what
each reading leaves once the slope is taken out.  A least-squares line leans
toward a single odd reading (a typo, a one-day spike); the medians ignore it
as long as most readings sit on the trend.  Pure: readings, outcome, `now`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median

from sync.core.outcomes import Outcome
from sync.core.model import Reading
from sync.core.assess.scoring import as_utc

WILL_HIT, WILL_MISS, TOO_FEW = "will hit", "will miss", "too few readings"
MIN_READINGS = 3       # two points always make a line; a third can disagree with it


@dataclass(frozen=True, slots=True)
class Forecast:
    status: str                      # WILL_HIT | WILL_MISS | TOO_FEW
    value: float | None = None       # the line's value at the deadline
    hits_on: date | None = None      # the day the line reaches the target, if by the deadline
    slope: float | None = None       # metric units per day
    readings: int = 0                # days with a reading that the line rests on

    @property
    def misses(self) -> bool:
        return self.status == WILL_MISS


def daily_points(outcome: Outcome, readings: list[Reading], now: datetime) -> list[tuple[int, float]]:
    """(day since start, value): one per date from start to today.  Of several
    readings of one date, the latest-dated one counts, then the later row, as
    for Current."""
    wanted = outcome.metric.strip().lower()
    today = now.date()
    best: dict[date, tuple[datetime, float]] = {}
    for r in readings:
        if r.metric.strip().lower() != wanted:
            continue
        when = as_utc(r.date)
        day = when.date()
        if not outcome.start <= day <= today:
            continue
        held = best.get(day)
        if held is None or when >= held[0]:
            best[day] = (when, r.value)
    return sorted(((day - outcome.start).days, value) for day, (_, value) in best.items())


def theil_sen(points: list[tuple[int, float]]) -> tuple[float, float]:
    """(slope, intercept) of the Theil–Sen line through points with distinct x."""
    slopes = [(y2 - y1) / (x2 - x1)
              for i, (x1, y1) in enumerate(points) for x2, y2 in points[i + 1:]]
    slope = median(slopes)
    intercept = median(y - slope * x for x, y in points)
    return slope, intercept


def _tidy(value: float) -> float:
    """Two decimals (a projection is no more exact than that), or three
    significant digits for a small rate such as 0.0341."""
    if abs(value) >= 1 or value == 0 or not math.isfinite(value):
        return round(value, 2)
    return round(value, 2 - int(math.floor(math.log10(abs(value)))))


def forecast(outcome: Outcome, readings: list[Reading], now: datetime) -> Forecast:
    points = daily_points(outcome, readings, now)
    if len(points) < MIN_READINGS:
        return Forecast(TOO_FEW, readings=len(points))
    slope, intercept = theil_sen(points)
    span = (outcome.deadline - outcome.start).days
    value = intercept + slope * span
    rising = outcome.target > outcome.baseline      # a target below baseline is reached from above
    hits = value >= outcome.target if rising else value <= outcome.target
    hits_on = None
    toward = slope > 0 if rising else slope < 0
    if toward:
        day = math.ceil((outcome.target - intercept) / slope - 1e-9)
        if day <= span:
            hits_on = outcome.start + timedelta(days=max(0, day))
    elif hits:
        hits_on = outcome.start         # flat or falling, yet past the target all along
    return Forecast(WILL_HIT if hits else WILL_MISS, _tidy(value), hits_on, slope, len(points))
