"""The Google Sheets sink: real gspread, real google-auth service-account flow
(a throwaway RSA key, the token endpoint mocked), a stateful Sheets fake."""
from __future__ import annotations

import copy
import json
import threading
import time
from datetime import timedelta

import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors import retry
from connectors.memory import MemorySource
from connectors.http import RATE_WINDOW
from connectors.sheets.sink import SheetsSink, spreadsheet_id
from connectors.sheets.diff import norm
from connectors.sheets.sink import SheetsSinkConfig
from sync.core.errors import ConfigError, GuardError, RemoteError, TransientError, describe
from sync.core.present.report import HEADERS, OWNED
from sync.worker.runtime import RetrySettings
from sync.worker.state import State

from .conftest import NOW, fixture, make_config, sync_over, ticket
from .fakes_sheets import FakeSheets

SA_EMAIL = "align-sync@growth-ops.iam.gserviceaccount.com"
_RETRY_SLEEP = retry.sleep


@pytest.fixture(scope="module")
def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture
def key_file(tmp_path, private_key):
    info = {"type": "service_account", "project_id": "growth-ops", "private_key_id": "0123abcd",
            "private_key": private_key, "client_email": SA_EMAIL, "client_id": "1234567890",
            "token_uri": "https://oauth2.googleapis.com/token"}
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(info))
    return path


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeSheets(rsps)


class Env:
    def __init__(self, tmp_path, key_file, fake, **sink):
        self.fake = fake
        self.config = make_config(sink={"type": "google_sheets", "credentials": str(key_file),
                                        "spreadsheet": f"https://docs.google.com/spreadsheets/d/{fake.id}/edit#gid=0",
                                        **sink})
        self.state = State(tmp_path / "state.db")

    def sync(self, tickets, now=NOW, **kw):
        sink = SheetsSink(self.config.sink)
        return sync_over(self.config, [MemorySource("jira", tickets)], sink, self.state, now, **kw)


@pytest.fixture
def env(tmp_path, key_file, fake):
    e = Env(tmp_path, key_file, fake)
    yield e
    e.state.close()


def summary(fake) -> dict:
    return {row[0]: (row + [None])[1] for row in fake.values("Summary")[1:]}


def tickets(*keys, **kw):
    return [ticket(k, labels=("onboarding-email",), url=f"https://acme.atlassian.net/browse/{k}", **kw)
            for k in keys]


def test_first_sync_writes_every_tab_in_two_requests(env):
    env.sync(tickets("A-1", "A-2"))
    assert env.fake.sheet_calls() == ["GET 1sheetFAKEid", "POST 1sheetFAKEid:batchUpdate"]
    assert env.fake.tokens == 1
    for tab in OWNED[:-1] + ["History", "Metrics"]:
        assert env.fake.values(tab)[0] == HEADERS[tab], tab
    assert env.fake.values("Trend")[0][0] == "Timestamp"
    assert env.fake.values("Metrics") == [HEADERS["Metrics"]]
    assert "Sheet1" in env.fake.tabs                        # not ours: left alone
    head = summary(env.fake)
    assert head["Tickets in scope"] == 2 and head["Last sync"] == "2026-11-26T09:00:00Z"


def test_every_later_sync_costs_three_requests(env):
    env.sync(tickets("A-1", "A-2"))
    env.fake.rsps.calls.reset()
    env.sync(tickets("A-1", "A-2", "A-3"), now=NOW + timedelta(minutes=15))
    assert env.fake.sheet_calls() == ["GET 1sheetFAKEid", "GET values:batchGet",
                                      "POST 1sheetFAKEid:batchUpdate"]
    read = [c.request.url for c in env.fake.rsps.calls if "values:batchGet" in c.request.url][0]
    assert "valueRenderOption=FORMULA" in read and "ranges=%27Metrics%27%21A%3AD" in read


