"""/healthz tells the truth and /livez answers liveness probes (issue 21):
the rule itself, then a real daemon whose only sync fails, and the port's
own errors (out of range, in use) named with the flag."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from sync.worker.serve.health import verdict

from .conftest import NOW, ROOT
from .test_daemon import Process as DaemonProcess
from .test_fleet import free_port, get, write_workspace as write_in
from .test_hostile_streams import write_workspace

WINDOW = timedelta(minutes=30)


@pytest.mark.parametrize("since_start, last_success, last_failed, expected", [
    (timedelta(hours=5), None, False, (True, "starting")),      # the first sync has not ended
    (timedelta(minutes=1), None, True, (False, "failing")),     # the only sync failed
    (timedelta(hours=1), timedelta(minutes=10), False, (True, "ok")),
    (timedelta(hours=1), timedelta(minutes=10), True, (False, "failing")),   # a success, then a failure
    (timedelta(hours=2), timedelta(minutes=31), False, (False, "stale")),
])
def test_the_rule(since_start, last_success, last_failed, expected):
    success = NOW - last_success if last_success is not None else None
    assert verdict(NOW, WINDOW, NOW - since_start, success, last_failed) == expected


def wait_for_status(port: int, path: str, want: int, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while True:
        try:
            code, body = get(port, path)
        except OSError:                      # not listening yet
            code, body = 0, ""
        if code == want or time.monotonic() > deadline:
            return code, body
        time.sleep(0.1)


@pytest.mark.slow
def test_a_daemon_whose_only_sync_failed_answers_503_and_stays_alive(tmp_path):
    bad = tmp_path / "export.json"
    bad.write_text("{not json")
    config = write_workspace(tmp_path, "team", source={"type": "file", "path": str(bad)})
    port = free_port()
    proc = DaemonProcess(config, "--health-port", str(port))
    try:
        proc.wait_for("sync.failed", timeout=60)
        code, body = wait_for_status(port, "/healthz", 503)
        assert code == 503, body                   # was: 200 "starting"
        details = json.loads(body)
        assert details["status"] == "failing" and details["last_success"] is None
        assert "export.json" in details["last_error"]
        assert get(port, "/livez") == (200, '{"status": "alive"}')   # a bad file must not restart the pod
    finally:
        proc.kill()


@pytest.mark.slow
def test_a_fleet_lists_each_workspace_and_fails_on_a_failed_first_sync(tmp_path):
    d = tmp_path / "workspaces"
    d.mkdir()
    write_in(d, "good")
    bad = tmp_path / "export.json"
    bad.write_text("{not json")
    write_in(d, "bad", source={"type": "file", "path": str(bad)})
    port = free_port()
    proc = DaemonProcess(d / "good.yaml", "--workspaces", str(d), "--health-port", str(port))
    try:
        proc.wait_for("sync.failed", timeout=60)
        deadline = time.monotonic() + 30
        while True:
            code, body = get(port, "/healthz")
            ws = json.loads(body)["workspaces"]
            if ws["good"]["status"] == "ok" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert code == 503 and ws["bad"]["status"] == "failing" and ws["good"]["status"] == "ok"
        assert get(port, "/livez")[0] == 200
    finally:
        proc.kill()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sync", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


@pytest.mark.slow
@pytest.mark.parametrize("port", ["99999", "0", "-1", "http"])
def test_a_port_out_of_range_is_a_usage_error_naming_the_flag(port):
    done = run_cli("run", "--health-port", port, "--config", "config/demo.yaml")
    assert done.returncode == 2
    assert "argument --health-port: expected a port number from 1 to 65535" in done.stderr
    assert "Traceback" not in done.stderr and "OverflowError" not in done.stderr


@pytest.mark.slow
def test_a_port_in_use_is_named_with_the_flag(tmp_path):
    config = write_workspace(tmp_path, "team")
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli("run", "--health-port", str(port), "--config", str(config))
        assert done.returncode == 2, done.stderr
        assert f"--health-port {port}: the port is already in use" in done.stderr
        folder = run_cli("run", "--health-port", str(port), "--workspaces", str(config.parent))
        assert folder.returncode == 2 and f"--health-port {port}: the port is already in use" in folder.stderr


@pytest.mark.slow
def test_livez_turns_false_only_when_the_loop_overruns(monkeypatch, tmp_path):
    from connectors.memory import MemorySink
    from sync.worker.serve import fleet as fleet_module
    from sync.worker.serve.fleet import Fleet
    from sync.worker.serve.roster import Roster
    from sync.worker.workspace import Workspace

    from .test_daemon import Clock, SlowSource, make_config
    monkeypatch.setattr(fleet_module, "GRACE", 0.2)
    clock = Clock()

    def wait(seconds):                         # a little real time; the fake clock moves past it
        time.sleep(0.3)
        return clock.wait(seconds)
    ws = Workspace.assemble(make_config(state=str(tmp_path / "s.db")), [SlowSource(clock)], MemorySink())
    d = Fleet(Roster([ws]), clock=clock, wait=wait, timeout=0.1)
    assert d.alive()                           # a sync may take the timeout, plus the grace
    time.sleep(0.4)
    assert not d.alive()                       # stuck: past its own deadline
    d.loop(until=lambda f: f.syncs >= 2)       # waits (0.3 s here) with a deadline of wait + grace
    assert d.alive() and d.syncs == 2
