"""Which workspaces a fleet serves, and how the process speaks of itself.

`Roster`: a list of workspaces fixed for the process's life: `align-sync run
--config X` serves a list of one.  Each one's lock is taken at start, and a
lock another process holds refuses the start (exit 1).  Its log lines are
the daemon's: it says when it waits for the next sync, and when a sync ran
past the next one's time.  `/healthz` is the one workspace's own.

`FolderRoster`: every config in a folder (`run --workspaces DIR`), read again
on every tick: a file added, changed or removed is picked up without a
restart.  A workspace whose config is bad, or that shares a name, state file
or sink with another (both are refused), is reported and left out.  At
start, a folder with no workspace, or whose workspaces clash, is refused
(exit 2), as `run --once` and `check` refuse it.  `/healthz` is 200 only
while every workspace is healthy and lists each one, and every skipped file.
"""
from __future__ import annotations

import os
from pathlib import Path

import structlog

from sync.core.errors import AlignSyncError, describe
from sync.core.present.report import iso
from sync.worker import telemetry
from sync.worker.serve import folder as configs
from sync.worker.serve.fleet import Fleet, Member, concurrency
from sync.worker.workspace import Process, Workspace

log = structlog.get_logger("align_sync.daemon")
folder_log = structlog.get_logger("align_sync.fleet")
TICK = 5.0                       # seconds between looks at a folder