def test_cells_are_typed_and_ticket_text_never_a_formula(env):
    env.sync([ticket("F-1", title='=IMPORTXML("https://evil.example/x","//a")', owner="+cmd",
                     url="https://acme.atlassian.net/browse/F-1")])
    row = env.fake.values("Tickets")[1]
    assert row[2] == '=IMPORTXML("https://evil.example/x","//a")'
    assert env.fake.cell("Tickets", 1, 2)["userEnteredValue"] == {
        "stringValue": '=IMPORTXML("https://evil.example/x","//a")'}
    assert env.fake.cell("Tickets", 1, 8)["userEnteredValue"] == {"numberValue": 2.0}   # Estimate
    link = env.fake.cell("Tickets", 1, 0)["userEnteredFormat"]["textFormat"]["link"]
    assert link == {"uri": "https://acme.atlassian.net/browse/F-1"}
    body = json.dumps(env.fake.batches)
    assert "formulaValue" not in body
    assert env.fake.cell("Summary", 0, 0)["userEnteredFormat"]["textFormat"]["bold"] is True
    assert env.fake.tabs["Tickets"]["frozen"] == 1


def test_grids_are_sized_to_the_data(env):
    env.sync(tickets(*[f"A-{i}" for i in range(30)]))
    assert (env.fake.tabs["Tickets"]["rows"], env.fake.tabs["Tickets"]["cols"]) == (31, 16)
    env.sync(tickets("A-1", "A-2", "A-3", "A-4", "A-5", "A-6", "A-7", "A-8", "A-9", "A-10",
                     "A-11", "A-12", "A-13", "A-14", "A-15"), now=NOW + timedelta(minutes=5))
    assert env.fake.tabs["Tickets"]["rows"] == 16
    assert len(env.fake.values("Tickets")) == 16          # no stale rows left below


@pytest.mark.slow
def test_people_columns_survive_syncs_with_tickets_added_and_removed(env):
    env.sync(tickets("A-1", "A-2", "A-3"))
    tab = env.fake.tabs["Tickets"]
    tab["cols"] = 18
    tab["cells"][(0, 16)] = {"userEnteredValue": {"stringValue": "Notes"}}
    tab["cells"][(0, 17)] = {"userEnteredValue": {"stringValue": "Points x2"}}
    tab["cells"][(2, 16)] = {"userEnteredValue": {"stringValue": "blocked on legal"}}
    tab["cells"][(2, 17)] = {"userEnteredValue": {"formulaValue": "=I3*2"}}
    tab["cells"][(3, 16)] = {"userEnteredValue": {"numberValue": 42}}
    env.sync(tickets("A-0", "A-2", "A-3"), now=NOW + timedelta(minutes=15))      # A-1 gone, A-0 new
    env.sync(tickets("A-0", "A-2", "A-3", "A-4"), now=NOW + timedelta(minutes=30))
    rows = {r[0]: r[16:] for r in env.fake.values("Tickets")[1:]}
    assert env.fake.values("Tickets")[0][16:] == ["Notes", "Points x2"]
    assert rows == {"A-0": [], "A-2": ["blocked on legal", "=I3*2"], "A-3": [42], "A-4": []}
    assert env.fake.cell("Tickets", 2, 17)["userEnteredValue"] == {"formulaValue": "=I3*2"}


