"""When the next sync is due: `schedule.every` or `schedule.cron` (croniter),
in `schedule.timezone`.  Pure functions of the config and a time."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from croniter import croniter

from sync.core.config import Schedule

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
