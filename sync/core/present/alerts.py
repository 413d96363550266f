"""Alerts: telling the people who run the sync that it keeps failing, and
when it works again.  Pure: the next incident is a function of the previous
one, this sync's result and `now`; the worker stores it and delivers.

An incident opens at the `after_failures`-th failed sync in a row.  Each
target is told once when it opens (`failing`), again every `remind` while it
stays open (`reminder`), and once when a good sync closes it (`recovered`);
only targets that were told it failed are told it recovered.  A target that
could not be reached stays owed its message and gets it at the next sync.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

FAILING, REMINDER, RECOVERED = "failing", "reminder", "recovered"


@dataclass(frozen=True)
class Incident:
    failures: int = 0                        # failed syncs in a row
    since: datetime | None = None            # the first of them
    error: str = ""                          # the last one's reason, redacted
    opened: datetime | None = None           # None: no incident is open
    told: dict[str, datetime] = field(default_factory=dict)   # target → last failing/reminder sent
    owed_recovery: tuple[str, ...] = ()      # targets still to be told it recovered
    recovered: datetime | None = None        # when the last incident closed
    last: "Incident | None" = None           # the closed incident a `recovered` is about

    def to_json(self) -> dict:
        return {"failures": self.failures, "since": _iso(self.since), "error": self.error,
                "opened": _iso(self.opened), "told": {t: _iso(at) for t, at in self.told.items()},
                "owed_recovery": list(self.owed_recovery), "recovered": _iso(self.recovered),
                "last": self.last.to_json() if self.last else None}

    @classmethod
    def from_json(cls, data: dict | None) -> "Incident":
        if not data:
            return cls()
        return cls(failures=int(data.get("failures") or 0), since=_time(data.get("since")),
                   error=str(data.get("error") or ""), opened=_time(data.get("opened")),
                   told={t: _time(at) for t, at in (data.get("told") or {}).items()},
                   owed_recovery=tuple(data.get("owed_recovery") or ()),
                   recovered=_time(data.get("recovered")),
                   last=cls.from_json(data["last"]) if data.get("last") else None)


@dataclass(frozen=True)
class Message:
    target: str
    kind: str                                # failing | reminder | recovered
    workspace: str
    failures: int
    since: datetime
    error: str
    sheet: str
    at: datetime


def advance(prev: Incident, ok: bool, error: str, now: datetime, after_failures: int) -> Incident:
    """The incident after one sync: `ok`, or failed with `error` (already redacted)."""
    if ok:
        if prev.opened is None:
            # A good sync between failures that never opened an incident resets the count.
            return Incident(owed_recovery=prev.owed_recovery, recovered=prev.recovered, last=prev.last)
        owed = tuple(dict.fromkeys(prev.owed_recovery + tuple(prev.told)))
        return Incident(owed_recovery=owed, recovered=now, last=replace(prev, last=None))
    failures = prev.failures + 1
    opened = prev.opened or (now if failures >= after_failures else None)
    return replace(prev, failures=failures, since=prev.since or now, error=error, opened=opened)


def due(incident: Incident, targets: list[str], now: datetime, remind: timedelta) -> list[tuple[str, str]]:
    """(target, kind) of every message owed now."""
    out = [(t, RECOVERED) for t in incident.owed_recovery if t in targets]
    if incident.opened is None:
        return out
    for target in targets:
        told = incident.told.get(target)
        if told is None:
            out.append((target, FAILING))
        elif remind > timedelta(0) and now - told >= remind:
            out.append((target, REMINDER))
    return out


def sent(incident: Incident, target: str, kind: str, now: datetime) -> Incident:
    """The incident once `target` accepted its `kind` message."""
    if kind == RECOVERED:
        return replace(incident, owed_recovery=tuple(t for t in incident.owed_recovery if t != target))
    return replace(incident, told={**incident.told, target: now})


def message(incident: Incident, target: str, kind: str, workspace: str, sheet: str) -> Message:
    about = incident.last if kind == RECOVERED and incident.last else incident
    at = incident.recovered if kind == RECOVERED else about.opened
    return Message(target, kind, workspace, about.failures, about.since or at, about.error, sheet, at)


def render(m: Message) -> tuple[str, str]:
    """(title, text) of an alert, for every channel."""
    since = m.since.strftime("%Y-%m-%d %H:%M UTC")
    link = f"\nSheet: {m.sheet}" if m.sheet else ""
    if m.kind == RECOVERED:
        return (f"align-sync {m.workspace}: recovered",
                f"Workspace {m.workspace} syncs again (it failed {m.failures} times in a row "
                f"from {since}).{link}")
    title = f"align-sync {m.workspace}: syncs are failing" + (" (reminder)" if m.kind == REMINDER else "")
    return (title, f"Workspace {m.workspace}: {m.failures} syncs in a row have failed, since {since}."
                   f"\nReason: {m.error}{link}")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _time(value) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
