"""`align-sync run`: sync now, then on the schedule, until SIGTERM/SIGINT.

One process, one loop (serve/fleet.py), whether it serves one config (`run
--config X`, a fleet of one) or a folder of them (`run --workspaces DIR`).
A lock file beside each state refuses a second worker on the same state.
First SIGTERM/SIGINT: the running syncs finish, then exit 0; a request
being retried is not tried again (its wait ends at once, through each
workspace's runtime: `Fleet.request_stop`), so a sync against a failing
server ends as interrupted within moments, not after its retries.  A second
signal exits at once.

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
from contextlib import contextmanager
from typing import Callable

import structlog

from sync.worker.serve import health
from sync.worker.serve.fleet import Fleet
from sync.worker.serve.roster import FolderRoster, Roster

log = structlog.get_logger("align_sync.daemon")


class StopRequest:
    """SIGTERM/SIGINT, handled without taking a lock in the handler."""

    def __init__(self, on_first: Callable[[int], None], on_second: Callable[[int], None]):
        self.signals = 0
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._on_first, self._on_second = on_first, on_second
        self.watcher = threading.Thread(target=self._watch, name="stop-watcher", daemon=True)
        self.watcher.start()

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

    def close(self) -> None:
        """Stop watching (after `set_wakeup_fd(-1)`): the watcher reads the
        end of its pipe and returns, then both ends are closed."""
        os.close(self._write)
        self.watcher.join(timeout=5)
        os.close(self._read)

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self.handler)
        signal.signal(signal.SIGINT, self.handler)
        # The C-level handler writes each signal's number to this pipe, from
        # whichever thread the kernel picked: a signal that lands on another
        # thread while the main thread blocks in open() or read() still
        # reaches the watcher (a Python handler alone would wait for the main
        # thread's syscall to end, and a second SIGTERM would not exit).
        signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)


@contextmanager
def stopping_once(request_stop: Callable[[], None]):
    """For a one-off sync (`run --once`): the first SIGINT/SIGTERM asks it to
    stop as the daemon's does (a request being retried ends its wait; the
    sync fails as interrupted and leaves the sheet as it was), a second exits
    at once.  The signal handlers the process had are put back after."""
    if threading.current_thread() is not threading.main_thread():
        yield                           # signals reach the main thread only
        return
    saved = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    request = StopRequest(lambda signum: request_stop(), lambda signum: os._exit(128 + signum))
    request.install()
    try:
        yield
    finally:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGTERM, saved[0])
        signal.signal(signal.SIGINT, saved[1])
        request.close()


def kill_now(signum: int | None = None) -> None:
    log.warning("daemon.killed", signal=signum)
    os._exit(1)                       # the second signal: no more waiting


def serve(roster: Roster | FolderRoster, *, health_port: int | None = None, force: bool = False) -> int:
    """Serve the roster's workspaces until a stop; 0 after a clean stop."""
    fleet = Fleet(roster, force=force)
    server = None
    try:
        roster.open(fleet)
        port, flag = roster.health_port(health_port)
        if port:
            server = health.serve(port, fleet.health, alive=fleet.alive, flag=flag)
        StopRequest(fleet.request_stop, kill_now).install()
        roster.started(fleet, port)
        fleet.loop()
    finally:
        fleet.release()
        if server is not None:
            server.shutdown()
    roster.stopped(fleet)
    return 0
