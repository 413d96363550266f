"""The daemon's one loop: a fleet of workspaces, each on its own schedule.
`align-sync run --config X` is a fleet of one, `run --workspaces DIR` a fleet
of every config in DIR; the roster (serve/roster.py) says which workspaces
there are and how the process speaks of itself, this module runs them.

Each sync runs in a thread (the work is I/O), at most `slots` at once; the
loop itself never waits on a sync.  A workspace's syncs never overlap: one
that is late starts as soon as its previous sync ends, and missed runs
coalesce into one.  A failed sync is logged (by `observed_sync`), turns the
workspace `failing`, and its next sync runs on time.  A sync still running
after `timeout` seconds is marked hung and no longer holds a slot, so it
never holds back the others.  A stop lets the running syncs finish (`drain`),
but cuts their retries short: each workspace's runtime is told, a retry's
wait ends at once and that sync fails as interrupted, so a failing server
does not hold the exit for minutes.
"""
from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import structlog

from sync.core.errors import ConfigError, describe
from sync.core.present.report import iso
from sync.core.schedule import Timetable
from sync.worker.engine import collect_between_syncs
from sync.worker.serve.health import verdict
from sync.worker.workspace import Workspace

log = structlog.get_logger("align_sync.fleet")
GRACE = 60.0        # seconds the loop, or a sync, may overrun its deadline before /livez says stuck


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def concurrency() -> int:
    raw = os.environ.get("ALIGN_SYNC_CONCURRENCY", "2")
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"ALIGN_SYNC_CONCURRENCY: expected a whole number of 1 or more, got {raw!r}")
    return int(raw)


