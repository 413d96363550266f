"""Prometheus metrics of the worker, and the hooks that feed them.

The metric families are defined once for the process; every series carries
a `workspace` label.  A `Telemetry` is one workspace's view: connectors
attach its `response_hook(service)` to their HTTP sessions, so every request
to Jira, Trello or Sheets is counted by status; retries are counted through
`count_retry`; each sync's outcome is recorded by `observe_sync` /
`observe_failure`.

Every series a workspace will have exists from its start, at 0 (a rate or an
absence alert needs the series before the first failure), except requests by
HTTP status, whose statuses are not known in advance.  The process's own
RSS, open fds and CPU come from prometheus_client's ProcessCollector.
"""
from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)        # process_resident_memory_bytes, _open_fds, _cpu_seconds_total
SYNC_SECONDS = Histogram("align_sync_sync_duration_seconds", "Wall time of one sync", ["workspace"],
                         buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600), registry=REGISTRY)
SYNCS = Counter("align_sync_syncs_total", "Syncs by result", ["workspace", "result"], registry=REGISTRY)
LAST_SUCCESS = Gauge("align_sync_last_success_timestamp_seconds",
                     "Unix time of the last successful sync", ["workspace"], registry=REGISTRY)
TICKETS = Gauge("align_sync_tickets", "Tickets in the last successful sync, by scope",
                ["workspace", "scope"], registry=REGISTRY)
WARNINGS = Gauge("align_sync_warnings", "Warnings in the last successful sync, by kind",
                 ["workspace", "kind"], registry=REGISTRY)
HTTP = Counter("align_sync_http_requests_total", "HTTP requests to remote services",
               ["workspace", "service", "status"], registry=REGISTRY)
RETRIES = Counter("align_sync_retries_total", "Requests retried after a transient error",
                  ["workspace", "service"], registry=REGISTRY)
UP = Gauge("align_sync_workspace_up", "1 while the workspace's config loads and its last sync did not "
           "fail; 0 when its config does not load or its last sync failed", ["workspace"],
           registry=REGISTRY)
PROGRESS = Gauge("align_sync_outcome_progress_percent", "Progress from baseline to target in the last "
                 "successful sync (NaN: no reading yet)", ["workspace", "outcome"], registry=REGISTRY)
OUTCOME_ALIGNED = Gauge("align_sync_outcome_aligned_effort_percent", "Share of the team's active effort "
                        "serving the outcome in the last successful sync", ["workspace", "outcome"],
                        registry=REGISTRY)
ALIGNED = Gauge("align_sync_aligned_effort_percent", "Share of the team's active effort serving any "
                "outcome in the last successful sync", ["workspace"], registry=REGISTRY)
SCOPES = ("all", "in_scope", "active", "unmapped")
SERVICES = ("jira", "trello", "sheets", "slack", "teams", "smtp")
NAN = float("nan")


def config_invalid(workspace: str) -> None:
    """A fleet workspace whose config does not load: down, by its file's name."""
    UP.labels(workspace).set(0)


def forget(workspace: str) -> None:
    """A workspace removed from the fleet's folder: its up-gauge goes with it."""
    try:
        UP.remove(workspace)
    except KeyError:
        pass


def _percent(value: float | None) -> float:
    return NAN if value is None else value
LABEL_WRITES = Counter("align_sync_label_writes_total",
                       "Labels written back to trackers from the sheet's Set lever column, by result",
                       ["workspace", "source", "result"], registry=REGISTRY)


class Telemetry:
    def __init__(self, workspace: str = "default"):
        self.workspace = workspace
        self._seen_kinds: set[str] = set()
        self._seen_outcomes: set[str] = set()
        ws = workspace
        for result in ("ok", "failed"):
            SYNCS.labels(ws, result)
        SYNC_SECONDS.labels(ws)
        LAST_SUCCESS.labels(ws)
        for scope in SCOPES:
            TICKETS.labels(ws, scope)
        for service in SERVICES:
            RETRIES.labels(ws, service)
        ALIGNED.labels(ws).set(NAN)
        UP.labels(ws).set(1)

    def response_hook(self, service: str):
        def hook(response, *args, **kwargs):
            HTTP.labels(self.workspace, service, str(response.status_code)).inc()
            return response
        return hook

    def declare_label_writes(self, source: str) -> None:
        """A source that writes labels back: its series exist at 0 from the start."""
        for result in ("ok", "refused"):
            LABEL_WRITES.labels(self.workspace, source, result)

    def count_label_write(self, source: str, ok: bool) -> None:
        LABEL_WRITES.labels(self.workspace, source, "ok" if ok else "refused").inc()

    def count_retry(self, service: str, _error=None) -> None:
        RETRIES.labels(self.workspace, service).inc()

    def observe_sync(self, result) -> None:
        a, ws = result.assessment, self.workspace
        SYNCS.labels(ws, "ok").inc()
        SYNC_SECONDS.labels(ws).observe(result.seconds)
        LAST_SUCCESS.labels(ws).set(time.time())
        TICKETS.labels(ws, "all").set(result.tickets)
        TICKETS.labels(ws, "in_scope").set(len(a.in_scope))
        TICKETS.labels(ws, "active").set(len(a.active))
        TICKETS.labels(ws, "unmapped").set(len(a.unmapped_active()))
        kinds: dict[str, int] = {}
        for w in a.warnings:
            kinds[w.kind] = kinds.get(w.kind, 0) + 1
        self._seen_kinds.update(kinds)
        for kind in self._seen_kinds:      # a kind that went away reads 0, not its old count
            WARNINGS.labels(ws, kind).set(kinds.get(kind, 0))
        outcomes = {o.outcome.id: o for o in a.outcomes}
        for gone in self._seen_outcomes - set(outcomes):   # removed from the config
            PROGRESS.remove(ws, gone)
            OUTCOME_ALIGNED.remove(ws, gone)
        for oid, o in outcomes.items():
            PROGRESS.labels(ws, oid).set(_percent(o.progress))
            OUTCOME_ALIGNED.labels(ws, oid).set(_percent(o.aligned_effort))
        self._seen_outcomes = set(outcomes)
        ALIGNED.labels(ws).set(_percent(a.aligned_effort))
        UP.labels(ws).set(1)

    def observe_failure(self, seconds: float) -> None:
        UP.labels(self.workspace).set(0)
        SYNCS.labels(self.workspace, "failed").inc()
        SYNC_SECONDS.labels(self.workspace).observe(seconds)
