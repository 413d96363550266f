"""Metric sources: SQLite (read-only, one SELECT), CSV over a local server,
JSON from a file, another Google Sheet; their rows in the Metrics tab with
Note `from <name>`; a person's row wins; a failing source is a warning."""
from __future__ import annotations

import json
import sqlite3
import threading
from datetime import date, datetime, timedelta, timezone
from functools import partial
from http.server import HTTPServer, SimpleHTTPRequestHandler
from pathlib import Path

import openpyxl
import pytest
import yaml

from sync.cli.main import main
from sync.core.assess import metric_feed
from sync.core.model import Reading
from sync.worker import configfile
from connectors.metrics.csvjson import FileMetrics, FileMetricsConfig, download
from connectors.metrics.sql import SqlMetrics, SqlMetricsConfig
from tests.conftest import NOW, make_config

TODAY = datetime.now(timezone.utc).date()
QUERY = ("SELECT day AS date, 'trial_rate' AS metric, rate AS value FROM kpi_daily "
         "WHERE day >= :since ORDER BY day")


def issue(i: int) -> dict:
    done = i % 3 == 0
    made = datetime.combine(TODAY - timedelta(days=30 - i), datetime.min.time(), timezone.utc)
    return {"key": f"GROW-{i}", "fields": {
        "summary": f"Trial step {i}", "issuetype": {"name": "Story"},
        "status": {"name": "Done" if done else "In Progress",
                   "statusCategory": {"key": "done" if done else "indeterminate"}},
        "assignee": {"displayName": "Ann"}, "labels": ["trial"], "project": {"key": "GROW"},
        "updated": (made + timedelta(days=2)).isoformat(),
        "created": made.isoformat(),
        "resolutiondate": (made + timedelta(days=2)).isoformat() if done else None}}


def make_db(path: Path, days: range) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE kpi_daily (day TEXT, rate REAL)")
        db.executemany("INSERT INTO kpi_daily VALUES (?, ?)",
                       [((TODAY - timedelta(days=d)).isoformat(), 10 + (40 - d) * 0.1) for d in days])
    db.close()


