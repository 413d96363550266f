"""Prometheus metrics of the worker, and the hooks that feed them.

The metric families are defined once for the process; every series carries
a `workspace` label.  A `Telemetry` is one workspace's view: connectors
attach its `response_hook(service)` to their HTTP sessions, so every request
to Jira, Trello or Sheets is counted by status; retries are counted through
`count_retry`; each sync's outcome is recorded by `observe_sync` /
`observe_failure`.
"""
from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)
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
LABEL_WRITES = Counter("align_sync_label_writes_total",
                       "Labels written back to trackers from the sheet's Set lever column, by result",
                       ["workspace", "source", "result"], registry=REGISTRY)


class Telemetry:
    def __init__(self, workspace: str = "default"):
        self.workspace = workspace
        self._seen_kinds: set[str] = set()

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

    def observe_failure(self, seconds: float) -> None:
        SYNCS.labels(self.workspace, "failed").inc()
        SYNC_SECONDS.labels(self.workspace).observe(seconds)
