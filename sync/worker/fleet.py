"""`--workspaces DIR`: one process serving every workspace config in a folder
(PRODUCT.md §10).

Every `*.yaml` in DIR is a workspace named after its file (or its `name:`),
with its own schedule, state file, lock and History.  At most
`ALIGN_SYNC_CONCURRENCY` (default 2) sync at once, each in a thread (the work
is I/O).  A workspace whose config is bad is reported and left out; one whose
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
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import structlog

from sync.core.errors import AlignSyncError, ConfigError, describe
from sync.worker.engine import collect_between_syncs
from sync.core.present.report import iso
from sync.core.schedule import Timetable
from sync.worker import telemetry
from sync.worker.workspace import Process, Workspace

log = structlog.get_logger("align_sync.fleet")
TICK = 5.0                       # seconds between looks at the folder and the timetables


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


def config_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise ConfigError(f"--workspaces {folder}: not a folder")
    return sorted(p for p in folder.glob("*.yaml") if p.is_file())


@dataclass
class Member:
    """One workspace of the fleet, and what its health says about it."""
    path: Path
    stamp: float
    workspace: Workspace | None = None
    lock: object = None
    problem: str = ""                    # a bad config: why it is left out
    timetable: Timetable | None = None
    due: datetime | None = None
    started: datetime | None = None      # when it joined (health counts from here)
    running: threading.Thread | None = None
    run_started: float = 0.0
    timed_out: bool = False
    last_success: datetime | None = None
    last_error: str = ""
    syncs: int = 0
    force: bool = False

    @property
    def name(self) -> str:
        return self.workspace.name if self.workspace else self.path.stem

    def health(self, now: datetime) -> tuple[bool, dict]:
        if self.workspace is None:
            return False, {"status": "invalid", "config": str(self.path), "last_error": self.problem}
        window = 2 * self.timetable.interval(now)
        healthy = now - (self.last_success or self.started) <= window and not self.timed_out
        status = "ok" if self.last_success and healthy else ("starting" if healthy else "stale")
        if self.timed_out:
            status = "hung"
        return healthy, {"status": status, "config": str(self.path),
                         "last_success": iso(self.last_success), "last_error": self.last_error or None,
                         "next_sync": iso(self.due), "syncs": self.syncs,
                         "alerts_undelivered": self.workspace.alerting.undelivered}


class Fleet:
    def __init__(self, folder: str | Path, process: Process | None = None, *,
                 clock: Callable[[], datetime] = _utcnow, force: bool = False,
                 slots: int | None = None, timeout: float | None = None):
        self.folder = Path(folder)
        self.process = process or Process()
        self.clock = clock
        self.force = force
        self.slots = slots or concurrency()
        self.timeout = timeout or sync_timeout()
        self.members: dict[Path, Member] = {}
        self.stop = threading.Event()
        self.tick_seconds = TICK
        self.beat = time.monotonic()      # the loop's last turn, for /livez
        self.peak = 0                     # the most syncs that ran at once (tests read it)

    # -- the folder ---------------------------------------------------------

    def scan(self) -> None:
        """Add new configs, reload changed ones (when idle), drop removed ones."""
        found = {p: p.stat().st_mtime for p in config_files(self.folder)}
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

    def _load(self, path: Path, stamp: float) -> Member:
        member = Member(path, stamp, started=self.clock(), force=self.force)
        try:
            ws = Workspace(path, self.process)
            member.lock = ws.lock()           # held while the workspace is served
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
                      if m.workspace and m.running is None and m.due and m.due <= now),
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
            member.last_success, member.last_error = self.clock(), ""
            member.force = False
        except AlignSyncError as exc:
            member.last_error = describe(exc)       # logged by observed_sync
        except Exception as exc:                    # a bug must not stop the others
            member.last_error = describe(exc)
        finally:
            member.syncs += 1
            member.timed_out = False
            collect_between_syncs()
            member.running = None

    def wait_next(self) -> None:
        now = self.clock()
        dues = [m.due for m in self.members.values() if m.workspace and m.running is None and m.due]
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
        now = self.clock()
        states = {m.name: m.health(now) for m in self.members.values()}
        healthy = bool(states) and all(ok for ok, _ in states.values())
        return healthy, {"status": "ok" if healthy else "unhealthy",
                         "workspaces": {name: details for name, (_, details) in sorted(states.items())}}


def serve(folder: str, process: Process, *, health_port: int | None = None, force: bool = False) -> int:
    from sync.worker import health
    from sync.worker.daemon import Daemon, StopRequest
    fleet = Fleet(folder, process, force=force)
    StopRequest(fleet.request_stop, Daemon.kill_now).install()
    fleet.scan()
    if health_port:
        health.serve(health_port, fleet.health,
                     alive=lambda: time.monotonic() - fleet.beat < 10 * max(TICK, fleet.tick_seconds))
    log.info("fleet.started", folder=str(folder), pid=os.getpid(), workspaces=len(fleet.members),
             invalid=sum(1 for m in fleet.members.values() if m.workspace is None),
             concurrency=fleet.slots, health_port=health_port)
    fleet.loop()
    return 0


def run_once(folder: str, process: Process, *, dry_run: bool = False, force: bool = False) -> int:
    """Every workspace once, `ALIGN_SYNC_CONCURRENCY` at a time; exit 1 when
    any failed or could not be loaded (each is named), else 0."""
    from concurrent.futures import ThreadPoolExecutor
    paths = config_files(Path(folder))
    if not paths:
        raise ConfigError(f"--workspaces {folder}: no *.yaml files")

    def one(path: Path) -> tuple[str, str | None]:
        try:
            ws = Workspace(path, process)
            result = ws.sync_once(_utcnow(), dry_run=dry_run, force=force)
            return ws.name, None if dry_run else f"{result.tickets} tickets"
        except AlignSyncError as exc:
            return path.stem, "FAIL " + process.redactor(describe(exc))
        except Exception as exc:
            return path.stem, "FAIL " + process.redactor(describe(exc))

    with ThreadPoolExecutor(max_workers=concurrency()) as pool:
        results = list(pool.map(one, paths))
    failed = 0
    for name, outcome in results:
        failed += bool(outcome and outcome.startswith("FAIL"))
        process.say(f"{'FAIL' if outcome and outcome.startswith('FAIL') else 'ok  '}  workspace {name}: "
                    f"{(outcome or 'dry run done').removeprefix('FAIL ')}")
    return 1 if failed else 0


def check(folder: str, process: Process) -> int:
    from sync.worker.runtime import PROBE_RETRY
    code = 0
    for path in config_files(Path(folder)):
        print(f"== workspace {path.stem} ({path})")
        try:
            ws = Workspace(path, process, retry=PROBE_RETRY)
        except AlignSyncError as exc:
            print(f"FAIL  config {path}: {process.redactor(describe(exc))}")
            code = max(code, exc.exit_code)
            continue
        from sync.cli.main import print_check
        code = max(code, print_check(ws, str(path)))
    return code
