"""A Report → the body of one `spreadsheets:batchUpdate` (pure, no I/O).

Every owned tab is sized to its data and rewritten with typed cells
(`stringValue`/`numberValue`/`boolValue`: ticket text can never become a
formula), with its formatting in the same cells — Tickets and Warnings only
in the rows that changed since the read; History rows are appended;
missing tabs (and Metrics, header only) are added; the two charts are added
once and re-pointed at the data afterwards (connectors.sheets.charts); the
Tickets tab's `Set lever` column gets its dropdown.  One request, so the
sheet changes all at once or not at all.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sync.core.assess.choices import HEADER as CHOICE_HEADER
from sync.core.present.report import HEADERS, OWNED, STATUS_COLOURS, Report, Table, cell_text, column_widths

from sync.core.present.report import SEVERITY_COLOURS
from connectors.sheets.charts import CHART_TITLES, chart
from connectors.sheets.diff import MAX_CELL, changed_rows, header_edited, rgb
from connectors.sheets.staging import STAGING, Plan, publish_requests, shrink_staging

CELL_LIMIT = 10_000_000           # cells per spreadsheet, empty grid cells included
STAGED = ("Tickets", "Warnings")  # the big tabs, staged when the publish would be too large
_HEADER_FMT = {"textFormat": {"bold": True}, "backgroundColor": {"red": 0.91, "green": 0.93, "blue": 0.96}}


@dataclass
class SheetInfo:
    sheet_id: int
    title: str
    rows: int
    cols: int
    charts: dict[str, int] = field(default_factory=dict)   # our chart title → chartId


def parse_metadata(meta: dict) -> dict[str, SheetInfo]:
    out = {}
    for sheet in meta.get("sheets") or ():
        p = sheet.get("properties") or {}
        grid = p.get("gridProperties") or {}
        charts = {(c.get("spec") or {}).get("title"): c["chartId"] for c in sheet.get("charts") or ()
                  if "chartId" in c}
        out[p.get("title", "")] = SheetInfo(p.get("sheetId", 0), p.get("title", ""),
                                            grid.get("rowCount", 0), grid.get("columnCount", 0), charts)
    return out


def cell(value, *, formula_ok: bool = False, fmt: dict | None = None) -> dict:
    """One CellData.  Only people's own columns may carry formulas back."""
    out: dict = {}
    if isinstance(value, bool):
        out["userEnteredValue"] = {"boolValue": value}
    elif isinstance(value, (int, float)):
        if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
            value = int(value)          # "2" rather than "2.0": the same number, fewer bytes
        out["userEnteredValue"] = {"numberValue": value}
    elif value is not None:
        text = cell_text(str(value), MAX_CELL)
        kind = "formulaValue" if formula_ok and text.startswith("=") else "stringValue"
        out["userEnteredValue"] = {kind: text}
    if fmt:
        out["userEnteredFormat"] = fmt
    return out


def _header(table: Table) -> dict:
    return {"values": [cell(h, fmt=_HEADER_FMT) for h in table.headers]}


def _row(table: Table, r: int, status: int, severity: int) -> dict:
    values = []
    for c, value in enumerate(table.rows[r]):
        fmt = None
        if c == 0 and table.links and table.links[r]:
            fmt = {"textFormat": {"link": {"uri": table.links[r]}}}
        elif c == status and value in STATUS_COLOURS:
            fmt = {"backgroundColor": rgb(STATUS_COLOURS[value])}
        elif c == severity and value in SEVERITY_COLOURS:
            fmt = {"backgroundColor": rgb(SEVERITY_COLOURS[value])}
        values.append(cell(value, formula_ok=c >= table.owned_columns, fmt=fmt))
    return {"values": values}


def _rows(table: Table, indexes=None) -> list[dict]:
    """CellData rows for `indexes` of the table (all of them, header first, by default)."""
    status = table.headers.index("Status") if table.name == "Scorecard" else -1
    severity = 0 if table.name == "Warnings" else -1
    if indexes is None:
        return [_header(table)] + [_row(table, r, status, severity) for r in range(len(table.rows))]
    return [_row(table, r, status, severity) for r in indexes]