def test_metrics_are_read_and_never_written(env):
    env.sync(tickets("A-1"))
    metrics = env.fake.tabs["Metrics"]
    metrics["rows"] = 5
    metrics["cells"].update({
        (1, 0): {"userEnteredValue": {"numberValue": 46349}},          # a date cell: 2026-11-22
        (1, 1): {"userEnteredValue": {"stringValue": "conv_rate"}},
        (1, 2): {"userEnteredValue": {"numberValue": 7.5}},
        (2, 0): {"userEnteredValue": {"stringValue": "2026-10-01"}},
        (2, 1): {"userEnteredValue": {"stringValue": "conv_rate"}},
        (2, 2): {"userEnteredValue": {"stringValue": "6.5%"}},
        # a value people compute: Sheets returns the formula and its result
        (3, 0): {"userEnteredValue": {"stringValue": "2026-11-10"}},
        (3, 1): {"userEnteredValue": {"stringValue": "churn"}},
        (3, 2): {"userEnteredValue": {"formulaValue": "=12/400*100"}, "effectiveValue": {"numberValue": 3.0}}})
    before = copy.deepcopy(metrics)
    env.fake.rsps.calls.reset()
    env.sync(tickets("A-1"), now=NOW + timedelta(minutes=15))
    assert env.fake.tabs["Metrics"] == before
    # The formula in Metrics costs one more read, for its result: 4 requests here.
    assert env.fake.sheet_calls() == ["GET 1sheetFAKEid", "GET values:batchGet",
                                      "GET values:batchGet", "POST 1sheetFAKEid:batchUpdate"]
    scorecard = {r[0]: r for r in env.fake.values("Scorecard")[1:]}
    assert scorecard["conv"][6] == 7.5 and scorecard["conv"][7] == 75.0
    warnings = env.fake.values("Warnings")
    assert not any(r[1] == "guardrail_breach" for r in warnings[1:])      # churn 3.0 is not > 3
    env.fake.tabs["Metrics"]["cells"][(3, 2)]["effectiveValue"] = {"numberValue": 3.5}
    env.sync(tickets("A-1"), now=NOW + timedelta(minutes=30))
    assert any(r[1] == "guardrail_breach" for r in env.fake.values("Warnings")[1:])


def test_a_formula_in_the_date_column_is_read_as_its_result(env):
    # Both sinks: a formula in Date, Metric or Value is read for its result.
    env.sync(tickets("A-1"))
    metrics = env.fake.tabs["Metrics"]
    metrics["rows"] = 3
    metrics["cells"].update({
        (1, 0): {"userEnteredValue": {"formulaValue": "=DATE(2026,11,22)"},
                 "effectiveValue": {"numberValue": 46348}},
        (1, 1): {"userEnteredValue": {"stringValue": "conv_rate"}},
        (1, 2): {"userEnteredValue": {"numberValue": 7.5}}})
    env.sync(tickets("A-1"), now=NOW + timedelta(minutes=15))
    scorecard = {r[0]: r for r in env.fake.values("Scorecard")[1:]}
    assert scorecard["conv"][6] == 7.5
    assert not any(r[1] == "bad_metric" for r in env.fake.values("Warnings")[1:])


@pytest.mark.slow
def test_history_appended_once_per_period_and_charts_made_once(env):
    env.sync(tickets("A-1"))
    env.sync(tickets("A-1"), now=NOW + timedelta(hours=2))
    env.sync(tickets("A-1"), now=NOW + timedelta(days=1))
    stamps = [r[0] for r in env.fake.values("History")[1:]]
    assert stamps == ["2026-11-26T09:00:00Z"] * 3 + ["2026-11-27T09:00:00Z"] * 3
    assert len(env.fake.values("Trend")) == 3
    charts = [c for t in env.fake.tabs.values() for c in t["charts"]]
    assert len(charts) == 2
    trend_chart = env.fake.tabs["Trend"]["charts"][0]["spec"]
    assert trend_chart["basicChart"]["domains"][0]["domain"]["sourceRange"]["sources"][0]["endRowIndex"] == 3


