"""kill -9 at any moment never tears anything (issue 11): the output is the
previous or the new complete version, state never runs ahead of it, and the
next sync completes.

Sheets runs in-process: the fake raises `Killed` (a BaseException, so none
of our handlers run) at every request of a sync, before it is handled and
after it was applied.  xlsx runs as a real process, killed with SIGKILL at
spread-out moments of a large sync.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import openpyxl
import pytest
import yaml

from connectors.memory import MemorySource
from connectors.sheets.sink import SheetsSink
from sync.core.errors import TransientError
from sync.worker.state import State

from .conftest import NOW, ROOT, base_config, sync_over
from .fakes import make_issues
from .fakes_sheets import FakeSheets, Killed
from .test_sheets import key_file, private_key, tickets  # noqa: F401 (fixtures)

# Kill storms: seconds each.  `make test-fast` leaves them out; CI runs them.
pytestmark = pytest.mark.slow


def visible(fake: FakeSheets) -> dict:
    """What people see: every tab that is not hidden, values and formats."""
    return {name: (fake.values(name), {k: v for k, v in tab["cells"].items() if v})
            for name, tab in fake.tabs.items() if not tab.get("hidden")}


class SheetsRun:
    def __init__(self, tmp_path, key_file, rsps, name):
        self.fake = FakeSheets(rsps, sheet_id=f"1sheet{name}")
        self.path = tmp_path / f"{name}.db"
        self.config = self._config(key_file)

    def _config(self, key_file):
        from sync.core.config import Config
        return Config.model_validate(base_config(sink={
            "type": "google_sheets", "credentials": str(key_file), "spreadsheet": self.fake.id}))

    def sync(self, items, now):
        state = State(self.path)
        try:
            sink = SheetsSink(self.config.sink)
            return sync_over(self.config, [MemorySource("jira", items)], sink, state, now)
        finally:
            state.close()

    def last_count(self):
        state = State(self.path)
        try:
            return state.last_count()
        finally:
            state.close()


FIRST = tickets(*[f"A-{i}" for i in range(1, 41)])
# The second sync: tickets left from the top, new ones, a changed title.
SECOND = tickets(*[f"A-{i}" for i in range(6, 61)])
SECOND[3] = tickets("A-9", title="renamed")[0]
LATER = NOW + timedelta(days=1)


@pytest.mark.parametrize("staged", [False, True], ids=["one-request", "staged"])
def test_a_kill_at_any_sheets_request_leaves_the_visible_tabs_whole(tmp_path, key_file, staged,  # noqa: F811
                                                                   monkeypatch):
    import responses
    if staged:       # small walls, so a small sync stages in several requests
        monkeypatch.setattr("connectors.sheets.sink.PUBLISH_MAX", 50_000)
        monkeypatch.setattr("connectors.sheets.staging.STAGE_CHUNK", 4_000)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        ref = SheetsRun(tmp_path, key_file, rsps, "ref")
        ref.sync(FIRST, NOW)
        before = visible(ref.fake)
        start = ref.fake.requests
        ref.sync(SECOND, LATER)
        after = visible(ref.fake)
        requests = ref.fake.requests - start
        assert before != after and requests >= (6 if staged else 3)
        assert ref.fake.largest_body <= (50_000 if staged else 4_000_000)
        for k in range(1, requests + 1):
            for when in ("before", "after", "down"):
                run = SheetsRun(tmp_path, key_file, rsps, f"k{k}{when}")
                run.sync(FIRST, NOW)
                run.fake.kill = (run.fake.requests + k, when)
                with pytest.raises(Killed if when != "down" else TransientError):
                    run.sync(SECOND, LATER)
                now_visible = visible(run.fake)
                assert now_visible in (before, after), (k, when)
                # State is committed after the publish, so it never runs ahead.
                assert run.last_count() == len(FIRST)
                run.fake.kill = None
                run.sync(SECOND, LATER)
                assert visible(run.fake) == after, (k, when)
                assert run.last_count() == len(SECOND)


# -- xlsx, a real process, SIGKILL ---------------------------------------------

SIZE = int(os.environ.get("ALIGN_SYNC_KILL_TICKETS", "3000"))   # 30000 for the issue's check


def _export(path, issues):
    path.write_text(json.dumps({"issues": issues}))


def _config(tmp_path):
    data = base_config(source={"type": "file", "path": str(tmp_path / "export.json"),
                               "fields": {"estimate": "customfield_10016"}},
                       sink={"type": "xlsx", "path": str(tmp_path / "book.xlsx")},
                       state=str(tmp_path / "state.db"))
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _run(config, timeout=300):
    return subprocess.run([sys.executable, "-m", "sync", "run", "--once", "--config", str(config)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def _ticket_rows(book) -> int:
    wb = openpyxl.load_workbook(book, read_only=True)
    try:
        return wb["Tickets"].max_row - 1
    finally:
        wb.close()


def _last_count(tmp_path):
    state = State(tmp_path / "state.db", readonly=True)
    try:
        return state.last_count()
    finally:
        state.close()


def test_sigkill_during_an_xlsx_sync_never_tears_the_workbook(tmp_path):
    config = _config(tmp_path)
    first, second = make_issues(SIZE, NOW), make_issues(SIZE + SIZE // 10, NOW)
    _export(tmp_path / "export.json", first)
    assert _run(config).returncode == 0
    _export(tmp_path / "export.json", second)
    started = time.monotonic()
    done = _run(config)
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    book = tmp_path / "book.xlsx"
    for fraction in (0.3, 0.5, 0.7, 0.85, 0.95):
        _export(tmp_path / "export.json", first if fraction in (0.5, 0.85) else second)
        expected_new = SIZE if fraction in (0.5, 0.85) else SIZE + SIZE // 10
        old_rows = _ticket_rows(book)
        proc = subprocess.Popen([sys.executable, "-m", "sync", "run", "--once", "--config", str(config)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        time.sleep(took * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        rows = _ticket_rows(book)                      # loads: never a torn file
        assert rows in (old_rows, expected_new), (fraction, rows)
        count = _last_count(tmp_path)
        if count == expected_new and expected_new != old_rows:
            assert rows == expected_new, "state ran ahead of the workbook"
        finished = _run(config, timeout=300)           # the next sync completes
        assert finished.returncode == 0, finished.stderr
        assert _ticket_rows(book) == expected_new