@pytest.fixture
def team(tmp_path, monkeypatch):
    """An export with creation and resolution dates, a SQLite KPI table, a config."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "export.json").write_text(json.dumps({"issues": [issue(i) for i in range(1, 13)]}))
    make_db(tmp_path / "kpi.db", range(40, -1, -10))          # 5 readings, 40 days ago to today
    return tmp_path


def write_config(tmp: Path, metrics: list[dict], **sink) -> str:
    data = {"source": {"type": "file", "path": "export.json"},
            "sink": {"type": "xlsx", "path": "book.xlsx", **sink}, "state": "state.db",
            "outcomes": [{"id": "trial", "name": "Trials", "metric": "trial_rate", "baseline": 10,
                          "target": 20, "start": (TODAY - timedelta(days=45)).isoformat(),
                          "deadline": (TODAY + timedelta(days=45)).isoformat(), "owner": "Ann",
                          "levers": [{"id": "steps", "name": "Steps", "match": {"labels": ["trial"]}}]}],
            "metrics": metrics}
    (tmp / "c.yaml").write_text(yaml.safe_dump(data))
    return str(tmp / "c.yaml")


WAREHOUSE = {"name": "warehouse", "type": "sql", "url": "sqlite:///kpi.db", "query": QUERY}


def metrics_tab(path="book.xlsx") -> list[tuple]:
    return [r[:4] for r in openpyxl.load_workbook(path)["Metrics"].iter_rows(min_row=2, values_only=True)]


def sheet(name: str, path="book.xlsx") -> list[dict]:
    ws = openpyxl.load_workbook(path)[name]
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


@pytest.mark.slow
def test_sqlite_readings_land_with_their_note_and_a_rerun_adds_nothing(team):
    path = write_config(team, [WAREHOUSE])
    assert main(["run", "--once", "--config", path]) == 0
    rows = metrics_tab()
    assert len(rows) == 5 and {r[3] for r in rows} == {"from warehouse"}
    assert rows[-1] == (TODAY.isoformat(), "trial_rate", 14.0, "from warehouse")
    score = sheet("Scorecard")[0]
    assert score["Current"] == 14.0
    # On a line (0.1 a day from 10 at day -40): 14 today, 18.5 at the deadline 45 days on.
    assert (score["Forecast"], score["Forecast status"]) == (18.5, "will miss")
    assert main(["run", "--once", "--config", path]) == 0
    assert metrics_tab() == rows                                   # no duplicate
    # A later value for today replaces the source's row in place.
    with sqlite3.connect(team / "kpi.db") as db:
        db.execute("UPDATE kpi_daily SET rate = 15.5 WHERE day = ?", (TODAY.isoformat(),))
    db.close()
    assert main(["run", "--once", "--config", path]) == 0
    assert metrics_tab() == rows[:-1] + [(TODAY.isoformat(), "trial_rate", 15.5, "from warehouse")]


def test_a_persons_row_wins_and_is_never_touched(team):
    (team / "seed.csv").write_text(f"Date,Metric,Value,Note\n{TODAY.isoformat()},trial_rate,12.5,typed\n"
                                   f"{TODAY.isoformat()},unrelated,1,mine\n")
    path = write_config(team, [WAREHOUSE], metrics_seed="seed.csv")
    assert main(["run", "--once", "--config", path]) == 0
    assert main(["run", "--once", "--config", path]) == 0
    rows = metrics_tab()
    assert rows[:2] == [(TODAY.isoformat(), "trial_rate", 12.5, "typed"),
                        (TODAY.isoformat(), "unrelated", 1, "mine")]
    # The source's four other days are added; its reading of today is not.
    assert [r for r in rows if r[3] == "from warehouse" and r[0] == TODAY.isoformat()] == []
    assert len([r for r in rows if r[3] == "from warehouse"]) == 4
    assert sheet("Scorecard")[0]["Current"] == 12.5


def test_a_metric_no_outcome_names_is_not_copied(team):
    query = "SELECT day AS date, 'other_kpi' AS metric, rate AS value FROM kpi_daily"
    path = write_config(team, [{**WAREHOUSE, "query": query}])
    assert main(["run", "--once", "--config", path]) == 0
    assert metrics_tab() == []


@pytest.mark.parametrize("query", ["DELETE FROM kpi_daily",
                                   "SELECT 1 AS date; DROP TABLE kpi_daily",
                                   "WITH x AS (SELECT 1) UPDATE kpi_daily SET rate = 0",
                                   "PRAGMA query_only = OFF"])
def test_anything_but_one_select_is_refused_and_the_database_unchanged(team, query, capsys):
    before = (team / "kpi.db").read_bytes()
    path = write_config(team, [{**WAREHOUSE, "query": query}])
    assert main(["run", "--once", "--config", path]) == 2
    err = capsys.readouterr().err
    assert "metrics[0]" in err and "query" in err and "Traceback" not in err
    assert (team / "kpi.db").read_bytes() == before


def test_the_sqlite_file_is_opened_read_only(team):
    source = SqlMetrics(SqlMetricsConfig(**WAREHOUSE), team)
    engine = source._engine()
    with pytest.raises(Exception, match="readonly|read-only|query_only"):
        with engine.connect() as conn:
            conn.exec_driver_sql("DELETE FROM kpi_daily")
    engine.dispose()
    assert len(source.read(TODAY - timedelta(days=100))) == 5
    assert len(source.read(TODAY - timedelta(days=15))) == 2          # :since bound


def test_a_broken_source_warns_keeps_its_rows_and_the_sync_succeeds(team, capsys):
    path = write_config(team, [WAREHOUSE])
    assert main(["run", "--once", "--config", path]) == 0
    rows = metrics_tab()
    with sqlite3.connect(team / "kpi.db") as db:
        db.execute("ALTER TABLE kpi_daily RENAME TO gone")
    db.close()
    assert main(["run", "--once", "--config", path]) == 0
    assert metrics_tab() == rows                                   # its earlier rows stay
    failed = [w for w in sheet("Warnings") if w["Kind"] == "metric_source_failed"]
    assert len(failed) == 1 and failed[0]["Severity"] == "medium"
    assert "warehouse" in failed[0]["Message"] and "no such table: kpi_daily" in failed[0]["Message"]
    assert sheet("Scorecard")[0]["Current"] == 14.0


def test_a_missing_database_file_is_a_warning_too(team):
    path = write_config(team, [{**WAREHOUSE, "url": "sqlite:///nowhere.db"}])
    assert main(["run", "--once", "--config", path]) == 0
    failed = [w for w in sheet("Warnings") if w["Kind"] == "metric_source_failed"]
    assert "no SQLite file" in failed[0]["Message"]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """A static file server on 127.0.0.1 (loopback only), stopped after the test."""
    root = tmp_path / "www"
    root.mkdir()
    httpd = HTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    httpd.timeout = 5
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()


@pytest.mark.slow
def test_csv_over_a_local_server_with_column_renames(team, server):
    root, base = server
    (root / "kpi.csv").write_text("Day,KPI,Value\n"
                                  f"{(TODAY - timedelta(days=20)).isoformat()},trial_rate,11.5\n"
                                  f"{(TODAY - timedelta(days=10)).isoformat()},trial_rate,12\n"
                                  f"{TODAY.isoformat()},trial_rate,\"12,5\"\n")
    bi = {"name": "bi", "type": "csv", "url": f"{base}/kpi.csv",
          "columns": {"date": "Day", "metric": "KPI", "value": "Value"}}
    path = write_config(team, [bi])
    assert main(["run", "--once", "--config", path]) == 0
    assert metrics_tab() == [((TODAY - timedelta(days=20)).isoformat(), "trial_rate", 11.5, "from bi"),
                             ((TODAY - timedelta(days=10)).isoformat(), "trial_rate", 12, "from bi")]
    bad = [w["Message"] for w in sheet("Warnings") if w["Kind"] == "bad_metric"]
    assert bad == ["metric source bi row 3: value '12,5' is not a number; row ignored"]
    # A missing file on the server is the source failing, not the sync.
    path = write_config(team, [{**bi, "url": f"{base}/gone.csv"}])
    assert main(["run", "--once", "--config", path]) == 0
    failed = [w["Message"] for w in sheet("Warnings") if w["Kind"] == "metric_source_failed"]
    assert failed and "HTTP 404" in failed[0]


def test_a_redirect_is_not_followed_and_names_the_host_only(server):
    from sync.core.errors import RemoteError
    from sync.worker.runtime import Runtime
    root, base = server
    (root / "kpis").mkdir()                  # the file server redirects a folder to its `/` form
    with pytest.raises(RemoteError) as err:
        download(f"{base}/kpis", {}, Runtime())
    assert err.value.message == "127.0.0.1 answered with a redirect (HTTP 301), not followed"
    assert err.value.hint == "give the final URL"


def test_json_from_a_local_file(team):
    (team / "kpi.json").write_text(json.dumps([{"date": TODAY.isoformat(), "metric": "trial_rate",
                                                "value": 13}]))
    source = FileMetrics(FileMetricsConfig(name="j", type="json", url="kpi.json"), team)
    assert source.read(TODAY) == [(TODAY.isoformat(), "trial_rate", 13)]


def test_plain_http_to_another_host_is_refused():
    with pytest.raises(Exception, match="https"):
        FileMetricsConfig(name="x", type="csv", url="http://bi.example.com/kpi.csv")


def test_credentials_come_from_the_environment_only(tmp_path, monkeypatch):
    monkeypatch.setenv("BI_TOKEN", "s3cr3t-token-value")
    base = {"source": {"type": "file", "path": "x.json"}, "sink": {"type": "xlsx", "path": "o.xlsx"},
            "outcomes": [{"id": "o", "name": "O", "metric": "m", "baseline": 0, "target": 1,
                          "start": "2026-01-01", "deadline": "2026-12-31"}]}
    literal = {**base, "metrics": [{"name": "bi", "type": "csv", "url": "https://bi.example.com/k.csv",
                                    "headers": {"Authorization": "Bearer abc123"}}]}
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(literal))
    with pytest.raises(Exception, match="environment variable") as caught:
        configfile.load(tmp_path / "a.yaml")
    assert "abc123" not in str(caught.value)
    from_env = {**base, "metrics": [{"name": "bi", "type": "csv", "url": "https://bi.example.com/k.csv",
                                     "headers": {"Authorization": "Bearer ${BI_TOKEN}"}}]}
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(from_env))
    _, secrets = configfile.load(tmp_path / "b.yaml")
    assert "s3cr3t-token-value" in secrets
    url = {**base, "metrics": [{"name": "wh", "type": "sql", "query": "SELECT 1",
                                "url": "postgresql://bob:hunter2@db/kpi"}]}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(url))
    with pytest.raises(Exception, match="environment variable"):
        configfile.load(tmp_path / "c.yaml")


def _reading(day: int, value: float, note: str = "", row: int | None = None, metric="conv_rate"):
    return Reading(datetime(2026, 11, day, tzinfo=timezone.utc), metric, value, note, row)


def test_merge_rules():
    config = make_config(metrics=[{**WAREHOUSE, "name": "wh"}])
    tab = [_reading(20, 7.0, "typed", 2), _reading(21, 6.5, "from wh", 3)]
    got = metric_feed.Fetched("wh", [("2026-11-20", "conv_rate", 9.9),    # a person's day: skipped
                                     ("2026-11-21", "conv_rate", 6.6),    # changed in place
                                     ("2026-11-22", "conv_rate", 6.7),
                                     ("2026-11-22", "CONV_RATE", 6.8),    # later row of the day wins
                                     ("2026-11-22", "nobody_asks", 1),
                                     ("2026-11-23", "churn", 2.0)])       # a guardrail's metric
    merged = metric_feed.merge(tab, [got], config, NOW)
    assert merged.rows.changed == {3: ["2026-11-21", "conv_rate", 6.6, "from wh"]}
    assert merged.rows.added == [["2026-11-22", "CONV_RATE", 6.8, "from wh"],
                                 ["2026-11-23", "churn", 2.0, "from wh"]]
    values = sorted((r.date.day, r.value) for r in merged.readings if r.metric.lower() == "conv_rate")
    assert values == [(20, 7.0), (21, 6.6), (22, 6.8)]
    failed = metric_feed.merge(tab, [metric_feed.Fetched("wh", error="boom")], config, NOW)
    assert failed.failures == ["metric source wh: boom; its earlier rows are kept"]
    assert not failed.rows and [r.value for r in failed.readings] == [7.0, 6.5]
    assert metric_feed.since(config) == date(2026, 10, 1)


@pytest.mark.slow
def test_the_demo_reads_its_warehouse(tmp_path, monkeypatch):
    """`make demo`: the warehouse built from CSV, then one sync; its readings,
    the forecasts and the Flow tab are in the workbook."""
    import shutil
    import subprocess
    import sys
    from tests.conftest import ROOT
    shutil.copytree(ROOT / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config/demo/warehouse.db").unlink(missing_ok=True)
    subprocess.run([sys.executable, "config/demo/warehouse.py"], check=True, timeout=60,
                   capture_output=True)                  # as `make demo` does
    assert (tmp_path / "config/demo/warehouse.db").exists()
    assert main(["run", "--once", "--config", "config/demo.yaml"]) == 0
    book = "out/demo.xlsx"
    ours = [r for r in metrics_tab(book) if r[3] == "from warehouse"]
    assert len(ours) == 16 and {r[1] for r in ours} == {"net_expansion_rate", "churn_rate"}
    assert ("2026-10-01", "net_expansion_rate", 1.9, "from warehouse") not in ours   # a person typed that day
    forecasts = {r["Outcome ID"]: (r["Forecast"], r["Forecast status"], r["Hits target on"])
                 for r in sheet("Scorecard", book)}
    # The figures the README quotes.
    assert forecasts == {"conversion": (8.17, "will hit", "2026-12-24"),
                         "activation": (37.63, "will miss", None),
                         "expansion": (4.29, "will miss", None)}
    flow = sheet("Flow", book)
    assert flow[-1]["Outcome ID"] == "*" and flow[-1]["Open tickets"] == 56
    kinds = {w["Kind"] for w in sheet("Warnings", book)}
    assert "forecast_miss" in kinds and "metric_source_failed" not in kinds


# Another spreadsheet, read with the sink's service account (the Sheets fakes).
from tests.test_sheets import Env, fake, key_file, private_key  # noqa: E402,F401  (fixtures)
from tests.fakes_sheets import FakeSheets  # noqa: E402


@pytest.mark.slow
def test_google_sheets_source_and_sink(tmp_path, key_file, fake):
    from connectors.memory import MemorySource
    from connectors.metrics.sheets import SheetsMetrics, SheetsMetricsConfig
    from connectors.sheets.sink import SheetsSink
    from sync.worker.runtime import Runtime
    from tests.conftest import sync_over, ticket
    finance = FakeSheets(fake.rsps, sheet_id="1financeFAKE")
    kpis = FakeSheets._tab(7, "KPIs", 1, 10, 3)
    kpis["cells"].update({
        (0, 0): {"userEnteredValue": {"stringValue": "Date"}},
        (0, 1): {"userEnteredValue": {"stringValue": "Metric"}},
        (0, 2): {"userEnteredValue": {"stringValue": "Value"}},
        (1, 0): {"userEnteredValue": {"numberValue": 46348}},            # a date cell: 2026-11-22
        (1, 1): {"userEnteredValue": {"stringValue": "conv_rate"}},
        (1, 2): {"userEnteredValue": {"numberValue": 7.1}},
        (2, 0): {"userEnteredValue": {"stringValue": "2026-11-23"}},
        (2, 1): {"userEnteredValue": {"stringValue": "conv_rate"}},
        (2, 2): {"userEnteredValue": {"numberValue": 7.2}}})
    finance.tabs["KPIs"] = kpis
    env = Env(tmp_path, key_file, fake)
    config = env.config.model_copy(update={"metrics": [SheetsMetricsConfig(
        type="google_sheets", name="finance", spreadsheet="1financeFAKE", range="KPIs!A:C")]})

    def sync(now):
        sink = SheetsSink(config.sink)
        source = SheetsMetrics(config.metrics[0], sink, Runtime())
        return sync_over(config, [MemorySource("jira", [ticket("A-1")])], sink, env.state, now,
                         metric_sources=[source])
    result = sync(NOW)
    rows = fake.values("Metrics")
    assert rows == [["Date", "Metric", "Value", "Note"],
                    ["2026-11-22", "conv_rate", 7.1, "from finance"],
                    ["2026-11-23", "conv_rate", 7.2, "from finance"]]
    assert result.assessment.outcomes[0].current == 7.2
    # A later value of the 23rd replaces that row; nothing is added twice.
    kpis["cells"][(2, 2)] = {"userEnteredValue": {"numberValue": 7.4}}
    sync(NOW + timedelta(minutes=15))
    assert fake.values("Metrics") == rows[:2] + [["2026-11-23", "conv_rate", 7.4, "from finance"]]
    # Not shared with the service account: a warning, and the sync still writes.
    finance.failures["get"].append((403, {"error": {"code": 403, "message": "The caller does not "
                                                     "have permission", "status": "PERMISSION_DENIED"}}))
    result = sync(NOW + timedelta(minutes=30))
    failed = [w.message for w in result.assessment.warnings if w.kind == "metric_source_failed"]
    assert failed and "HTTP 403" in failed[0] and "share that spreadsheet with align-sync@" in failed[0]
    assert fake.values("Metrics")[1:] == rows[1:2] + [["2026-11-23", "conv_rate", 7.4, "from finance"]]
    env.state.close()


def test_a_number_in_a_date_cell_past_year_9999_stays_one_bad_row(tmp_path, key_file, fake):
    # 20260105 typed into a date cell is serial day 20 million: no date at all.
    from connectors.metrics.sheets import SheetsMetrics, SheetsMetricsConfig
    from connectors.sheets.sink import SheetsSink
    from sync.worker.runtime import Runtime
    finance = FakeSheets(fake.rsps, sheet_id="1financeFAKE")
    kpis = FakeSheets._tab(7, "KPIs", 1, 10, 3)
    kpis["cells"].update({
        (0, 0): {"userEnteredValue": {"numberValue": 20260105}},
        (0, 1): {"userEnteredValue": {"stringValue": "conv_rate"}},
        (0, 2): {"userEnteredValue": {"numberValue": 7.1}},
        (1, 0): {"userEnteredValue": {"numberValue": 46348}},
        (1, 1): {"userEnteredValue": {"stringValue": "conv_rate"}},
        (1, 2): {"userEnteredValue": {"numberValue": 7.2}}})
    finance.tabs["KPIs"] = kpis
    env = Env(tmp_path, key_file, fake)
    source = SheetsMetrics(SheetsMetricsConfig(type="google_sheets", name="finance",
                                               spreadsheet="1financeFAKE", range="KPIs!A:C"),
                           SheetsSink(env.config.sink), Runtime())
    rows = source.read(NOW.date())
    assert rows[0] == (20260105, "conv_rate", 7.1)            # left for the reader to name
    assert rows[1] == (datetime(2026, 11, 22, tzinfo=timezone.utc), "conv_rate", 7.2)
    env.state.close()


def test_google_sheets_source_needs_a_sheets_sink():
    from connectors.metrics.sheets import SheetsMetrics, SheetsMetricsConfig
    from sync.core.errors import ConfigError
    with pytest.raises(ConfigError, match="sink is not google_sheets"):
        SheetsMetrics(SheetsMetricsConfig(type="google_sheets", name="f", spreadsheet="x"), object(), None)


@pytest.mark.slow
def test_a_query_past_its_timeout_is_stopped(team):
    from sync.core.errors import RemoteError
    endless = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
               "SELECT '2026-11-01' AS date, 'trial_rate' AS metric, max(x) AS value FROM c")
    source = SqlMetrics(SqlMetricsConfig(**{**WAREHOUSE, "query": endless, "timeout": "1s"}), team)
    with pytest.raises(RemoteError, match="ran past its timeout"):
        source.read(TODAY)


# -- dialects, drivers and `check` (a tester's finding: an unknown dialect or a
# missing driver passed load and `check`, then every sync warned only
# "unexpected NoSuchModuleError") ----------------------------------------------

@pytest.mark.parametrize("url, said", [
    ("foo://warehouse/kpi", "metrics[0].url: no SQL dialect 'foo' is installed; expected one of "
                            "SQLAlchemy's (postgresql, mysql, mariadb, sqlite, oracle, mssql)"),
    ("postgresql+foo://warehouse/kpi", "metrics[0].url: the postgresql dialect has no driver 'foo'")])
def test_an_unknown_dialect_is_refused_at_load_naming_the_file_and_key(team, capsys, url, said):
    path = write_config(team, [{**WAREHOUSE, "url": url}])
    assert main(["check", "--config", path]) == 2
    err = capsys.readouterr().err
    assert f"{path}: {said}" in err and "Traceback" not in err


def test_a_missing_driver_is_named_by_check_and_by_the_syncs_warning(team, capsys):
    import importlib.util
    assert importlib.util.find_spec("oracledb") is None, "this test needs a driver that is not installed"
    path = write_config(team, [{**WAREHOUSE, "url": "oracle+oracledb://kpi@warehouse/kpi"}])
    said = ("url: no SQL driver for oracle+oracledb:// (the Python module 'oracledb' is not installed; "
            "install oracledb in align-sync's environment)")
    assert main(["check", "--config", path]) == 1
    out = capsys.readouterr().out
    assert f"FAIL  metrics warehouse: {said}" in out.splitlines()
    assert main(["run", "--once", "--config", path]) == 0           # a metric source only warns
    out = capsys.readouterr().out
    failed = [json.loads(line) for line in out.splitlines() if '"metrics.failed"' in line]
    assert [(f["source"], f["error"]) for f in failed] == [("warehouse", said)]
    (warning,) = [w for w in sheet("Warnings") if w["Kind"] == "metric_source_failed"]
    # The source named once (its name led the reason too: 'metric source w: metrics w: ...').
    assert warning["Message"].startswith(f"metric source warehouse: {said}")
    assert "unexpected" not in warning["Message"]


def test_check_compiles_a_sqlite_query_without_running_it(team, capsys):
    endless = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
               "SELECT '2026-11-01' AS date, 'trial_rate' AS metric, max(x) AS value FROM c")
    path = write_config(team, [{**WAREHOUSE, "query": endless, "timeout": "1s"}])
    assert main(["check", "--config", path]) == 0                   # planned (EXPLAIN), never run
    assert "ok    metrics warehouse: SQLite file kpi.db: the query compiles (it runs at the sync)" in \
        capsys.readouterr().out.splitlines()
    path = write_config(team, [{**WAREHOUSE, "query": QUERY.replace("rate AS", "rat AS")}])
    assert main(["check", "--config", path]) == 1
    assert "FAIL  metrics warehouse: the database refused the query: no such column: rat" in \
        capsys.readouterr().out.splitlines()


def test_an_interrupted_metric_source_ends_the_sync_a_failing_one_warns():
    """A retester's finding: Ctrl-C during a metric source's Retry-After wait
    made that source a warning and the sync went on to write the sheet."""
    from connectors.retry import interrupted
    from sync.core.errors import Interrupted, TransientError
    from sync.worker.intake import read_metrics

    class Source:
        def __init__(self, name, error):
            self.name, self.error = name, error

        def read(self, since):
            raise self.error
    config = make_config()
    failing = read_metrics([Source("bi", TransientError("HTTP 503"))], config, str)
    assert [(f.name, f.error) for f in failing] == [("bi", "HTTP 503")]
    with pytest.raises(Interrupted, match="^interrupted: HTTP 503; not tried again"):
        read_metrics([Source("bi", interrupted(TransientError("HTTP 503")))], config, str)