def test_persistent_500_leaves_the_sheet_as_it_was(env, no_sleep):
    env.sync(tickets("A-1", "A-2"))
    before = copy.deepcopy(env.fake.tabs)
    env.fake.failures["update"] += [(500, {"error": {"code": 500, "message": "Internal error",
                                                     "status": "INTERNAL"}})] * RetrySettings().attempts
    with pytest.raises(TransientError) as err:
        env.sync(tickets("A-1", "A-2", "A-3"), now=NOW + timedelta(days=1))
    assert err.value.exit_code == 1
    after = env.fake.tabs
    assert after.keys() == before.keys()
    for tab in before:
        if tab != "Summary":
            assert after[tab] == before[tab], tab
    # Only Summary's Last error changed, in one small write after the failure.
    last_error = summary(env.fake)["Last error"]
    assert "HTTP 500" in last_error
    cells_before, cells_after = before["Summary"]["cells"], after["Summary"]["cells"]
    changed = [k for k in cells_after if cells_after[k] != cells_before.get(k)]
    assert changed == [(11, 1)]
    assert len(no_sleep) == RetrySettings().attempts - 1


def test_a_sheet_that_keeps_failing_is_left_whole_and_the_sync_ends(env, no_sleep):
    env.sync(tickets("A-1", "A-2"))
    before = copy.deepcopy(env.fake.tabs)
    env.fake.failures["update"] += [(500, {"error": {"code": 500, "message": "Internal error",
                                                     "status": "INTERNAL"}})] * 20
    env.fake.rsps.calls.reset()
    with pytest.raises(TransientError):
        env.sync(tickets("A-1", "A-2", "A-3"), now=NOW + timedelta(days=1))
    assert env.fake.tabs == before
    # The write's five attempts, then the Last error note's two.
    assert env.fake.sheet_calls().count("POST 1sheetFAKEid:batchUpdate") == RetrySettings().attempts + 2


def test_guard_failure_writes_only_last_error(env):
    env.sync(tickets(*[f"A-{i}" for i in range(10)]))
    before = {tab: env.fake.values(tab) for tab in env.fake.tabs}
    with pytest.raises(GuardError):
        env.sync(tickets("A-1"), now=NOW + timedelta(days=1))
    after = {tab: env.fake.values(tab) for tab in env.fake.tabs}
    assert {t: v for t, v in after.items() if t != "Summary"} == \
        {t: v for t, v in before.items() if t != "Summary"}
    assert after["Summary"][:-1] == before["Summary"][:-1]
    assert "under half" in after["Summary"][-1][1]


def test_429_with_retry_after_then_success(env, no_sleep):
    env.fake.failures["meta"].append((429, {"_headers": {"Retry-After": "7"}, "error": {
        "code": 429, "message": "Quota exceeded for quota metric 'Read requests'",
        "status": "RESOURCE_EXHAUSTED"}}))
    env.sync(tickets("A-1"))
    assert no_sleep == [7.0]
    assert "Summary" in env.fake.tabs


def test_quota_429_without_retry_after_waits_for_the_minute_bucket(env, no_sleep):
    quota = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message":
                       "Quota exceeded for quota metric 'Write requests' and limit 'Write requests "
                       "per minute per user' of service 'sheets.googleapis.com'"}}
    env.fake.failures["update"] += [(429, copy.deepcopy(quota)), (429, copy.deepcopy(quota))]
    env.sync(tickets("A-1"))
    assert no_sleep == [RATE_WINDOW["sheets"]] * 2
    assert summary(env.fake)["Tickets in scope"] == 1


def test_the_real_wait_is_time_sleep_or_the_stop_flag(monkeypatch):
    """`retry.sleep` is the seam that skips waits.  A wait with no stop flag
    (the pace's, the rate limiter's) is `time.sleep` at call time, so patching
    that skips it too; a retry's wait is on the runtime's stop flag, which
    ends it at once when the worker is asked to stop."""
    slept = []
    monkeypatch.setattr("time.sleep", slept.append)
    _RETRY_SLEEP(1.5)
    assert slept == [1.5]
    stop = threading.Event()
    stop.set()
    started = time.monotonic()
    _RETRY_SLEEP(5, stop)                      # returns at once, and not through time.sleep
    assert time.monotonic() - started < 1 and slept == [1.5]


