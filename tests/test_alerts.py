"""Alerts: the pure incident logic (sync.core.present.alerts), and the whole path as
ops would meet it: separate `run --once` processes against a local Slack-style
webhook server, the incident carried between them in the state file."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from sync.core.present import alerts
from sync.core.present.alerts import FAILING, RECOVERED, REMINDER, Incident, advance, due, sent

from .conftest import NOW, ROOT, base_config

A, B = "slack:a", "slack:b"


def run(incident: Incident, ok: bool, now, targets=(A,), reachable=(A, B), remind=timedelta(hours=24),
        after=2) -> tuple[Incident, list[tuple[str, str]]]:
    """One sync: advance, then deliver to the reachable targets (as the worker does)."""
    incident = advance(incident, ok, "" if ok else "Jira rejected the credentials (HTTP 401)", now, after)
    told = []
    for target, kind in due(incident, list(targets), now, remind):
        if target in reachable:
            incident = sent(incident, target, kind, now)
            told.append((target, kind))
    return Incident.from_json(json.loads(json.dumps(incident.to_json()))), told   # as stored


def test_one_alert_at_the_second_failure_none_on_the_third_one_recovery():
    i, told = run(Incident(), False, NOW)
    assert told == [] and i.failures == 1 and i.opened is None
    i, told = run(i, False, NOW + timedelta(minutes=15))
    assert told == [(A, FAILING)]
    i, told = run(i, False, NOW + timedelta(minutes=30))
    assert told == [] and i.failures == 3
    i, told = run(i, True, NOW + timedelta(minutes=45))
    assert told == [(A, RECOVERED)]
    i, told = run(i, True, NOW + timedelta(hours=1))
    assert told == [] and i == Incident(recovered=i.recovered, last=i.last)


def test_reminders_every_remind_and_never_with_zero():
    i, _ = run(run(Incident(), False, NOW)[0], False, NOW)
    i, told = run(i, False, NOW + timedelta(hours=23))
    assert told == []
    i, told = run(i, False, NOW + timedelta(hours=24))
    assert told == [(A, REMINDER)]
    i, told = run(i, False, NOW + timedelta(hours=47))
    assert told == []
    never, _ = run(run(Incident(), False, NOW)[0], False, NOW, remind=timedelta(0))
    assert run(never, False, NOW + timedelta(days=30), remind=timedelta(0))[1] == []


def test_a_good_sync_before_the_threshold_resets_the_count():
    i, _ = run(Incident(), False, NOW)
    i, _ = run(i, True, NOW + timedelta(minutes=15))
    i, told = run(i, False, NOW + timedelta(minutes=30))
    assert told == [] and i.failures == 1 and i.since == NOW + timedelta(minutes=30)


def test_an_unreachable_target_is_told_at_a_later_sync_and_the_other_once():
    i, _ = run(Incident(), False, NOW, targets=(A, B))
    i, told = run(i, False, NOW + timedelta(minutes=15), targets=(A, B), reachable=(A,))
    assert told == [(A, FAILING)]
    i, told = run(i, False, NOW + timedelta(minutes=30), targets=(A, B))
    assert told == [(B, FAILING)]
    # B is down again when it recovers: it is still owed the recovery, A is told once.
    i, told = run(i, True, NOW + timedelta(minutes=45), targets=(A, B), reachable=(A,))
    assert told == [(A, RECOVERED)] and i.owed_recovery == (B,)
    i, told = run(i, True, NOW + timedelta(hours=1), targets=(A, B))
    assert told == [(B, RECOVERED)]


def test_a_target_never_told_it_failed_is_not_told_it_recovered():
    i, _ = run(Incident(), False, NOW, targets=(A, B))
    i, _ = run(i, False, NOW, targets=(A, B), reachable=(A,))
    i, told = run(i, True, NOW + timedelta(minutes=15), targets=(A, B))
    assert told == [(A, RECOVERED)]


def test_the_message_names_the_workspace_reason_start_and_sheet():
    i, _ = run(run(Incident(), False, NOW)[0], False, NOW + timedelta(minutes=15))
    title, text = alerts.render(alerts.message(i, A, FAILING, "growth", "https://docs.google.com/x"))
    assert "growth" in title and "2 syncs in a row" in text and "2026-11-26 09:00 UTC" in text
    assert "HTTP 401" in text and "https://docs.google.com/x" in text
    closed, _ = run(i, True, NOW + timedelta(hours=2))
    title, text = alerts.render(alerts.message(closed, A, RECOVERED, "growth", ""))
    assert title == "align-sync growth: recovered" and "failed 2 times" in text


# -- separate processes, a local webhook ---------------------------------------------

SECRET = "ATATT3xFf-alert-test-SECRET"


class Hook:
    """A local Slack-style webhook that keeps what it was sent; and a Jira
    that echoes the token back in its error (as a misbehaving proxy might)."""

    def __init__(self):
        self.posts: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                hook.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self._answer(200, b"ok")

            def do_GET(self):  # noqa: N802
                self._answer(400, json.dumps({"errorMessages": [
                    f"Bad request: credentials {SECRET} are not accepted here"]}).encode())

            def _answer(self, code: int, body: bytes):
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.server.shutdown()


def cli(config, tmp_path) -> subprocess.CompletedProcess:
    path = tmp_path / "growth.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "JIRA_API_TOKEN": SECRET}
    return subprocess.run([sys.executable, "-m", "sync", "run", "--once", "--config", str(path)],
                          capture_output=True, text=True, timeout=90, env=env, cwd=tmp_path)


@pytest.mark.slow
def test_three_failures_then_a_good_sync_across_processes(tmp_path, hook):
    webhook = f"{hook.url}/services/T0/B0/hook-SECRET"
    failing = base_config(source={"type": "jira", "url": hook.url, "jql": "project = GROW",
                                  "auth": {"email": "bot@acme.test", "token": "${JIRA_API_TOKEN}"}},
                          sink={"type": "xlsx", "path": str(tmp_path / "book.xlsx")},
                          state=str(tmp_path / "state.db"),
                          alerts={"notify": [{"type": "slack", "webhook": webhook}], "after_failures": 2})
    seen = []
    for n in range(3):
        done = cli(failing, tmp_path)
        assert done.returncode == 1, done.stderr
        seen.append(len(hook.posts))
    assert seen == [0, 1, 1]                 # one alert, at the second failure; none on the third
    (alert,) = hook.posts
    text = json.dumps(alert)
    assert "growth" in alert["text"] and "failing" in alert["text"]
    assert "HTTP 400" in text and "2 syncs in a row" in text
    assert SECRET not in text and "hook-SECRET" not in text and "credentials [redacted]" in text
    good = dict(failing, source={"type": "file", "path": str(ROOT / "config/demo/jira-search.json")})
    done = cli(good, tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(hook.posts) == 2 and "recovered" in hook.posts[1]["text"]
    assert cli(good, tmp_path).returncode == 0 and len(hook.posts) == 2


def test_an_unreachable_target_never_fails_the_sync_and_is_named_in_healthz(tmp_path):
    import socket

    from sync.worker.serve.fleet import Fleet
    from sync.worker.serve.roster import Roster
    from sync.worker.workspace import Workspace
    with socket.socket() as s:                 # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    export = tmp_path / "empty.json"
    export.write_text(json.dumps({"issues": [], "isLast": True}))
    config = base_config(source={"type": "file", "path": str(export)},
                         sink={"type": "xlsx", "path": str(tmp_path / "book.xlsx")},
                         state=str(tmp_path / "state.db"),
                         alerts={"notify": [{"type": "slack", "webhook": f"http://127.0.0.1:{port}/x"}],
                                 "after_failures": 1})
    path = tmp_path / "growth.yaml"
    path.write_text(yaml.safe_dump(config))
    ws = Workspace(path)
    daemon = Fleet(Roster([ws]))
    daemon.loop(until=lambda f: f.syncs >= 1)   # the guard refuses zero tickets: a failed sync
    state = ws.state()
    try:
        _, health = daemon.health()
        assert "no tickets" in health["last_error"]           # the sync's own reason, not the alert's
        (undelivered,) = health["alerts_undelivered"]
        assert undelivered.startswith("slack webhook (127.0.0.1)") and str(port) not in undelivered
        stored = Incident.from_json(state.get_json("_alerts", "incident"))
        assert stored.opened is not None and stored.told == {}   # still owed: tried at the next sync
    finally:
        state.close()


@pytest.mark.slow
def test_a_fleet_alerts_per_workspace(tmp_path, hook):
    from sync.worker.serve.fleet import Fleet
    from sync.worker.serve.roster import FolderRoster
    from sync.worker.workspace import Process

    from .test_fleet import run_until, synced, write_workspace
    folder = tmp_path / "workspaces"
    folder.mkdir()
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"issues": [], "isLast": True}))
    notify = {"notify": [{"type": "slack", "webhook": f"{hook.url}/hook"}], "after_failures": 1}
    write_workspace(folder, "growth", alerts=notify, source={"type": "file", "path": str(empty)})
    write_workspace(folder, "payments", alerts=notify)
    fleet = Fleet(FolderRoster(folder, Process()), slots=2, timeout=60)
    run_until(fleet, synced("growth", "payments"))
    (alert,) = hook.posts
    assert alert["text"].endswith("align-sync growth: syncs are failing") and "payments" not in json.dumps(alert)
    assert fleet.health()[1]["workspaces"]["payments"]["alerts_undelivered"] == []


def test_a_refusing_channel_says_to_fix_alerts_notify():
    import responses

    from sync.core.errors import RemoteError
    from sync.core.registry import CONNECTORS
    from connectors.notify.targets import SlackTarget
    from sync.worker.runtime import Runtime
    url = "https://hooks.slack.com/services/T0/B0/revoked"
    channel = CONNECTORS.kind("alert", "slack").build(SlackTarget(type="slack", webhook=url), Runtime())
    i, _ = run(run(Incident(), False, NOW)[0], False, NOW)
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, url, status=404, body="no_service")
        with pytest.raises(RemoteError) as err:
            channel.send(alerts.message(i, channel.id, FAILING, "growth", ""))
    assert "revoked" in err.value.message and "alerts.notify" in err.value.hint and url not in str(err.value)
