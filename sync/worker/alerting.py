"""One workspace's alerts, after every sync: the incident is advanced
(sync.core.present.alerts, pure), kept in the state file at once, and every message
it owes is sent through the alert channels (connectors/notify/alert.py).

The incident is written before anything is sent and again after each target
accepted its message, so a restart or a crash neither forgets a failure
streak nor announces an incident twice.  A target that cannot be reached is
logged, listed in `/healthz` (`undelivered`), and tried again after the next
sync; it never fails the sync.
"""
from __future__ import annotations

from datetime import datetime

import structlog

from sync.core.present import alerts
from sync.core.errors import describe
from sync.core.protocols import AlertChannel
from sync.core.registry import CONNECTORS

log = structlog.get_logger("align_sync.alerts")
KEY = ("_alerts", "incident")         # (source, key) in the state's kv table


class Alerting:
    def __init__(self, config, runtime, sheet: str = ""):
        self.settings = config.alerts
        targets = self.settings.notify if self.settings.notify is not None else config.review.notify
        self.channels: list[AlertChannel] = [CONNECTORS.kind("alert", t.type).build(t, runtime)
                                             for t in targets]
        self.workspace = runtime.workspace
        self.sheet = sheet
        self.undelivered: list[str] = []     # "label: reason" of the last attempt's failures

    def after_sync(self, state, ok: bool, error: str, now: datetime) -> None:
        """`error`: the failure as describe() words it, already redacted."""
        if not self.channels:
            return
        try:
            incident = alerts.advance(alerts.Incident.from_json(state.get_json(*KEY)), ok, error, now,
                                      self.settings.after_failures)
            state.put(*KEY, incident.to_json())
            self._deliver(state, incident, now)
        except Exception as exc:        # alerts must never fail or crash the sync
            log.error("alert.state_failed", error=describe(exc))

    def _deliver(self, state, incident: alerts.Incident, now: datetime) -> None:
        by_id = {c.id: c for c in self.channels}
        failed = []
        for target, kind in alerts.due(incident, list(by_id), now, self.settings.remind):
            channel = by_id[target]
            try:
                channel.send(alerts.message(incident, target, kind, self.workspace, self.sheet))
            except Exception as exc:     # any delivery error is that target's, never the sync's
                reason = describe(exc)
                failed.append(reason if reason.startswith(channel.label) else f"{channel.label}: {reason}")
                log.error("alert.failed", target=channel.label, kind=kind, error=reason)
                continue
            incident = alerts.sent(incident, target, kind, now)
            state.put(*KEY, incident.to_json())
            log.info("alert.sent", target=channel.label, kind=kind, failures=incident.failures)
        self.undelivered = failed
