"""A report's table drawn into a worksheet by openpyxl: every cell of data
as text (a title "=IMPORTXML(...)" stays text), the header bold and frozen,
widths, dropdowns, colours and links; and metric sources' rows put into the
team's own Metrics tab, no other cell of it touched."""
from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.xlsx import dropdown
from connectors.xlsx.book import colour_severity, note_aligned_effort
from sync.core.present.report import OWNED, STATUS_COLOURS, Table, cell_text, column_letter, column_widths

if TYPE_CHECKING:
    from openpyxl import Workbook

MAX_TEXT = 32_767        # Excel's limit for one cell
MAX_LINKS = 65_530       # Excel refuses more hyperlinks than this on one sheet
LINK_COLOUR = "1155CC"
PROBE = "-"              # the one cell a streamed tab holds until its rows go in


def _font(**kw):
    # lazy: openpyxl (about 0.2 s to import) loads only when an xlsx workbook is read or written; a process writing only to Google Sheets never needs it
    from openpyxl.styles import Font
    return Font(**kw)


def replace_tab(wb: Workbook, table: Table, probe: bool = False) -> None:
    """The table as a new tab where the old one of its name was (or in the
    order of the owned tabs); `probe`: its header and one cell, the rows to
    be streamed in after the save (`stream`)."""
    order = OWNED + ["History", "Metrics"]
    if table.name in wb.sheetnames:
        index = wb.sheetnames.index(table.name)
        del wb[table.name]
    else:
        later = [wb.sheetnames.index(n) for n in order[order.index(table.name) + 1:]
                 if n in wb.sheetnames]
        index = min(later) if later else len(wb.sheetnames)
    ws = wb.create_sheet(table.name, index)
    if probe:
        # Header and one key cell only, for openpyxl to lay the tab out and
        # register the header and link styles the streamed rows then use.
        fill_tab(ws, Table(table.name, table.headers, [[PROBE]], [], table.owned_columns),
                 widths=column_widths(table))
        ws.cell(row=2, column=1).font = _font(color=LINK_COLOUR, underline="single")
    else:
        fill_tab(ws, table)


def fill_tab(ws, table: Table, widths: list[int] | None = None) -> None:
    for c, head in enumerate(table.headers, start=1):
        if head == "":
            continue         # a people's column without a header stays without one
        # Headers are text too: a Trend column named after an outcome id
        # such as "=HYPERLINK(...)" must not become a formula.
        cell = ws.cell(row=1, column=c, value=cell_text(str(head), MAX_TEXT))
        cell.data_type = "s"
    for r, row in enumerate(table.rows, start=2):
        for c, value in enumerate(row, start=1):
            if value is None:
                continue
            cell = ws.cell(row=r, column=c)
            if isinstance(value, str):
                cell.value = cell_text(value, MAX_TEXT)
                if c <= table.owned_columns:
                    # Ticket text is data: a title "=IMPORTXML(...)" must stay
                    # text, and openpyxl makes any "=..." string a formula.
                    cell.data_type = "s"
            else:
                cell.value = value
    bold = _font(bold=True)
    for c, cell in enumerate(ws[1], start=1):
        cell.font = bold
    ws.freeze_panes = "A2"
    for c, width in enumerate(widths or column_widths(table), start=1):
        ws.column_dimensions[column_letter(c)].width = width + 2
    _decorate(ws, table)


def _decorate(ws, table: Table) -> None:
    dropdown.add(ws, table)
    if table.name == "Warnings":
        colour_severity(ws)
    if table.name == "Scorecard":
        note_aligned_effort(ws, table.headers)
        col = table.headers.index("Status") + 1
        for r in range(2, len(table.rows) + 2):
            colour = STATUS_COLOURS.get(ws.cell(row=r, column=col).value)
            if colour:
                from openpyxl.styles import PatternFill     # lazy: as in _font
                ws.cell(row=r, column=col).fill = PatternFill("solid", fgColor=colour)
    if table.links:
        link = _font(color=LINK_COLOUR, underline="single")
        for r, url in enumerate(table.links[:MAX_LINKS], start=2):
            if url:
                cell = ws.cell(row=r, column=1)
                cell.hyperlink = url
                cell.font = link


def add_metric_rows(ws, rows) -> None:
    """Metric sources' rows: changed ones in place, new ones after the last
    filled row.  No other cell of the team's tab is touched."""
    for number, cells in rows.changed.items():
        for c, value in enumerate(cells, start=1):
            ws.cell(row=number, column=c).value = value
    last = ws.max_row
    while last > 1 and all(ws.cell(row=last, column=c).value in (None, "") for c in range(1, 5)):
        last -= 1
    for r, cells in enumerate(rows.added, start=last + 1):
        for c, value in enumerate(cells, start=1):
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"      # a metric named "=..." stays text