def test_403_says_whom_to_share_with(env):
    body = json.loads(fixture("gspread_cassette_ClientTest.test_access_private_spreadsheet.json")
                      ["interactions"][3]["response"]["body"]["string"])
    env.fake.failures["meta"].append((403, body))
    with pytest.raises(RemoteError) as err:
        env.sync(tickets("A-1"))
    assert "The caller does not have permission" in err.value.message
    assert err.value.hint == f"share the spreadsheet with {SA_EMAIL} as Editor"


def test_401_after_a_fresh_token_names_the_key(env):
    # google-auth refreshes the token and retries a 401 twice; then it is ours to report.
    unauth = {"error": {"code": 401, "message": "Request had invalid authentication credentials.",
                        "status": "UNAUTHENTICATED"}}
    env.fake.failures["meta"] += [(401, copy.deepcopy(unauth)) for _ in range(6)]
    with pytest.raises(RemoteError) as err:
        env.sync(tickets("A-1"))
    assert "HTTP 401" in err.value.message and "sink.credentials" in err.value.hint


def test_404_names_the_id(env):
    env.fake.failures["meta"].append((404, {"error": {"code": 404, "message": "Requested entity was not found.",
                                                      "status": "NOT_FOUND"}}))
    with pytest.raises(RemoteError, match="no spreadsheet with id 1sheetFAKEid"):
        env.sync(tickets("A-1"))


@pytest.mark.parametrize("change,message", [
    (lambda k: k.pop("client_email"), "the key has no client_email"),
    (lambda k: k.update(type="authorized_user"), "expected 'service_account'"),
    (lambda k: k.update(private_key="not a key"), "`private_key` is not a PEM private key"),
])
def test_invalid_key_file_names_the_field(tmp_path, key_file, fake, change, message):
    info = json.loads(key_file.read_text())
    change(info)
    key_file.write_text(json.dumps(info))
    sink = SheetsSink(SheetsSinkConfig(type="google_sheets", spreadsheet=fake.id, credentials=str(key_file)))
    with pytest.raises(ConfigError, match=message):
        sink.read()


def test_key_json_from_an_environment_variable(key_file, fake):
    sink = SheetsSink(SheetsSinkConfig(type="google_sheets", spreadsheet=fake.id,
                                       credentials=key_file.read_text()))
    assert sink.read().readings == []


def test_edited_header_is_restored_and_logged(env):
    from structlog.testing import capture_logs
    env.sync(tickets("A-1"))
    env.fake.tabs["Levers"]["cells"][(0, 2)] = {"userEnteredValue": {"stringValue": "Lever name!"}}
    env.fake.tabs["Tickets"]["cells"][(0, 2)] = {"userEnteredValue": {"stringValue": "Summary"}}
    with capture_logs() as logs:
        env.sync(tickets("A-1"), now=NOW + timedelta(minutes=5))
    assert env.fake.values("Levers")[0] == HEADERS["Levers"]
    assert env.fake.values("Tickets")[0] == HEADERS["Tickets"]
    assert sorted(e["tab"] for e in logs if e["event"] == "sheet.header_restored") == ["Levers", "Tickets"]


def test_long_text_is_capped(env):
    env.sync([ticket("L-1", title="x" * 60_000)])
    title = env.fake.values("Tickets")[1][2]
    assert len(title) == 50_000 and title.endswith("…")


def test_owners_tab_off_removes_it(tmp_path, key_file, fake):
    e = Env(tmp_path, key_file, fake)
    e.sync(tickets("A-1"))
    assert "Owners" in fake.tabs
    (tmp_path / "second").mkdir()
    e2 = Env(tmp_path / "second", key_file, fake, owners_tab=False)
    e2.sync(tickets("A-1"), now=NOW + timedelta(minutes=5))
    assert "Owners" not in fake.tabs


