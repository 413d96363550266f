"""One sync as the worker runs it: a `run_id` on every log line, one summary
line at the end (`sync.done` or `sync.failed`), metrics recorded.  Both
`run --once` and the daemon go through `observed_sync`."""
from __future__ import annotations

import time
import uuid
from datetime import datetime

import structlog

from sync.worker.engine import RunResult, run_once
from sync.worker.telemetry import Telemetry
from sync.core.errors import AlignSyncError, describe
from sync.worker.log import Redactor

log = structlog.get_logger("align_sync.service")


def observed_sync(config, sources, sink, state, now: datetime, *, telemetry: Telemetry | None = None,
                  workspace: str = "default", alerting=None, **kw) -> RunResult:
    """`alerting`: the workspace's sync.worker.alerting.Alerting, told every
    real sync's outcome (never a dry run's)."""
    started = time.monotonic()
    alerting = None if kw.get("dry_run") else alerting
    telemetry = telemetry or Telemetry(workspace)
    with structlog.contextvars.bound_contextvars(run_id=uuid.uuid4().hex[:12], workspace=workspace):
        log.info("sync.start", sources=[s.name for s in sources], dry_run=kw.get("dry_run", False))
        try:
            result = run_once(config, sources, sink, state, now, telemetry=telemetry,
                              workspace=workspace, **kw)
        except Exception as exc:
            telemetry.observe_failure(time.monotonic() - started)
            if isinstance(exc, AlignSyncError):
                log.error("sync.failed", error=describe(exc), kind=type(exc).__name__,
                          seconds=round(time.monotonic() - started, 3))
            else:
                log.exception("sync.crashed", error=describe(exc))
            if alerting is not None:
                alerting.after_sync(state, False, (kw.get("redact") or Redactor())(describe(exc)), now)
            raise
        a = result.assessment
        if not kw.get("dry_run"):
            telemetry.observe_sync(result)
        if alerting is not None:
            alerting.after_sync(state, True, "", now)
        log.info("sync.done", tickets=result.tickets, per_source=result.per_source,
                 in_scope=len(a.in_scope), active=len(a.active), unmapped=len(a.unmapped_active()),
                 warnings=len(a.warnings), aligned_effort=a.aligned_effort, written=result.written,
                 seconds=round(result.seconds, 3))
        return result