def sync_timeout() -> float:
    raw = os.environ.get("ALIGN_SYNC_TIMEOUT", "900")
    try:
        value = float(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(f"ALIGN_SYNC_TIMEOUT: expected seconds above zero, got {raw!r}")
    return value


@dataclass
class Member:
    """One workspace of the fleet, its schedule, and what its health says about it."""
    path: Path
    stamp: float                         # the config file's mtime when loaded (a folder's)
    workspace: Workspace | None = None
    lock: object = None
    problem: str = ""                    # a bad config, a clash or a held lock: why it is left out
    clash: list[str] = field(default_factory=list)   # the clash that is the problem, looked at on every scan
    timetable: Timetable | None = None
    due: datetime | None = None
    started: datetime | None = None      # when it joined (health counts from here)
    running: threading.Thread | None = None
    run_started: float = 0.0
    timed_out: bool = False
    last_success: datetime | None = None
    last_error: str = ""
    last_failed: bool = False
    syncs: int = 0
    force: bool = False

    @classmethod
    def of(cls, ws: Workspace, now: datetime, *, force: bool = False, stamp: float = 0.0) -> "Member":
        """A workspace joining the fleet: its first sync is due at once."""
        return cls(ws.path, stamp, ws, timetable=Timetable(ws.config.schedule), due=now, started=now,
                   force=force)

    @property
    def name(self) -> str:
        return self.workspace.name if self.workspace else self.path.stem

    @property
    def runnable(self) -> bool:
        return self.workspace is not None and self.lock is not None and not self.problem

    def health(self, now: datetime) -> tuple[bool, dict]:
        if self.workspace is None or self.problem:
            status = "invalid" if self.workspace is None else "refused"
            return False, {"status": status, "last_error": self.problem}
        healthy, status = verdict(now, 2 * self.timetable.interval(now), self.started,
                                  self.last_success, self.last_failed)
        if self.timed_out:
            healthy, status = False, "hung"
        return healthy, {"status": status, "last_success": iso(self.last_success),
                         "last_error": self.last_error or None, "next_sync": iso(self.due),
                         "syncs": self.syncs, "alerts_undelivered": self.workspace.alerting.undelivered}

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None


class Fleet:
    """`roster` (serve/roster.py): which workspaces, looked at on every turn
    (`scan`), and the words the process logs and answers /healthz with."""

    def __init__(self, roster, *, clock: Callable[[], datetime] = _utcnow,
                 wait: Callable[[float | None], bool] | None = None, force: bool = False,
                 slots: int | None = None, timeout: float | None = None):
        self.roster = roster
        self.clock, self.force = clock, force
        self.slots, self.timeout = slots or roster.slots(), timeout or sync_timeout()
        self.members: dict[Path, Member] = {}
        self.stop = threading.Event()
        self._wake = threading.Event()    # a sync ended, or a stop: the loop looks again at once
        # How the loop sleeps while no sync runs; tests pass a fake that moves their clock.
        self.wait = wait or self._wake.wait
        self.tick_seconds = roster.tick   # None: nothing to look at between syncs
        # /livez: by when (monotonic) the loop must turn again.
        self.turn_by = time.monotonic() + self.timeout + GRACE
        self.peak = 0                     # the most syncs that ran at once (tests read it)
        self._told: datetime | None = None

    @property
    def syncs(self) -> int:
        return sum(m.syncs for m in self.members.values())

    def scan(self) -> None:
        self.roster.scan(self)

    def busy(self) -> int:
        return sum(1 for m in self.members.values() if m.running is not None and not m.timed_out)

    # -- running ------------------------------------------------------------

    def tick(self) -> None:
        now = self.clock()
        for member in self.members.values():
            if member.running is not None and not member.timed_out and \
                    time.monotonic() - member.run_started > self.timeout:
                member.timed_out = True
                member.last_error = f"the sync has run for over {self.timeout:g}s; still waiting for it"
                log.error("workspace.hung", workspace=member.name, seconds=self.timeout)
        due = sorted((m for m in self.members.values()
                      if m.runnable and m.running is None and m.due and m.due <= now),
                     key=lambda m: m.due)
        for member in due:
            if self.busy() >= self.slots or self.stop.is_set():
                break
            self._start(member, now)
        self.peak = max(self.peak, self.busy())

    def _start(self, member: Member, now: datetime) -> None:
        member.due = member.timetable.next_after(now)
        member.run_started = time.monotonic()
        member.running = threading.Thread(target=self._run, args=(member, now),
                                          name=f"sync-{member.name}", daemon=True)
        member.running.start()

    def _run(self, member: Member, now: datetime) -> None:
        try:
            member.workspace.sync_once(now, force=member.force, next_sync=member.due, locked=True)
            member.last_success, member.last_error, member.last_failed = self.clock(), "", False
            member.force = False           # --force answers one refusal; later syncs are guarded again
        except Exception as exc:       # logged by observed_sync; a bug must not stop the schedule
            member.last_error, member.last_failed = describe(exc), True
        finally:
            member.syncs += 1
            member.timed_out = False
            collect_between_syncs()
            behind = self.clock() - member.due
            if behind.total_seconds() > 0 and not self.stop.is_set():   # stopping: no next sync to be late
                self.roster.late(member, behind.total_seconds())
            member.running = None
            self._wake.set()

    def wait_next(self) -> None:
        """Until the next sync is due, a running one would turn hung, or the
        roster's tick; a sync's end or a stop wakes the loop at once."""
        now = self.clock()
        running = [m for m in self.members.values() if m.running is not None and not m.timed_out]
        idle = [m for m in self.members.values() if m.runnable and m.running is None and m.due]
        limits = [self.tick_seconds] if self.tick_seconds else []
        if self.busy() < self.slots:        # else a slot frees only when a sync ends, which wakes the loop
            limits += [max(0.0, (m.due - now).total_seconds()) for m in idle]
        limits += [max(0.0, self.timeout - (time.monotonic() - m.run_started)) for m in running]
        seconds = max(min(limits), 0.05) if limits else None
        self.turn_by = time.monotonic() + (math.inf if seconds is None else seconds + GRACE)
        if any(m.running is not None for m in self.members.values()):
            self._wake.wait(seconds)        # its end wakes the loop (a test's fake wait moves its clock)
            return
        due = min((m.due for m in idle), default=None)
        if due is not None and due > now and due != self._told:
            self._told = due                # said once per wait for it, not per wake-up
            self.roster.waiting(due, (due - now).total_seconds())
        self.wait(seconds)

    def loop(self, until: Callable[["Fleet"], bool] | None = None) -> None:
        """Turn until stopped (or `until(fleet)` holds before a turn starts syncs), then drain."""
        while not self.stop.is_set():
            self._wake.clear()
            self.scan()
            if until is not None and until(self):
                break
            self.tick()
            self.wait_next()
        self.drain()

    def drain(self) -> None:
        """Let running syncs finish (not the hung ones), then release the locks."""
        for member in list(self.members.values()):
            thread = member.running
            if thread is not None and not member.timed_out:
                thread.join()
        self.release()

    def release(self) -> None:
        for member in self.members.values():
            member.release()

    def request_stop(self, signum: int | None = None) -> None:
        """The first stop request (from the watcher thread, never a signal handler)."""
        self.roster.stopping(self, signum)
        self.stop.set()
        for member in list(self.members.values()):
            if member.workspace is not None:
                member.workspace.request_stop()
        self._wake.set()

    # -- health -------------------------------------------------------------

    def health(self) -> tuple[bool, dict]:
        return self.roster.health(self)

    def listing(self) -> dict[str, tuple[bool, dict]]:
        """Each workspace's health with its config file, by name (by file
        name where two names read alike)."""
        now = self.clock()
        members = list(self.members.values())
        names = [m.name for m in members]
        out = {}
        for m in members:
            healthy, details = m.health(now)
            out[m.name if names.count(m.name) == 1 else m.path.name] = \
                (healthy, {"status": details["status"], "config": str(m.path), **details})
        return out

    def alive(self) -> bool:
        """/livez: the loop turns by its deadline, and not every workspace is
        stuck in a sync past the timeout plus GRACE (a fleet of one: its sync)."""
        now = time.monotonic()
        if now >= self.turn_by:
            return False
        runnable = [m for m in self.members.values() if m.runnable]
        return not runnable or any(m.running is None or now - m.run_started < self.timeout + GRACE
                                   for m in runnable)