def test_a_users_own_owners_tab_is_never_removed(tmp_path, key_file, fake):
    e = Env(tmp_path, key_file, fake, owners_tab=False)
    e.sync(tickets("A-1"))
    fake.tabs["Owners"] = fake._tab(4242, "Owners", 20, 10, 2)
    fake.tabs["Owners"]["cells"] = {(0, 0): {"userEnteredValue": {"stringValue": "Team"}},
                                    (0, 1): {"userEnteredValue": {"stringValue": "Phone"}}}
    e.sync(tickets("A-1"), now=NOW + timedelta(minutes=5))
    assert fake.values("Owners") == [["Team", "Phone"]]


def test_check(key_file, fake):
    sink = SheetsSink(SheetsSinkConfig(type="google_sheets", spreadsheet=fake.id, credentials=str(key_file)))
    out = sink.check()
    assert "Growth alignment" in out and SA_EMAIL in out


def test_spreadsheet_id_from_url_or_id():
    assert spreadsheet_id("https://docs.google.com/spreadsheets/d/1AbC-_x9/edit#gid=0") == "1AbC-_x9"
    assert spreadsheet_id("1AbC-_x9") == "1AbC-_x9"


# -- only changed rows are written ---------------------------------------------

def _cells(fake, tab) -> dict:
    t = fake.tabs[tab]
    return {"grid": (t["rows"], t["cols"]),
            "cells": {k: v for k, v in t["cells"].items() if v.get("userEnteredValue") or
                      v.get("userEnteredFormat")}}


def _data_writes(fake, tab) -> list[tuple]:
    """(start, end) rows of each updateCells on `tab` in the last batch: None for the whole tab."""
    sid = fake.tabs[tab]["sheetId"]
    return [(u["range"].get("startRowIndex"), u["range"].get("endRowIndex"))
            for r in fake.batches[-1]["requests"] if (u := r.get("updateCells"))
            and u["range"]["sheetId"] == sid]


@pytest.mark.slow
def test_a_sync_writes_only_changed_rows_and_ends_as_a_full_rewrite(env, fake):
    keys = [f"A-{i}" for i in range(1, 41)]
    env.sync(tickets(*keys))
    later = [t if t.key != "A-3" else ticket("A-3", labels=("onboarding-email",), status="Done", done=True,
                                             url="https://acme.atlassian.net/browse/A-3")
             for t in tickets(*keys) if t.key != "A-35"]
    later[6] = ticket("A-7", title='=HYPERLINK("https://evil.example","x")', labels=("onboarding-email",),
                      url="https://acme.atlassian.net/browse/A-7")
    later += tickets("A-41", "A-42")
    env.sync(later, now=NOW + timedelta(minutes=15))
    # The header, A-3, A-7, and the rows from A-35's old place down (they moved up).
    assert _data_writes(fake, "Tickets") == [(0, 1), (3, 4), (7, 8), (35, 42)]
    # What a sync onto a new spreadsheet writes, cell for cell.
    fresh = FakeSheets(fake.rsps, sheet_id="2freshSHEETid")
    Env(env.state.path.parent / "fresh", env.config.sink.credentials, fresh).sync(
        later, now=NOW + timedelta(minutes=15))
    for tab in ("Tickets", "Warnings"):
        assert _cells(fake, tab) == _cells(fresh, tab), tab
    assert fake.cell("Tickets", 7, 2)["userEnteredValue"] == {
        "stringValue": '=HYPERLINK("https://evil.example","x")'}


@pytest.mark.slow
def test_an_unchanged_sync_writes_headers_only_and_an_edited_cell_is_restored(env, fake):
    env.sync(tickets("A-1", "A-2", "A-3"))
    env.sync(tickets("A-1", "A-2", "A-3"), now=NOW + timedelta(minutes=1))
    assert _data_writes(fake, "Tickets") == [(0, 1)]
    fake.tabs["Tickets"]["cells"][(2, 2)] = {"userEnteredValue": {"stringValue": "someone typed here"}}
    env.sync(tickets("A-1", "A-2", "A-3"), now=NOW + timedelta(minutes=2))
    assert _data_writes(fake, "Tickets") == [(0, 1), (2, 3)]
    assert fake.values("Tickets")[2][2] == "ticket A-2"
    assert fake.cell("Tickets", 2, 0)["userEnteredFormat"]["textFormat"]["link"] == {
        "uri": "https://acme.atlassian.net/browse/A-2"}


