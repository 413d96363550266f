"""Many workspaces in one process (issue 13, docs/operations.md): a folder of
configs, one broken and one hung, served side by side; the daemon as ops
run it, with a health port and SIGTERM."""
from __future__ import annotations

import json
import os
import signal
import socket
import time
import urllib.error
import urllib.request

import openpyxl
import pytest
import structlog
import yaml
from prometheus_client import generate_latest
from structlog.testing import capture_logs

from sync.worker import telemetry
from sync.cli.main import main
from sync.worker.serve.fleet import Fleet
from sync.worker.serve.roster import FolderRoster, Roster
from connectors.memory import MemorySink, MemorySource
from sync.worker.workspace import Process, Workspace

from .conftest import ROOT, base_config, make_config
from .test_daemon import Process as DaemonProcess

DEMO_EXPORT = ROOT / "config/demo/jira-search.json"


def write_workspace(folder, stem, **over):
    data = base_config(source={"type": "file", "path": str(DEMO_EXPORT),
                               "fields": {"estimate": "customfield_10016"}},
                       sink={"type": "xlsx", "path": str(folder.parent / "out" / f"{stem}.xlsx")},
                       state=str(folder.parent / "state" / f"{stem}.db"),
                       schedule={"every": "1h"})
    data.update(over)
    path = folder / f"{stem}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "workspaces"
    d.mkdir()
    write_workspace(d, "growth")
    write_workspace(d, "payments")
    (d / "broken.yaml").write_text(yaml.safe_dump(dict(base_config(), sink={"type": "xlsx"})))
    return d


def run_until(fleet, done, seconds=30.0):
    fleet.tick_seconds = 0.05
    deadline = time.monotonic() + seconds

    def until(f):
        return done(f) or time.monotonic() > deadline
    fleet.loop(until=until)
    assert done(fleet), {m.name: (m.syncs, m.last_error, m.problem) for m in fleet.members.values()}


def synced(*names):
    return lambda f: all(any(m.name == n and m.syncs >= 1 for m in f.members.values()) for n in names)


@pytest.mark.slow
def test_good_workspaces_sync_and_the_broken_one_is_reported(folder):
    fleet = Fleet(FolderRoster(folder, Process()), slots=2, timeout=60)
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        run_until(fleet, synced("growth", "payments"))
    for name in ("growth", "payments"):
        assert openpyxl.load_workbook(folder.parent / "out" / f"{name}.xlsx")["Tickets"].max_row == 81
    healthy, details = fleet.health()
    assert not healthy
    assert details["workspaces"]["broken"]["status"] == "invalid"
    assert "sink.path: required key is missing" in details["workspaces"]["broken"]["last_error"]
    assert details["workspaces"]["growth"]["status"] == "ok"
    done = [e for e in logs if e["event"] == "sync.done"]
    assert sorted(e["workspace"] for e in done) == ["growth", "payments"]
    assert [e["workspace"] for e in logs if e["event"] == "workspace.invalid"] == ["broken"]
    text = generate_latest(telemetry.REGISTRY).decode()
    assert 'result="ok",workspace="growth"' in text and 'result="ok",workspace="payments"' in text


@pytest.mark.slow
def test_a_hung_workspace_does_not_hold_back_the_others(folder):
    fifo = folder.parent / "never.json"
    os.mkfifo(fifo)                      # a source whose read never ends
    data = yaml.safe_load((folder / "payments.yaml").read_text())
    data["source"]["path"] = str(fifo)
    (folder / "payments.yaml").write_text(yaml.safe_dump(data))
    write_workspace(folder, "support")
    fleet = Fleet(FolderRoster(folder, Process()), slots=1, timeout=0.5)
    try:
        run_until(fleet, synced("growth", "support"))
        hung = next(m for m in fleet.members.values() if m.name == "payments")
        assert hung.timed_out and "still waiting" in hung.last_error
        assert fleet.health()[1]["workspaces"]["payments"]["status"] == "hung"
        assert fleet.peak <= 2            # one slot, plus the hung one that no longer holds it
    finally:
        fleet.stop.set()
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)   # let the hung read end
        os.write(fd, b'{"issues": []}')
        os.close(fd)


@pytest.mark.slow
def test_at_most_the_concurrency_limit_sync_at_once(folder):
    for n in range(4):
        write_workspace(folder, f"team{n}")
    fleet = Fleet(FolderRoster(folder, Process()), slots=2, timeout=60)
    run_until(fleet, synced("growth", "payments", "team0", "team1", "team2", "team3"))
    assert 1 <= fleet.peak <= 2


@pytest.mark.slow
def test_files_added_and_removed_are_picked_up_without_a_restart(folder):
    fleet = Fleet(FolderRoster(folder, Process()), slots=2, timeout=60)
    run_until(fleet, synced("growth", "payments"))
    write_workspace(folder, "late")
    (folder / "payments.yaml").unlink()
    fleet.stop.clear()
    run_until(fleet, synced("late"))
    names = sorted(m.name for m in fleet.members.values())
    assert names == ["broken", "growth", "late"]


def test_a_workspace_named_in_its_config(folder):
    write_workspace(folder, "file-stem", name="Team Atlas")
    assert Workspace(folder / "file-stem.yaml").name == "Team Atlas"


def test_one_host_and_account_share_one_limiter(tmp_path):
    def jira(name, token):
        return write_workspace(tmp_path, name, source={
            "type": "jira", "url": "https://acme.atlassian.net", "jql": "project = X",
            "auth": {"email": "bot@acme.test", "token": token}})
    process = Process()
    a, b, c = (Workspace(jira(n, t), process) for n, t in (("a", "tok-1"), ("b", "tok-1"), ("c", "tok-2")))
    assert a.sources[0].limiter is b.sources[0].limiter
    assert a.sources[0].limiter is not c.sources[0].limiter