def _update(sheet_id: int, table: Table, rows: list[dict], start: int | None = None) -> list[dict]:
    """updateCells for `rows` from grid row `start` (None: the whole tab, header first).
    People's columns get values only: their date formats, colours and
    checkboxes stay as they made them."""
    # Bounds always given (the grid is sized to the table just before), so
    # the range is the table and nothing else.
    first = start or 0
    end = first + len(rows)
    if start is None:
        end = max(end, 2)     # a table with no rows still has a grid row under its header: clear it
    span = {"startRowIndex": first, "endRowIndex": end}
    owned = table.owned_columns
    if owned >= len(table.headers):
        return [{"updateCells": {"range": {"sheetId": sheet_id, **span, "startColumnIndex": 0,
                                           "endColumnIndex": len(table.headers)},
                                 "rows": rows, "fields": "userEnteredValue,userEnteredFormat"}}]
    return [{"updateCells": {"range": {"sheetId": sheet_id, **span, "startColumnIndex": 0,
                                       "endColumnIndex": owned},
                             "rows": [{"values": r["values"][:owned]} for r in rows],
                             "fields": "userEnteredValue,userEnteredFormat"}},
            {"updateCells": {"range": {"sheetId": sheet_id, **span, "startColumnIndex": owned,
                                       "endColumnIndex": len(table.headers)},
                             "rows": [{"values": r["values"][owned:]} for r in rows],
                             "fields": "userEnteredValue"}}]


def _runs(table: Table, before: list[list] | None) -> list[tuple[int, int]] | None:
    """Runs of data rows to write, or None for the whole tab."""
    runs = changed_rows(before, table.rows) if before and table.rows else None
    if runs is None or sum(b - a for a, b in runs) > len(table.rows) // 2:
        return None     # most rows changed (or nothing to compare with): the whole tab is as small
    return runs


def staged_bytes(report: Report, previous: dict[str, list[list]] | None) -> int:
    """About what the Tickets and Warnings rows of a sync cost as typed cells
    (~40 bytes of JSON a cell, ~110 more for a key link): enough to tell a
    sync that must stage from one that need not, without building the body."""
    total = 0
    for table in report.tables:
        if table.name not in STAGED:
            continue
        runs = _runs(table, (previous or {}).get(table.name))
        rows = len(table.rows) if runs is None else sum(b - a for a, b in runs)
        total += rows * (40 * len(table.headers) + (110 if table.links else 0))
    return total


def _cells(info: SheetInfo, table: Table, before: list[list] | None,
           plan: Plan | None = None) -> list[dict]:
    """Size the grid and write the table: whole, or — when we read what the
    tab holds this sync — its header and the rows that changed (`diff`).
    With a staging `plan`, the rows travel through the staging tab."""
    grid = _grid(info.sheet_id, info.rows, info.cols)
    runs = _runs(table, before)
    if plan is not None and table.rows:
        out = [grid] + _update(info.sheet_id, table, [_header(table)], 0)
        for a, b in runs if runs is not None else [(0, len(table.rows))]:
            out += publish_requests(plan.add(table, info.sheet_id, a, b), plan.sheet_id)
        return out
    if runs is None:
        return [grid] + _update(info.sheet_id, table, _rows(table))
    out = [grid] + _update(info.sheet_id, table, [_header(table)], 0)
    for a, b in runs:
        out += _update(info.sheet_id, table, _rows(table, range(a, b)), a + 1)
    return out


def _grid(sheet_id: int, rows: int, cols: int) -> dict:
    return {"updateSheetProperties": {
        "properties": {"sheetId": sheet_id, "gridProperties": {
            "rowCount": max(rows, 2), "columnCount": max(cols, 1), "frozenRowCount": 1}},
        "fields": "gridProperties.rowCount,gridProperties.columnCount,gridProperties.frozenRowCount"}}


def _widths(sheet_id: int, table: Table) -> list[dict]:
    return [{"updateDimensionProperties": {
        "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": i, "endIndex": i + 1},
        "properties": {"pixelSize": 24 + 7 * w}, "fields": "pixelSize"}}
        for i, w in enumerate(column_widths(table)[:table.owned_columns])]   # people size theirs


def _dropdown(sheet_id: int, table: Table) -> dict:
    """The `Set lever` dropdown over every data row (sent each publish: the
    rows and the levers change).  Not strict: a value off the list (a lever
    since removed from the config) is marked by Sheets and warned about by
    us, and our own write of it is never refused."""
    col, values = table.dropdown
    return {"setDataValidation": {
        "range": {"sheetId": sheet_id, "startRowIndex": 1, "endRowIndex": max(len(table.rows) + 1, 2),
                  "startColumnIndex": col, "endColumnIndex": col + 1},
        "rule": {"condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": v} for v in values]},
                 "inputMessage": f"{CHOICE_HEADER}: a lever id, or ignore; blank to follow the rules",
                 "strict": False, "showCustomUi": True}}}


