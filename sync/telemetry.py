"""Prometheus metrics of the worker, and the hooks that feed them.

Connectors attach `response_hook(service)` to their HTTP sessions, so every
request to Jira, Trello or Sheets is counted by status; retries are counted
through `connectors.retry.on_retry`; each sync's outcome is recorded by
`observe_sync` / `observe_failure`.
"""
from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)
SYNC_SECONDS = Histogram("align_sync_sync_duration_seconds", "Wall time of one sync",
                         buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600), registry=REGISTRY)
SYNCS = Counter("align_sync_syncs_total", "Syncs by result", ["result"], registry=REGISTRY)
LAST_SUCCESS = Gauge("align_sync_last_success_timestamp_seconds",
                     "Unix time of the last successful sync", registry=REGISTRY)
TICKETS = Gauge("align_sync_tickets", "Tickets in the last successful sync, by scope",
                ["scope"], registry=REGISTRY)
WARNINGS = Gauge("align_sync_warnings", "Warnings in the last successful sync, by kind",
                 ["kind"], registry=REGISTRY)
HTTP = Counter("align_sync_http_requests_total", "HTTP requests to remote services",
               ["service", "status"], registry=REGISTRY)
_seen_kinds: set[str] = set()
RETRIES = Counter("align_sync_retries_total", "Requests retried after a transient error",
                  ["service"], registry=REGISTRY)


def response_hook(service: str):
    def hook(response, *args, **kwargs):
        HTTP.labels(service, str(response.status_code)).inc()
        return response
    return hook


def count_retry(service: str, _error) -> None:
    RETRIES.labels(service).inc()


def observe_sync(result) -> None:
    a = result.assessment
    SYNCS.labels("ok").inc()
    SYNC_SECONDS.observe(result.seconds)
    LAST_SUCCESS.set(time.time())
    TICKETS.labels("all").set(result.tickets)
    TICKETS.labels("in_scope").set(len(a.in_scope))
    TICKETS.labels("active").set(len(a.active))
    TICKETS.labels("unmapped").set(len(a.unmapped_active()))
    kinds: dict[str, int] = {}
    for w in a.warnings:
        kinds[w.kind] = kinds.get(w.kind, 0) + 1
    _seen_kinds.update(kinds)
    for kind in _seen_kinds:      # a kind that went away reads 0, not its old count
        WARNINGS.labels(kind).set(kinds.get(kind, 0))


def observe_failure(seconds: float) -> None:
    SYNCS.labels("failed").inc()
    SYNC_SECONDS.observe(seconds)

