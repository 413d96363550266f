"""When the next sync is due (`schedule.every` or `schedule.cron`, by
croniter) and when the next weekly review falls (`review.day`,
`review.time`, `review.cadence`), in `schedule.timezone`.  Pure functions
of the config and a time."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from croniter import croniter

from sync.core.config import WEEKDAYS, Schedule

if TYPE_CHECKING:
    from sync.core.config import Config       # built from the registry on first use: not at import

DEFAULT_EVERY = timedelta(minutes=15)


class Timetable:
    def __init__(self, schedule: Schedule):
        self.every = schedule.every
        self.cron = schedule.cron
        self.zone = ZoneInfo(schedule.timezone)
        # The config has checked the cron expression and that `every` > 0.
        if not self.cron and self.every is None:
            self.every = DEFAULT_EVERY

    def next_after(self, moment: datetime) -> datetime:
        """The first due time after `moment` (a sync that started at `moment`)."""
        if self.cron:
            local = moment.astimezone(self.zone)
            return croniter(self.cron, local).get_next(datetime).astimezone(timezone.utc)
        return moment + self.every

    def interval(self, moment: datetime) -> timedelta:
        """The gap between syncs around `moment`: what /healthz measures staleness by."""
        if self.cron:
            first = self.next_after(moment)
            return self.next_after(first) - first
        return self.every


def occurrences(config: Config, after: datetime) -> datetime:
    """The first `review.day` at `review.time` (in schedule.timezone) after `after`."""
    zone = ZoneInfo(config.schedule.timezone)
    local = after.astimezone(zone)
    hour, minute = (int(x) for x in config.review.time.split(":"))
    day = WEEKDAYS.index(config.review.day)
    candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    candidate += timedelta(days=(day - candidate.weekday()) % 7)
    if candidate <= local:
        candidate += timedelta(days=7)
    return candidate.astimezone(after.tzinfo)


def next_review(config: Config, previous: datetime) -> datetime:
    """The review after one at `previous`: a cadence later, on the review day."""
    return occurrences(config, previous + config.review.cadence - timedelta(minutes=1))
