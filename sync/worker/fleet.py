"""`align-sync run --workspaces DIR`: one process serving every workspace
config (`*.yaml`, `*.yml`) in a folder, each named after its file or its
`name:`, with its own schedule, state file, lock and History.  At most
`ALIGN_SYNC_CONCURRENCY` (default 2) sync at once, each in a thread (the work
is I/O).  A workspace whose config is bad, or that shares a name, state file
or sink with another (both are refused), is reported and left out; one whose
sync runs past `ALIGN_SYNC_TIMEOUT` seconds (default 900) is marked failed
and no longer holds a slot, so it never holds back the others.  The folder is
read again on every tick: a file added, changed or removed is picked up
without a restart.  `/healthz` is 200 only while every workspace is healthy
and lists each one.  SIGTERM lets the running syncs finish, then exits 0.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import structlog

from sync.core.errors import AlignSyncError, describe
from sync.core.present.report import iso
from sync.core.schedule import Timetable
from sync.worker import folder as configs
from sync.worker import telemetry
from sync.worker.folder import concurrency, sync_timeout
from sync.worker.engine import collect_between_syncs
from sync.worker.health import verdict
from sync.worker.workspace import Process, Workspace

log = structlog.get_logger("align_sync.fleet")
TICK = 5.0                       # seconds between looks at the folder and the timetables


@dataclass
class Member:
    """One workspace of the fleet, and what its health says about it."""
    path: Path
    stamp: float
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

    @property
    def name(self) -> str:
        return self.workspace.name if self.workspace else self.path.stem

    @property
    def runnable(self) -> bool:
        return self.workspace is not None and self.lock is not None and not self.problem

    def health(self, now: datetime) -> tuple[bool, dict]:
        if self.workspace is None or self.problem:
            status = "invalid" if self.workspace is None else "refused"
            return False, {"status": status, "config": str(self.path), "last_error": self.problem}
        healthy, status = verdict(now, 2 * self.timetable.interval(now), self.started,
                                  self.last_success, self.last_failed)
        if self.timed_out:
            healthy, status = False, "hung"
        return healthy, {"status": status, "config": str(self.path),
                         "last_success": iso(self.last_success), "last_error": self.last_error or None,
                         "next_sync": iso(self.due), "syncs": self.syncs,
                         "alerts_undelivered": self.workspace.alerting.undelivered}


class Fleet:
    def __init__(self, folder: str | Path, process: Process | None = None, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc), force: bool = False,
                 slots: int | None = None, timeout: float | None = None):
        self.folder = Path(folder)
        self.process = process or Process()
        self.clock, self.force = clock, force
        self.slots, self.timeout = slots or concurrency(), timeout or sync_timeout()
        self.members: dict[Path, Member] = {}
        self.skipped: dict[Path, str] = {}    # files that are no workspace, and why
        self.stop = threading.Event()
        self.tick_seconds = TICK
        self.beat = time.monotonic()      # the loop's last turn, for /livez
        self.peak = 0                     # the most syncs that ran at once (tests read it)

    # -- the folder ---------------------------------------------------------

    def scan(self) -> None:
        """Add new configs, reload changed ones (when idle), drop removed ones;
        then refuse every workspace that clashes with another."""
        listing = configs.listing(self.folder)
        found = listing.files
        self._note_skipped(dict(listing.skipped))
        before = {p: m.stamp for p, m in self.members.items()}
        for path in [p for p in self.members if p not in found]:
            member = self.members[path]
            if member.running is None or member.timed_out:
                self._release(member)
                del self.members[path]
                telemetry.forget(member.name)
                log.info("workspace.removed", workspace=member.name, config=str(path))
        for path, stamp in found.items():
            member = self.members.get(path)
            if member is not None and (member.stamp == stamp or member.running is not None):
                continue
            if member is not None:
                self._release(member)
                telemetry.forget(member.name)      # a reload may rename it, or find it broken
            self.members[path] = self._load(path, stamp)
        # Only when a file came, went or changed (a tick can be 50 ms), or a
        # refused workspace's last sync ended and its lock can go.
        if {p: m.stamp for p, m in self.members.items()} != before or \
                any(m.clash and m.lock and m.running is None for m in self.members.values()):
            self._settle()

    def _note_skipped(self, skipped: dict[Path, str]) -> None:   # logged once per file and reason
        for path, why in skipped.items():
            if self.skipped.get(path) != why:
                log.warning("workspace.skipped", config=str(path), reason=why)
        self.skipped = skipped

    def _load(self, path: Path, stamp: float) -> Member:
        member = Member(path, stamp, started=self.clock(), force=self.force)
        try:
            ws = Workspace(path, self.process)
            member.workspace = ws
            member.timetable = Timetable(ws.config.schedule)
            member.due = self.clock()
            log.info("workspace.added", workspace=ws.name, config=str(path),
                     schedule=ws.config.schedule.cron or f"every {member.timetable.every.total_seconds():g}s")
        except AlignSyncError as exc:
            member.problem = self.process.redactor(describe(exc))
            telemetry.config_invalid(path.stem)
            log.error("workspace.invalid", workspace=path.stem, config=str(path), error=member.problem)
        return member

    def _settle(self) -> None:
        """Refuse both of each pair that share a name, state file or sink; lock the others' state."""
        loaded = [m for m in self.members.values() if m.workspace is not None
                  and (m.clash or not m.problem)]
        clashing = configs.clashes([m.workspace for m in loaded])
        for member in loaded:
            lines = clashing.get(member.path)
            if lines:
                if not member.clash:
                    log.error("workspace.refused", workspace=member.name, config=str(member.path),
                              error="; ".join(lines))
                if member.running is None:       # a sync under way keeps its lock to its end
                    self._release(member)
                member.problem, member.clash = "; ".join(lines) + f" ({configs.CLASH_HINT})", lines
                continue
            member.problem, member.clash = "", []
            if member.lock is None:
                try:
                    member.lock = member.workspace.lock()
                except AlignSyncError as exc:
                    member.problem = self.process.redactor(describe(exc))
                    log.error("workspace.locked", workspace=member.name, config=str(member.path),
                              error=member.problem)

    @staticmethod
    def _release(member: Member) -> None:
        if member.lock is not None:
            member.lock.release()
            member.lock = None

    # -- running ------------------------------------------------------------

    def busy(self) -> int:
        return sum(1 for m in self.members.values() if m.running is not None and not m.timed_out)

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
            member.force = False
        except Exception as exc:       # logged by observed_sync; a bug must not stop the others
            member.last_error, member.last_failed = describe(exc), True
        finally:
            member.syncs += 1
            member.timed_out = False
            collect_between_syncs()
            member.running = None

    def wait_next(self) -> None:
        now = self.clock()
        dues = [m.due for m in self.members.values() if m.runnable and m.running is None and m.due]
        seconds = min([self.tick_seconds] + [max(0.0, (d - now).total_seconds()) for d in dues])
        self.stop.wait(max(seconds, 0.05))

    def loop(self, until: Callable[["Fleet"], bool] | None = None) -> None:
        while not self.stop.is_set():
            self.beat = time.monotonic()
            self.scan()
            self.tick()
            if until is not None and until(self):
                break
            self.wait_next()
        self.drain()

    def drain(self) -> None:
        """Let running syncs finish (not the hung ones), then release the locks."""
        for member in list(self.members.values()):
            thread = member.running
            if thread is not None and not member.timed_out:
                thread.join()
        for member in self.members.values():
            self._release(member)
        log.info("fleet.stopped", workspaces=len(self.members))

    def request_stop(self, signum: int | None = None) -> None:
        log.info("fleet.stopping", signal=signum, running=self.busy(),
                 note="finishing the running syncs first")
        self.stop.set()

    def health(self) -> tuple[bool, dict]:
        """Each workspace (by file name where two names read alike) and skipped file."""
        now = self.clock()
        members = list(self.members.values())
        names = [m.name for m in members]
        states = {(m.name if names.count(m.name) == 1 else m.path.name): m.health(now) for m in members}
        for path, why in self.skipped.items():
            states[path.name] = (False, {"status": "skipped", "config": str(path), "last_error": why})
        healthy = bool(states) and all(ok for ok, _ in states.values())
        return healthy, {"status": "ok" if healthy else "unhealthy",
                         "workspaces": {name: details for name, (_, details) in sorted(states.items())}}

    def refuse_at_start(self) -> None:
        """A folder with no workspace, or whose workspaces clash, does not
        start (exit 2, as `run --once` and `check` refuse it)."""
        lines = [line for m in self.members.values() for line in m.clash]
        if self.members and not lines:
            return
        for member in self.members.values():
            self._release(member)
        if lines:
            raise configs.refused(self.folder, lines)
        raise configs.empty(self.folder, list(self.skipped.items()))

    def alive(self) -> bool:
        """/livez: the loop turned lately (it turns every tick, syncs or not)."""
        return time.monotonic() - self.beat < 10 * max(TICK, self.tick_seconds)


def serve(folder: str, process: Process, *, health_port: int | None = None, force: bool = False) -> int:
    """The daemon over a folder.  At start, a folder with no workspace or
    with workspaces that clash is refused (exit 2), as `run --once` and
    `check` refuse it; later clashes (a file added) refuse the pair alone."""
    from sync.worker import health
    from sync.worker.daemon import Daemon, StopRequest
    fleet = Fleet(folder, process, force=force)
    fleet.scan()
    fleet.refuse_at_start()
    server = health.serve(health_port, fleet.health, alive=fleet.alive) if health_port else None
    StopRequest(fleet.request_stop, Daemon.kill_now).install()
    log.info("fleet.started", folder=str(folder), pid=os.getpid(), workspaces=len(fleet.members),
             refused=sum(1 for m in fleet.members.values() if not m.runnable),
             skipped=len(fleet.skipped), concurrency=fleet.slots, health_port=health_port)
    try:
        fleet.loop()
    finally:
        if server is not None:
            server.shutdown()
    return 0
