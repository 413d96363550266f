"""One sync as the worker runs it: a `run_id` on every log line, one summary
line at the end (`sync.done` or `sync.failed`), metrics recorded, the
workspace's alerts told.  `run --once`, the daemon and the fleet all go
through `observed_sync`, by way of `Workspace.sync_once`."""
from __future__ import annotations

import time
import uuid
from datetime import datetime

import structlog

from sync.core.errors import AlignSyncError, describe
from sync.worker.engine import RunResult, run_once
from sync.worker.state import State

log = structlog.get_logger("align_sync.service")


def observed_sync(ws, state: State, now: datetime, *, dry_run: bool = False,
                  force: bool = False, next_sync: datetime | None = None) -> RunResult:
    """`ws`: the sync.worker.workspace.Workspace (which calls this: not
    imported here).  Its alerting is told every real sync's outcome, never a
    dry run's."""
    started = time.monotonic()
    alerting = None if dry_run else ws.alerting
    telemetry = ws.telemetry
    with structlog.contextvars.bound_contextvars(run_id=uuid.uuid4().hex[:12], workspace=ws.name):
        log.info("sync.start", sources=[s.name for s in ws.sources], dry_run=dry_run)
        try:
            result = run_once(ws.setup, state, now, dry_run=dry_run, force=force, next_sync=next_sync)
        except Exception as exc:
            telemetry.observe_failure(time.monotonic() - started)
            if isinstance(exc, AlignSyncError):
                log.error("sync.failed", error=describe(exc), kind=type(exc).__name__,
                          seconds=round(time.monotonic() - started, 3))
            else:
                log.exception("sync.crashed", error=describe(exc))
            if alerting is not None:
                alerting.after_sync(state, False, ws.process.redactor(describe(exc)), now)
            raise
        a = result.assessment
        if not dry_run:
            telemetry.observe_sync(result)
        if alerting is not None:
            alerting.after_sync(state, True, "", now)
        log.info("sync.done", tickets=result.tickets, per_source=result.per_source,
                 in_scope=len(a.in_scope), active=len(a.active), unmapped=len(a.unmapped_active()),
                 warnings=len(a.warnings), aligned_effort=a.aligned_effort, written=result.written,
                 seconds=round(result.seconds, 3))
        return result
