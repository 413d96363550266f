"""Workspaces as a hostile user and an ops engineer try them (issue 21),
from the outside: the CLI in a fresh process (where the connector registry
is still empty when the workspace threads start), and a real daemon."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
import yaml

from sync.core.registry import Registry

from .conftest import ROOT
from .test_daemon import Process as DaemonProcess
from .test_fleet import write_workspace


def cli(*args: str, env: dict | None = None, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sync", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout, env=dict(os.environ, **(env or {})), **kw)


@pytest.fixture
def two(tmp_path):
    d = tmp_path / "workspaces"
    d.mkdir()
    write_workspace(d, "growth")
    write_workspace(d, "payments")
    return d


@pytest.mark.slow
def test_two_valid_workspaces_both_sync_in_a_fresh_process(two):
    # Was: the second failed with "TypeError: Cannot take a Union of no types".
    done = cli("run", "--once", "--workspaces", str(two))
    assert done.returncode == 0, done.stdout + done.stderr
    # A person's lines go to stderr while stdout is the JSON log (a pipe).
    assert "ok    workspace growth: 80 tickets" in done.stderr
    assert "ok    workspace payments: 80 tickets" in done.stderr


@pytest.mark.slow
def test_many_workspaces_at_concurrency_4_all_sync(tmp_path):
    d = tmp_path / "workspaces"
    d.mkdir()
    for i in range(12):
        write_workspace(d, f"team{i:02d}")
    done = cli("run", "--once", "--workspaces", str(d), env={"ALIGN_SYNC_CONCURRENCY": "4"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr.count("ok    workspace team") == 12


def test_the_registry_loads_once_for_threads_that_ask_at_the_same_time(monkeypatch):
    registry = Registry()

    class SlowPackage:
        @staticmethod
        def register(reg):
            time.sleep(0.2)               # the first thread is still loading when the second asks
            reg.add("source", "slow", object, lambda *a: None)
    monkeypatch.setattr("sync.core.registry.entry_points", lambda group: [])
    monkeypatch.setattr("sync.core.registry.importlib.import_module", lambda name: SlowPackage)
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(registry.types("source"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert seen == [["slow"]] * 4


@pytest.mark.slow
@pytest.mark.parametrize("share", ["state", "sink", "spreadsheet", "name"])
def test_shared_state_sink_or_name_is_refused_in_every_mode(tmp_path, share):
    d = tmp_path / "workspaces"
    d.mkdir()
    over = {}
    if share == "state":
        over = {"state": str(tmp_path / "state" / "shared.db")}
    elif share == "sink":
        over = {"sink": {"type": "xlsx", "path": str(tmp_path / "out" / "shared.xlsx")}}
    elif share == "spreadsheet":
        key = tmp_path / "key.json"
        key.write_text("{}")
        over = {"sink": {"type": "google_sheets", "credentials": str(key),
                         "spreadsheet": "https://docs.google.com/spreadsheets/d/1AbC_shared-id/edit"}}
    else:
        over = {"name": "growth"}
    a = write_workspace(d, "alpha", **over)
    if share == "spreadsheet":
        over["sink"] = dict(over["sink"], spreadsheet="1AbC_shared-id")      # the bare id: the same sheet
    b = write_workspace(d, "beta", **over)
    b.rename(d / "beta.yml")                  # *.yml files are workspaces too
    b = d / "beta.yml"
    for args in (["run", "--once"], ["run", "--once", "--dry-run"], ["check"], ["run"]):
        done = cli(*args, "--workspaces", str(d), timeout=60)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert str(a) in done.stderr and str(b) in done.stderr and "neither runs" in done.stderr, args
        assert "another align-sync" not in done.stdout + done.stderr
        assert "sync.start" not in done.stdout
    assert not (tmp_path / "out").exists() and not (tmp_path / "state").exists()


def test_a_clash_added_while_the_daemon_runs_refuses_both(two, tmp_path):
    from sync.worker.serve.fleet import Fleet
    from sync.worker.serve.roster import FolderRoster
    from sync.worker.workspace import Process
    fleet = Fleet(FolderRoster(two, Process()), slots=2, timeout=60)
    fleet.scan()
    assert all(m.runnable for m in fleet.members.values())
    write_workspace(two, "copy", state=str(two.parent / "state" / "growth.db"))
    fleet.scan()
    healthy, details = fleet.health()
    ws = details["workspaces"]
    assert not healthy and ws["copy"]["status"] == ws["growth"]["status"] == "refused"
    assert "growth.yaml and" in ws["copy"]["last_error"] and ws["payments"]["status"] == "starting"
    (two / "copy.yaml").unlink()
    fleet.scan()                              # the clash is gone: growth runs again
    assert fleet.members[two / "growth.yaml"].runnable
    fleet.drain()


@pytest.mark.slow
def test_skipped_files_are_named_and_an_empty_folder_is_refused(two, tmp_path):
    (two / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    (two / "dir.yml").mkdir()
    done = cli("run", "--once", "--workspaces", str(two))
    assert done.returncode == 1
    assert f"skip  {two / 'gone.yaml'}: a broken link" in done.stderr
    assert f"skip  {two / 'dir.yml'}: a folder" in done.stderr
    assert "ok    workspace growth" in done.stderr
    checked = cli("check", "--workspaces", str(two))
    assert checked.returncode == 2 and "gone.yaml: skipped: a broken link" in checked.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    for args in (["check"], ["run", "--once"], ["run"], ["review", "--print"]):
        done = cli(*args, "--workspaces", str(empty), timeout=60)
        assert done.returncode == 2 and "no workspace configs (*.yaml or *.yml)" in done.stderr, args


@pytest.mark.slow
def test_dry_run_over_workspaces_prints_each_summary_and_review_takes_a_folder(two):
    done = cli("run", "--once", "--dry-run", "--workspaces", str(two))
    assert done.returncode == 0, done.stderr
    for name in ("growth", "payments"):
        assert f"== workspace {name} ({two / (name + '.yaml')})" in done.stdout
    assert done.stdout.count("align-sync dry run: nothing was written") == 2
    assert done.stdout.count("Scorecard") == 2
    assert not (two.parent / "out").exists()
    review = cli("review", "--print", "--workspaces", str(two))
    assert review.returncode == 0, review.stderr
    assert "== workspace growth" in review.stdout and "== workspace payments" in review.stdout


@pytest.mark.slow
def test_the_daemon_over_a_folder_with_a_clash_exits_2_at_once(tmp_path):
    d = tmp_path / "workspaces"
    d.mkdir()
    write_workspace(d, "a", state=str(tmp_path / "one.db"))
    write_workspace(d, "b", state=str(tmp_path / "one.db"))
    proc = DaemonProcess(d / "a.yaml", "--workspaces", str(d))
    try:
        assert proc.finish(timeout=60) == 2
    finally:
        proc.kill()
    out = "".join(proc.lines)
    assert "a.yaml and" in out and "b.yaml share the state file" in out
    assert f"pid {proc.proc.pid}" not in out


@pytest.mark.slow
def test_broken_and_good_workspace_files_side_by_side_in_check(two):
    (two / "bad.yml").write_text(yaml.safe_dump({"outcomes": []}))
    done = cli("check", "--workspaces", str(two))
    assert done.returncode == 2
    assert f"FAIL  config {two / 'bad.yml'}" in done.stdout
    assert "ok    config" in done.stdout and "== workspace payments" in done.stdout
