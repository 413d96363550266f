"""`align-sync run`: sync now, then on the schedule, until SIGTERM/SIGINT.

Runs never overlap (one loop, one sync at a time); a run that is late
starts as soon as the previous one ends, and missed runs coalesce into one.
A lock file beside the state refuses a second worker on the same state.
First SIGTERM/SIGINT: the current sync finishes, then exit 0; a second one
exits at once.  A failed sync is logged and the next one runs on time.

The Python signal handler only counts: it runs on the main thread between
two bytecodes, possibly while that thread holds the log lock or a
`threading.Event`'s lock, so taking any lock there can deadlock.  The signal
number reaches a watcher thread through `signal.set_wakeup_fd` (written by
the C-level handler, whatever thread the signal landed on); the watcher does
the logging and the stopping.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable

import structlog

from sync.core.errors import describe
from sync.core.present.report import iso
from sync.core.schedule import Timetable
from sync.worker.engine import collect_between_syncs
from sync.worker.service import observed_sync

log = structlog.get_logger("align_sync.daemon")
GRACE = 60.0           # seconds a loop may overrun its own deadline before /livez says stuck


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class StopRequest:
    """SIGTERM/SIGINT, handled without taking a lock in the handler."""

    def __init__(self, on_first: Callable[[int], None], on_second: Callable[[int], None]):
        self.signals = 0
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._on_first, self._on_second = on_first, on_second
        threading.Thread(target=self._watch, name="stop-watcher", daemon=True).start()

    def handler(self, signum: int, _frame=None) -> None:
        # Python runs this on the main thread, whenever that thread next runs
        # bytecode; the wake-up fd (below) is what tells the watcher at once.
        self.signals += 1

    def _watch(self) -> None:
        seen = 0
        while True:
            try:
                data = os.read(self._read, 64)
            except OSError:
                return
            if not data:
                return
            for signum in data:
                seen += 1
                (self._on_first if seen == 1 else self._on_second)(signum)

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self.handler)
        signal.signal(signal.SIGINT, self.handler)
        # The C-level handler writes each signal's number to this pipe, from
        # whichever thread the kernel picked: a signal that lands on another
        # thread while the main thread blocks in open() or read() still
        # reaches the watcher (a Python handler alone would wait for the main
        # thread's syscall to end, and a second SIGTERM would not exit).
        signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)


class Daemon:
    def __init__(self, config, sources, sink, state, *, force: bool = False,
                 clock: Callable[[], datetime] = _utcnow,
                 wait: Callable[[float], bool] | None = None,
                 telemetry=None, workspace: str = "default", redact=None, notifiers=(),
                 hang_after: float = 900.0, alerting=None, metric_sources=()):
        self.config = config
        self.alerting = alerting
        self.telemetry, self.workspace, self.redact = telemetry, workspace, redact
        self.notifiers = notifiers
        self.metric_sources = metric_sources
        self.sources, self.sink, self.state = sources, sink, state
        self.force = force
        self.clock = clock
        self.timetable = Timetable(config.schedule)
        self.stop = threading.Event()
        # Waits until the timeout or a stop; True when stopped.  Tests pass a
        # fake that moves their clock instead of sleeping.
        self.wait = wait or self.stop.wait
        self.started = clock()
        self.last_success: datetime | None = None
        self.last_error = ""
        self.last_failed = False
        self.next_due: datetime | None = None
        self.syncs = 0
        # /livez: by when (monotonic) the loop must turn again: the end of
        # its wait, or of a sync allowed `hang_after` seconds, plus GRACE.
        self.hang_after = hang_after
        self.turn_by = time.monotonic() + hang_after + GRACE

    def request_stop(self, signum: int | None = None) -> None:
        """The first stop request (from the watcher thread, never a handler)."""
        log.info("daemon.stopping", signal=signum, note="finishing the current sync first")
        self.stop.set()

    @staticmethod
    def kill_now(signum: int | None = None) -> None:
        log.warning("daemon.killed", signal=signum)
        os._exit(1)                       # the second signal: no more waiting

    def alive(self) -> bool:
        return time.monotonic() < self.turn_by

    def health(self) -> tuple[bool, dict]:
        from sync.worker.serve.health import verdict
        now = self.clock()
        healthy, state = verdict(now, 2 * self.timetable.interval(now), self.started,
                                 self.last_success, self.last_failed)
        return healthy, {"status": state, "last_success": iso(self.last_success),
                         "last_error": self.last_error or None, "next_sync": iso(self.next_due),
                         "syncs": self.syncs,
                         "alerts_undelivered": self.alerting.undelivered if self.alerting else []}

    def run_one(self) -> None:
        self.turn_by = time.monotonic() + self.hang_after + GRACE
        started = self.clock()
        self.next_due = self.timetable.next_after(started)
        try:
            observed_sync(self.config, self.sources, self.sink, self.state, started,
                          force=self.force, next_sync=self.next_due, telemetry=self.telemetry,
                          workspace=self.workspace, redact=self.redact, notifiers=self.notifiers,
                          alerting=self.alerting, metric_sources=self.metric_sources)
            self.last_success, self.last_error, self.last_failed = self.clock(), "", False
            # --force answers one refusal; later syncs are guarded again.
            self.force = False
        except Exception as exc:              # logged by observed_sync; even a bug must not stop the schedule
            self.last_error, self.last_failed = describe(exc), True
        self.syncs += 1
        collect_between_syncs()

    def loop(self, max_syncs: int | None = None) -> None:
        due = self.clock()
        while not self.stop.is_set():
            wait = (due - self.clock()).total_seconds()
            if wait > 0:
                log.info("daemon.waiting", next_sync=iso(due), seconds=round(wait, 1))
                self.turn_by = time.monotonic() + wait + GRACE
                if self.wait(wait):
                    break
            self.run_one()
            if max_syncs is not None and self.syncs >= max_syncs:
                break
            due = self.next_due
            late = self.clock() - due
            if late > timedelta(0):
                # Missed runs coalesce: one sync now, not one per missed slot.
                log.warning("daemon.late", behind_seconds=round(late.total_seconds(), 1))
                due = self.clock()
        log.info("daemon.stopped", syncs=self.syncs)


def serve(workspace, *, health_port: int | None = None, force: bool = False) -> int:
    """`align-sync run` on one workspace."""
    from sync.worker.serve import health
    from sync.worker.serve.folder import sync_timeout
    config = workspace.config
    lock = workspace.lock()
    state = workspace.state()
    try:
        daemon = Daemon(config, workspace.sources, workspace.sink, state, force=force,
                        telemetry=workspace.telemetry, workspace=workspace.name,
                        redact=workspace.process.redactor, notifiers=workspace.notifiers,
                        hang_after=sync_timeout(), alerting=workspace.alerting,
                        metric_sources=workspace.metric_sources)
        StopRequest(daemon.request_stop, daemon.kill_now).install()
        port = health_port or config.health_port
        if port:
            flag = "--health-port" if health_port else f"{workspace.path}: health_port"
            health.serve(port, daemon.health, alive=daemon.alive, flag=flag)
        log.info("daemon.started", config=str(workspace.path), pid=os.getpid(), health_port=port,
                 schedule=config.schedule.cron or f"every {daemon.timetable.every.total_seconds():g}s")
        daemon.loop()
    finally:
        state.close()
        lock.release()
    return 0