def test_keys_sort_naturally(env, fake):
    env.sync(tickets("A-10", "A-9", "B-1", "A-100"))
    assert [r[0] for r in fake.values("Tickets")[1:]] == ["A-9", "A-10", "A-100", "B-1"]


@pytest.mark.parametrize("read, written, same", [
    ([1, "x"], [1.0, "x", None], True),          # Sheets returns 1 for 1.0; blanks trail
    (["", 2], [None, 2], True),
    ([True], [1], False),                        # a checkbox is not the number 1
    (["5"], [5], False),                         # text "5" is not the number 5
    ([0.30000000000000004], [0.3], True),        # what Sheets keeps of a double
    (["x" * 49_999 + "…"], ["x" * 60_000], True),  # text as capped when written
])
def test_rows_compare_as_the_sheet_holds_them(read, written, same):
    assert (norm(read) == norm(written)) is same


def test_a_spreadsheet_near_the_cell_limit_is_logged(env, fake):
    from structlog.testing import capture_logs
    env.sync(tickets("A-1"))
    fake.tabs["Raw export"] = fake._tab(77, "Raw export", 20, 400_000, 21)     # 8.4M cells, not ours
    with capture_logs() as logs:
        env.sync(tickets("A-1"), now=NOW + timedelta(minutes=5))
    high = [e for e in logs if e["event"] == "sheet.cells_high"]
    assert len(high) == 1 and high[0]["cells"] > 8_400_000 and high[0]["limit"] == 10_000_000
    assert fake.tabs["Raw export"]["rows"] == 400_000        # left alone


def test_people_columns_keep_their_formats_and_values_follow_the_key(env, fake):
    env.sync(tickets("A-1", "A-2", "A-3"))
    tab = fake.tabs["Tickets"]
    tab["cols"] = 17
    date = {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}}
    tab["cells"][(0, 16)] = {"userEnteredValue": {"stringValue": "Due"},
                             "userEnteredFormat": {"textFormat": {"italic": True}}}
    for r in (1, 2, 3):
        tab["cells"][(r, 16)] = {"userEnteredFormat": date}
    tab["cells"][(2, 16)]["userEnteredValue"] = {"numberValue": 46380}          # A-2 due 2026-12-23
    env.sync(tickets("A-2", "A-3"), now=NOW + timedelta(minutes=15))            # A-1 gone: rows move up
    assert [r[0] for r in fake.values("Tickets")[1:]] == ["A-2", "A-3"]
    assert fake.cell("Tickets", 1, 16) == {"userEnteredValue": {"numberValue": 46380},
                                           "userEnteredFormat": date}
    assert fake.cell("Tickets", 2, 16).get("userEnteredValue") is None
    assert fake.cell("Tickets", 2, 16)["userEnteredFormat"] == date
    assert fake.cell("Tickets", 0, 16)["userEnteredFormat"] == {"textFormat": {"italic": True}}
    assert fake.cell("Tickets", 1, 0)["userEnteredFormat"]["textFormat"]["link"]["uri"].endswith("A-2")


def test_token_endpoint_failures_are_retried_by_us_alone(env, fake, no_sleep):
    # google-auth would retry a 503 from the token endpoint three times with
    # its own sleeps; here each failure is one request and one wait of ours.
    fake.failures["token"] += [(503, {"error": "temporarily_unavailable"})] * 2
    env.sync(tickets("A-1"))
    assert fake.tokens == 3 and len(no_sleep) == 2
    assert summary(fake)["Tickets in scope"] == 1