def test_unknown_source_or_sink_type_exits_2_listing_the_known(tmp_path, capsys):
    path = write_workspace(tmp_path, "x", source={"type": "github", "repo": "a/b"})
    assert main(["check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "source.type: unknown type 'github'" in err and "'file'" in err and "'jira'" in err \
        and "'trello'" in err
    path = write_workspace(tmp_path, "y", sink={"type": "postgres", "dsn": "x"})
    assert main(["check", "--config", str(path)]) == 2
    assert "sink.type: unknown type 'postgres'" in capsys.readouterr().err


def test_run_once_over_a_folder_names_the_broken_one(folder, capsys):
    assert main(["run", "--once", "--workspaces", str(folder)]) == 1
    out = capsys.readouterr().err          # stdout is the JSON log's (issue 26)
    assert "ok    workspace growth: 80 tickets" in out and "ok    workspace payments" in out
    assert "FAIL  workspace broken:" in out and "sink.path" in out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@pytest.mark.slow
def test_the_daemon_over_a_folder(folder):
    """As ops run it: good workspaces write on schedule, the broken one is
    named by /healthz, /metrics and the logs carry each workspace, SIGTERM exits 0."""
    port = free_port()
    proc = DaemonProcess(folder / "growth.yaml", "--workspaces", str(folder), "--health-port", str(port))
    try:
        for _ in range(2):
            proc.wait_for("sync.done", timeout=60)
        deadline = time.monotonic() + 30          # sync.done is logged just before health learns it
        while True:
            code, body = get(port, "/healthz")
            health = json.loads(body)["workspaces"]
            if health["growth"]["status"] == health["payments"]["status"] == "ok" \
                    or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert code == 503
        assert health["broken"]["status"] == "invalid" and health["growth"]["status"] == "ok"
        metrics = get(port, "/metrics")[1]
        assert 'workspace="growth"' in metrics and 'workspace="payments"' in metrics
        proc.proc.send_signal(signal.SIGTERM)
        assert proc.finish(timeout=60) == 0
    finally:
        proc.kill()
    lines = [json.loads(x) for x in proc.lines if x.startswith("{")]
    assert {e.get("workspace") for e in lines if e["event"] == "sync.done"} == {"growth", "payments"}
    assert "fleet.stopped" in [e["event"] for e in lines]
    assert (folder.parent / "out" / "growth.xlsx").exists()


@pytest.mark.slow
def test_livez_fails_only_once_every_workspace_is_stuck(folder, monkeypatch):
    """A fleet of one is the daemon: its sync stuck past the timeout plus the
    grace fails /livez; beside a workspace that still syncs, it does not."""
    from sync.worker.serve import fleet as fleet_module
    monkeypatch.setattr(fleet_module, "GRACE", 0.1)
    fifo = folder.parent / "never.json"
    os.mkfifo(fifo)                      # a source whose read never ends
    for path in folder.iterdir():
        path.unlink()
    write_workspace(folder, "stuck", source={"type": "file", "path": str(fifo)})
    fleet = Fleet(FolderRoster(folder, Process()), slots=2, timeout=0.1)
    try:
        fleet.scan()
        fleet.tick()                     # the sync starts, and blocks on the FIFO
        time.sleep(0.4)
        fleet.turn_by = time.monotonic() + 60      # the loop itself turns on time
        assert not fleet.alive()
        write_workspace(folder, "growth")
        fleet.scan()
        assert fleet.alive()             # growth may still sync: the pod must not restart
    finally:
        fleet.stop.set()
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)   # let the hung read end
        os.write(fd, b'{"issues": []}')
        os.close(fd)
        fleet.drain()


def test_a_stop_request_reaches_every_workspaces_runtime(tmp_path):
    """The stop flag travels in each workspace's Runtime (no module state):
    the retries of a sync running when the worker is told to stop see it."""
    workspaces = [Workspace.assemble(make_config(state=str(tmp_path / f"s{n}.db")),
                                     [MemorySource("jira", [])], MemorySink(), name=f"w{n}",
                                     path=tmp_path / f"w{n}.yaml")
                  for n in range(2)]
    fleet = Fleet(Roster(workspaces), slots=2, timeout=60)
    fleet.scan()
    try:
        assert not any(ws.runtime.stop.is_set() for ws in workspaces)
        fleet.request_stop()
        assert all(ws.runtime.stop.is_set() for ws in workspaces)
    finally:
        fleet.release()


def test_a_file_that_fails_to_load_in_any_way_is_refused_and_the_others_serve(folder, monkeypatch):
    """A reviewer's finding: a config with `sink:` left empty loaded, then
    failed with an AttributeError that stopped the whole fleet.  Now it is a
    config error; and any other failure loading one file (a bug) refuses that
    workspace only."""
    (folder / "broken.yaml").unlink()
    write_workspace(folder, "empty_sink", sink=None)
    write_workspace(folder, "buggy")
    real = Workspace.__init__

    def init(self, path, *args, **kw):
        if str(path).endswith("buggy.yaml"):
            raise RuntimeError("a bug while loading")
        real(self, path, *args, **kw)
    monkeypatch.setattr(Workspace, "__init__", init)
    fleet = Fleet(FolderRoster(folder, Process()), slots=2, timeout=60)
    run_until(fleet, synced("growth", "payments"))
    _, details = fleet.health()
    assert details["workspaces"]["empty_sink"]["status"] == "invalid"
    assert "sink: input should be a valid dictionary" in details["workspaces"]["empty_sink"]["last_error"]
    assert details["workspaces"]["buggy"]["status"] == "invalid"
    assert "unexpected error: RuntimeError: a bug while loading" in details["workspaces"]["buggy"]["last_error"]