def _metric_rows(info: SheetInfo, rows) -> list[dict]:
    """Metric sources' rows: a changed one rewritten where it is, new ones
    appended after the tab's last row with data; people's cells untouched."""
    out = [{"updateCells": {"range": {"sheetId": info.sheet_id, "startRowIndex": number - 1,
                                      "endRowIndex": number, "startColumnIndex": 0,
                                      "endColumnIndex": len(cells)},
                            "rows": [{"values": [cell(v) for v in cells]}],
                            "fields": "userEnteredValue"}}
           for number, cells in sorted(rows.changed.items())]
    if rows.added:
        out.append({"appendCells": {"sheetId": info.sheet_id, "fields": "userEnteredValue",
                                    "rows": [{"values": [cell(v) for v in r]} for r in rows.added]}})
        info.rows += len(rows.added)
    return out


def build(report: Report, sheets: dict[str, SheetInfo],
          previous: dict[str, list[list]] | None = None,
          plan: Plan | None = None) -> tuple[dict, int]:
    """The batchUpdate body (the publish), and the spreadsheet's cell count after it.
    `previous`: tabs as read this sync (header row first), to send only changed rows.
    `plan`: stage Tickets and Warnings rows (`staging`); filled in here."""
    requests: list[dict] = []
    taken = {s.sheet_id for s in sheets.values()}
    next_id = [1000]

    def ensure(title: str, index: int) -> SheetInfo:
        if title in sheets:
            return sheets[title]
        while next_id[0] in taken:
            next_id[0] += 1
        info = SheetInfo(next_id[0], title, 0, 0)
        taken.add(info.sheet_id)
        sheets[title] = info
        requests.append({"addSheet": {"properties": {"sheetId": info.sheet_id, "title": title,
                                                     "index": index}}})
        return info

    order = OWNED + ["History", "Metrics"]
    tables = {t.name: t for t in report.tables}
    for index, name in enumerate(order):
        if name in ("History", "Metrics"):
            fresh = name not in sheets
            requests += _appended_tab(name, ensure(name, index), fresh, (previous or {}).get(name), report)
            continue
        table = tables.get(name)
        if table is None:
            # A tab switched off (owners_tab: false) goes: a stale per-person
            # breakdown is what the switch exists to avoid.
            # Only our own tab (our header): a person's tab of that name stays.
            read = (previous or {}).get(name)
            if name in sheets and read and not header_edited(read[0], HEADERS[name]):
                requests.append({"deleteSheet": {"sheetId": sheets.pop(name).sheet_id}})
            continue
        info = ensure(name, index)
        info.rows, info.cols = max(len(table.rows) + 1, 2), max(len(table.headers), 1)
        requests += _cells(info, table, (previous or {}).get(name), plan if name in STAGED else None)
        requests += _widths(info.sheet_id, table)
        if table.dropdown:
            requests.append(_dropdown(info.sheet_id, table))
        if name in CHART_TITLES:
            requests.append(chart(table, info.sheet_id, info.charts))
    staging = sheets.get(STAGING)
    requests += shrink_staging(staging, plan)
    cells = sum(s.rows * s.cols for s in sheets.values()) + (1 if plan is not None and staging is None else 0)
    return {"requests": requests}, cells


def _appended_tab(name: str, info: SheetInfo, fresh: bool, read: list[list] | None,
                  report: Report) -> list[dict]:
    """History (rows appended, never rewritten) and Metrics (the team's, never
    written but for a source's rows): only a header, when new or edited."""
    requests: list[dict] = []
    width = len(HEADERS[name])
    # Metrics is the team's: its header is written once.  History's
    # header row is restored when someone edited it (its rows never are).
    edited = name == "History" and read is not None and \
        header_edited((read or [[]])[0], HEADERS[name])
    if fresh or edited or (name == "History" and info.cols < width):
        info.rows, info.cols = max(info.rows, 2), max(info.cols, width)
        requests.append(_grid(info.sheet_id, info.rows, info.cols))
    if fresh or edited:
        requests.append({"updateCells": {"range": {"sheetId": info.sheet_id, "startRowIndex": 0,
                                                   "endRowIndex": 1, "startColumnIndex": 0,
                                                   "endColumnIndex": width},
                                         "rows": [_header(Table(name, HEADERS[name], []))],
                                         "fields": "userEnteredValue,userEnteredFormat"}})
    if name == "Metrics" and report.metrics:
        requests += _metric_rows(info, report.metrics)
    if name == "History" and report.history:
        requests.append({"appendCells": {"sheetId": info.sheet_id, "fields": "userEnteredValue",
                                         "rows": [{"values": [cell(v) for v in row]}
                                                  for row in report.history]}})
        info.rows += len(report.history)
    return requests
