"""The bundled demo, end to end at a fixed `now`, read back with openpyxl."""
from __future__ import annotations

import zipfile

import openpyxl
import pytest

from sync.worker.runtime import Runtime
from sync.worker.workspace import build_sources
from connectors.xlsx.sink import XlsxSink
from sync.worker import configfile
from sync.core.present.report import HEADERS
from sync.worker.state import State

from .conftest import NOW, ROOT, sync_over

ALL_KINDS = {"unmapped", "ambiguous", "unknown_tag", "unowned", "no_estimate", "no_acceptance",
             "stale", "goal_overload", "idle_lever", "lever_count", "unowned_outcome", "off_track",
             "guardrail_breach", "metric_stale", "unused_rule", "activity_bias",
             "checkpoint_missed", "leading_flat", "experiment_overdue",
             "forecast_miss"}   # forecast_miss: the outcome forecast (issue 23)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    config, _ = configfile.load(ROOT / "config" / "demo.yaml")
    sink_cfg = config.sink.model_copy(update={"path": str(out / "demo.xlsx"),
                                              "metrics_seed": str(ROOT / "config/demo/metrics.csv"),
                                              "history_seed": str(ROOT / "config/demo/history.csv")})
    config = config.model_copy(update={"sink": sink_cfg})
    src_cfg = config.source.model_copy(update={"path": str(ROOT / "config/demo/jira-search.json")})
    config = config.model_copy(update={"source": src_cfg})
    state = State(out / "state.db")
    result = sync_over(config, build_sources(config, Runtime()), XlsxSink(sink_cfg), state, NOW)
    state.close()
    return out / "demo.xlsx", result


def test_every_tab_with_exact_headers(demo):
    wb = openpyxl.load_workbook(demo[0])
    for tab in ["Summary", "Scorecard", "Levers", "Tickets", "Warnings", "Owners", "Rules",
                "History", "Metrics"]:
        assert [c.value for c in wb[tab][1]] == HEADERS[tab], tab
        assert wb[tab].freeze_panes == "A2" and wb[tab]["A1"].font.b


def test_summary_cells(demo):
    ws = openpyxl.load_workbook(demo[0])["Summary"]
    values = {row[0]: row[1] for row in ws.iter_rows(min_row=2, values_only=True)}
    assert values["Last sync"] == "2026-11-26T09:00:00Z"
    assert values["Source"] == "file"
    assert values["Tickets in scope"] == 74 and values["Active tickets"] == 56
    assert values["Unmapped tickets"] == 12
    assert values["Top unmapped labels"].startswith("seo (5), infra (3)")
    assert values["Last error"] is None


def test_scorecard_statuses_and_colours(demo):
    ws = openpyxl.load_workbook(demo[0])["Scorecard"]
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    status = HEADERS["Scorecard"].index("Status")
    assert rows["conversion"][status] == "on track"
    assert rows["activation"][status] == "off track"
    assert rows["expansion"][status] == "at risk"
    assert rows["conversion"][HEADERS["Scorecard"].index("Current")] == 7.3
    assert rows["conversion"][HEADERS["Scorecard"].index("Progress %")] == 65.0
    fill = ws.cell(row=2, column=status + 1).fill.fgColor.rgb
    assert fill.endswith("B7E1CD")


def test_every_warning_kind_shows_up(demo):
    ws = openpyxl.load_workbook(demo[0])["Warnings"]
    kinds = {r[1] for r in ws.iter_rows(min_row=2, values_only=True)}
    assert kinds == ALL_KINDS
    severities = [r[0] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert severities == sorted(severities, key=["high", "medium", "low"].index)


def test_tickets_are_plain_values_with_links(demo):
    ws = openpyxl.load_workbook(demo[0])["Tickets"]
    cells = {r[0].value: r for r in ws.iter_rows(min_row=2)}
    formula_title = cells["GROW-153"][2]
    assert formula_title.value.startswith("=HYPERLINK(") and formula_title.data_type == "s"
    assert cells["GROW-101"][0].hyperlink.target == "https://growthco.atlassian.net/browse/GROW-101"
    assert cells["GROW-101"][6].value == "no"
    assert cells["GROW-128"][13].value == "ambiguous"


def test_history_trend_and_charts(demo):
    wb = openpyxl.load_workbook(demo[0])
    history = list(wb["History"].iter_rows(min_row=2, values_only=True))
    # Eight weekly snapshots from the seed, then this sync's.
    assert [r[1] for r in history] == ["conversion", "activation", "expansion", "*"] * 9
    stamps = sorted({r[0] for r in history})
    assert stamps[0] == "2026-10-01T09:00:00Z" and stamps[-2:] == ["2026-11-19T09:00:00Z",
                                                                  "2026-11-26T09:00:00Z"]
    trend = list(wb["Trend"].iter_rows(min_row=2, values_only=True))
    assert len(trend) == 9 and len({r[1] for r in trend}) >= 4     # conversion's curve moves
    assert wb["Metrics"].max_row == 21
    with zipfile.ZipFile(demo[0]) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) >= 2


def test_rules_tab_shows_dead_rules(demo):
    ws = openpyxl.load_workbook(demo[0])["Rules"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert ("upgrade-prompts", "labels=paywall", 0, 0) in rows
    assert any(r[0] == "ignore" and r[1] == "type=Sub-task" and r[2] == 3 for r in rows)