def _stamp(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:               # gone, or never a file (a workspace built in memory)
        return None


def schedule_words(member: Member) -> str:
    schedule = member.workspace.config.schedule
    return schedule.cron or f"every {member.timetable.every.total_seconds():g}s"


class Roster:
    """A fixed list of workspaces (`run --config X`: a list of one)."""
    tick: float | None = None      # nothing to look at between syncs: the loop sleeps until the next

    def __init__(self, workspaces: list[Workspace]):
        self.workspaces = list(workspaces)
        # The config as it was read: a later edit is said once (it applies at a restart).
        self.read_at = {ws.path: _stamp(ws.path) for ws in self.workspaces}

    def open(self, fleet: Fleet) -> None:
        """Lock each state, and open it once: a state that cannot be opened
        refuses the start (exit 2) rather than fail every sync."""
        self.scan(fleet)
        for ws in self.workspaces:
            ws.state().close()

    def slots(self) -> int:
        """How many sync at once: one workspace needs no ALIGN_SYNC_CONCURRENCY."""
        return concurrency() if len(self.workspaces) > 1 else 1

    def scan(self, fleet: Fleet) -> None:
        """Each workspace joins once; its lock is taken (again, after a drain)."""
        for ws in self.workspaces:
            member = fleet.members.get(ws.path)
            if member is None:
                member = fleet.members[ws.path] = Member.of(ws, fleet.clock(), force=fleet.force)
            if member.lock is None:
                member.lock = ws.lock()
            if self.read_at.get(ws.path) != _stamp(ws.path):
                self.read_at[ws.path] = _stamp(ws.path)
                log.warning("daemon.config_changed", config=str(ws.path),
                            hint="the worker keeps the config it started with; restart it to "
                                 "apply the change (`align-sync check` tests the file first)")

    def health_port(self, given: int | None) -> tuple[int | None, str]:
        """The port and the setting that named it (said when it cannot be used)."""
        if given:
            return given, "--health-port"
        for ws in self.workspaces:
            if ws.config.health_port:
                return ws.config.health_port, f"{ws.path}: health_port"
        return None, ""

    def health(self, fleet: Fleet) -> tuple[bool, dict]:
        """One workspace: its own status (the daemon's body); several: each listed."""
        if len(fleet.members) == 1:
            (member,) = fleet.members.values()
            return member.health(fleet.clock())
        return overall(fleet.listing())

    def started(self, fleet: Fleet, port: int | None) -> None:
        for member in fleet.members.values():
            log.info("daemon.started", config=str(member.path), pid=os.getpid(), health_port=port,
                     schedule=schedule_words(member))

    @staticmethod
    def waiting(due, seconds: float) -> None:
        log.info("daemon.waiting", next_sync=iso(due), seconds=round(seconds, 1))

    @staticmethod
    def late(member: Member, seconds: float) -> None:
        # Missed runs coalesce: one sync as soon as the loop turns, not one per missed slot.
        log.warning("daemon.late", behind_seconds=round(seconds, 1))

    @staticmethod
    def stopping(fleet: Fleet, signum: int | None) -> None:
        log.info("daemon.stopping", signal=signum,
                 note="finishing the current sync first; a request being retried is not tried again")

    @staticmethod
    def stopped(fleet: Fleet) -> None:
        log.info("daemon.stopped", syncs=fleet.syncs)


def overall(states: dict[str, tuple[bool, dict]]) -> tuple[bool, dict]:
    healthy = bool(states) and all(ok for ok, _ in states.values())
    return healthy, {"status": "ok" if healthy else "unhealthy",
                     "workspaces": {name: details for name, (_, details) in sorted(states.items())}}


class FolderRoster:
    """Every config in a folder (`run --workspaces DIR`), looked at every tick."""
    tick = TICK

    def __init__(self, folder: str | Path, process: Process | None = None):
        self.folder = Path(folder)
        self.process = process or Process()
        self.skipped: dict[Path, str] = {}    # files that are no workspace, and why

    @staticmethod
    def slots() -> int:
        return concurrency()

    def open(self, fleet: Fleet) -> None:
        """A folder with no workspace, or whose workspaces clash, does not
        start (exit 2); later clashes (a file added) refuse the pair alone."""
        self.scan(fleet)
        lines = [line for m in fleet.members.values() for line in m.clash]
        if fleet.members and not lines:
            return
        fleet.release()
        if lines:
            raise configs.refused(self.folder, lines)
        raise configs.empty(self.folder, list(self.skipped.items()))

    def scan(self, fleet: Fleet) -> None:
        """Add new configs, reload changed ones (when idle), drop removed ones;
        then refuse every workspace that clashes with another."""
        listing = configs.listing(self.folder)
        found = listing.files
        self._note_skipped(dict(listing.skipped))
        members = fleet.members
        before = {p: m.stamp for p, m in members.items()}
        for path in [p for p in members if p not in found]:
            member = members[path]
            if member.running is None or member.timed_out:
                member.release()
                del members[path]
                telemetry.forget(member.name)
                folder_log.info("workspace.removed", workspace=member.name, config=str(path))
        for path, stamp in found.items():
            member = members.get(path)
            if member is not None and (member.stamp == stamp or member.running is not None):
                continue
            if member is not None:
                member.release()
                telemetry.forget(member.name)      # a reload may rename it, or find it broken
            members[path] = self._load(fleet, path, stamp)
        # Only when a file came, went or changed (a tick can be 50 ms), or a
        # refused workspace's last sync ended and its lock can go.
        if {p: m.stamp for p, m in members.items()} != before or \
                any(m.clash and m.lock and m.running is None for m in members.values()):
            self._settle(fleet)

    def _note_skipped(self, skipped: dict[Path, str]) -> None:   # logged once per file and reason
        for path, why in skipped.items():
            if self.skipped.get(path) != why:
                folder_log.warning("workspace.skipped", config=str(path), reason=why)
        self.skipped = skipped

    def _load(self, fleet: Fleet, path: Path, stamp: float) -> Member:
        try:
            member = Member.of(Workspace(path, self.process), fleet.clock(), force=fleet.force, stamp=stamp)
            folder_log.info("workspace.added", workspace=member.name, config=str(path), schedule=schedule_words(member))
        except Exception as exc:    # a bug loading one file too: that workspace is refused, not the fleet
            member = Member(path, stamp, started=fleet.clock(), force=fleet.force,
                            problem=self.process.redactor(describe(exc)))
            telemetry.config_invalid(path.stem)
            folder_log.error("workspace.invalid", workspace=path.stem, config=str(path), error=member.problem)
        return member

    def _settle(self, fleet: Fleet) -> None:
        """Refuse both of each pair that share a name, state file or sink; lock the others' state."""
        loaded = [m for m in fleet.members.values() if m.workspace is not None
                  and (m.clash or not m.problem)]
        clashing = configs.clashes([m.workspace for m in loaded])
        for member in loaded:
            lines = clashing.get(member.path)
            if lines:
                if not member.clash:
                    folder_log.error("workspace.refused", workspace=member.name, config=str(member.path),
                                     error="; ".join(lines))
                if member.running is None:       # a sync under way keeps its lock to its end
                    member.release()
                member.problem, member.clash = "; ".join(lines) + f" ({configs.CLASH_HINT})", lines
                continue
            member.problem, member.clash = "", []
            if member.lock is None:
                try:
                    member.lock = member.workspace.lock()
                except AlignSyncError as exc:
                    member.problem = self.process.redactor(describe(exc))
                    folder_log.error("workspace.locked", workspace=member.name, config=str(member.path),
                                     error=member.problem)

    def health_port(self, given: int | None) -> tuple[int | None, str]:
        return given, "--health-port"

    def health(self, fleet: Fleet) -> tuple[bool, dict]:
        """Each workspace, and each skipped file."""
        states = fleet.listing()
        for path, why in self.skipped.items():
            states[path.name] = (False, {"status": "skipped", "config": str(path), "last_error": why})
        return overall(states)

    def started(self, fleet: Fleet, port: int | None) -> None:
        folder_log.info("fleet.started", folder=str(self.folder), pid=os.getpid(),
                        workspaces=len(fleet.members),
                        refused=sum(1 for m in fleet.members.values() if not m.runnable),
                        skipped=len(self.skipped), concurrency=fleet.slots, health_port=port)

    # A folder's loop turns every tick whatever the schedules: it logs no
    # wait; each workspace's syncs carry their own lines.
    @staticmethod
    def waiting(due, seconds: float) -> None:
        pass

    @staticmethod
    def late(member: Member, seconds: float) -> None:
        pass

    @staticmethod
    def stopping(fleet: Fleet, signum: int | None) -> None:
        folder_log.info("fleet.stopping", signal=signum, running=fleet.busy(),
                        note="finishing the running syncs first; a request being retried is not tried again")

    @staticmethod
    def stopped(fleet: Fleet) -> None:
        folder_log.info("fleet.stopped", workspaces=len(fleet.members))
