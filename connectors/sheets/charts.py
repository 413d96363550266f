"""The two charts of the Google sheet (Scorecard: progress against time
elapsed; Trend: History's progress and aligned effort), as batchUpdate
requests: added once beside the table, re-pointed at the data afterwards,
so a chart a person moved keeps its place.
"""
from __future__ import annotations

from sync.core.present.report import Table, column_widths

# A chart is ours, and found again on the next sync, by its title.
CHART_TITLES = {"Scorecard": "Progress vs time elapsed",
                "Trend": "History: progress and aligned effort"}


def _source(sheet_id: int, rows: int, col: int) -> dict:
    return {"sourceRange": {"sources": [{"sheetId": sheet_id, "startRowIndex": 0, "endRowIndex": rows,
                                         "startColumnIndex": col, "endColumnIndex": col + 1}]}}


def _chart_spec(table: Table, sheet_id: int) -> dict:
    rows = len(table.rows) + 1
    if table.name == "Scorecard":
        kind, cols = "COLUMN", [table.headers.index("Progress %"), table.headers.index("Time elapsed %")]
    else:
        kind, cols = "LINE", list(range(1, len(table.headers)))
    return {"title": CHART_TITLES[table.name], "basicChart": {
        "chartType": kind, "legendPosition": "BOTTOM_LEGEND", "headerCount": 1,
        "axis": [{"position": "LEFT_AXIS", "title": "%"}],
        "domains": [{"domain": _source(sheet_id, rows, 0)}],
        "series": [{"series": _source(sheet_id, rows, c), "targetAxis": "LEFT_AXIS"} for c in cols]}}


def chart(table: Table, sheet_id: int, charts: dict[str, int]) -> dict:
    """The tab's chart: re-pointed at the data when the tab has it (`charts`:
    title → chartId, as read), else added beside the table."""
    spec = _chart_spec(table, sheet_id)
    chart_id = charts.get(CHART_TITLES[table.name])
    if chart_id is not None:
        return {"updateChartSpec": {"chartId": chart_id, "spec": spec}}
    # The anchor must be a cell of the grid, which is sized to the data: the
    # last column's header, shifted right past it.
    last = len(table.headers) - 1
    anchor = {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": last}
    offset = 24 + 7 * column_widths(table)[last] + 24
    return {"addChart": {"chart": {"spec": spec, "position": {"overlayPosition": {
        "anchorCell": anchor, "offsetXPixels": offset, "widthPixels": 640, "heightPixels": 320}}}}}