def test_a_revoked_key_is_not_retried(env, fake, no_sleep):
    fake.failures["token"] += [(400, {"error": "invalid_grant",
                                      "error_description": "Invalid JWT Signature."})] * 3
    with pytest.raises(RemoteError) as err:
        env.sync(tickets("A-1"))
    # One try for the sync, one for the Last error note; no waits.
    assert fake.tokens == 2 and no_sleep == []
    assert "create a new key" in err.value.hint


def test_reads_stay_inside_grids_people_narrowed(env, fake):
    env.sync(tickets("A-1"))
    metrics = fake.tabs["Metrics"]
    metrics.update(rows=3, cols=3)                        # someone deleted the Note column
    metrics["cells"] = {k: v for k, v in metrics["cells"].items() if k[1] < 3}
    metrics["cells"].update({(1, 0): {"userEnteredValue": {"stringValue": "2026-11-20"}},
                             (1, 1): {"userEnteredValue": {"stringValue": "conv_rate"}},
                             (1, 2): {"userEnteredValue": {"numberValue": 7.0}}})
    levers = fake.tabs["Levers"]                           # and most of the Levers columns
    levers["cols"] = 4
    levers["cells"] = {k: v for k, v in levers["cells"].items() if k[1] < 4}
    env.sync(tickets("A-1"), now=NOW + timedelta(minutes=5))
    read = [c.request.url for c in fake.rsps.calls if "values:batchGet" in c.request.url][-1]
    assert "%27Metrics%27%21A%3AC" in read and "%27Levers%27%21A1%3AD1" in read
    assert {r[0]: r[6] for r in fake.values("Scorecard")[1:]}["conv"] == 7.0
    assert fake.values("Levers")[0] == HEADERS["Levers"]


def test_history_header_is_restored_and_its_rows_kept(env, fake):
    from structlog.testing import capture_logs
    env.sync(tickets("A-1"))
    fake.tabs["History"]["cells"][(0, 0)] = {"userEnteredValue": {"stringValue": "When"}}
    rows = fake.values("History")[1:]
    with capture_logs() as logs:
        env.sync(tickets("A-1"), now=NOW + timedelta(minutes=5))
    assert fake.values("History") == [HEADERS["History"]] + rows
    assert [e["tab"] for e in logs if e["event"] == "sheet.header_restored"] == ["History"]


def test_a_table_that_empties_leaves_no_row_behind():
    from connectors.sheets.layout import SheetInfo, build
    from sync.core.present.report import Report, Table
    info = SheetInfo(7, "Warnings", 3, 7)
    before = [HEADERS["Warnings"], ["high", "goal_overload", "", "Ann"], ["low", "stale", "A-1"]]
    for previous in (None, {"Warnings": before}):
        body, _ = build(Report([Table("Warnings", HEADERS["Warnings"], [])], [], NOW),
                        {"Warnings": info, "History": SheetInfo(8, "History", 2, 6),
                         "Metrics": SheetInfo(9, "Metrics", 2, 4)}, previous)
        writes = [r["updateCells"] for r in body["requests"]
                  if "updateCells" in r and r["updateCells"]["range"]["sheetId"] == 7]
        assert [(w["range"]["startRowIndex"], w["range"]["endRowIndex"]) for w in writes] == [(0, 2)]
        assert len(writes[0]["rows"]) == 1 and writes[0]["fields"] == "userEnteredValue,userEnteredFormat"


def test_a_failed_token_request_names_the_identity_it_was_for(key_file):
    # No network at all: the first thing to fail is google-auth's token request,
    # and the operator must learn which key it was minting for.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, "https://oauth2.googleapis.com/token",
                 body=requests.ConnectionError("no route to host"))
        sink = SheetsSink(SheetsSinkConfig(type="google_sheets", spreadsheet="1AbC-_x9",
                                           credentials=str(key_file)))
        with pytest.raises(TransientError) as caught:
            sink.check()
    said = describe(caught.value)
    assert f"getting a token for {SA_EMAIL}, sink.credentials" in said and "no route" in said
