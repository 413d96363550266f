"""The workbook's two charts, drawn by openpyxl: Scorecard's progress
against time elapsed (bars), and Trend's History curve (lines), each on a
0-100 % axis widened to whole tens and labelled by text, not serial numbers.
"""
from __future__ import annotations

import math
from datetime import timezone
from typing import TYPE_CHECKING

from sync.core.present.report import HEADERS
from sync.core.values import parse_date

if TYPE_CHECKING:
    from openpyxl import Workbook


def draw_charts(wb: Workbook) -> None:
    """Progress vs time elapsed on Scorecard; the History trend on Trend."""
    # lazy: openpyxl (about 0.2 s to import) loads only when an xlsx workbook is read or written
    from openpyxl.chart import BarChart, LineChart, Reference
    ws = wb["Scorecard"]
    n = ws.max_row
    if n >= 2:
        chart = BarChart()
        chart.title = "Progress vs time elapsed"
        chart.y_axis.title = "%"
        heads = HEADERS["Scorecard"]
        cols = [heads.index(name) + 1 for name in ("Progress %", "Time elapsed %")]
        for col in cols:
            chart.add_data(Reference(ws, min_col=col, min_row=1, max_row=n), titles_from_data=True)
        _text_categories(chart, ws, n)
        _percent_axis(chart, [ws.cell(row=r, column=c).value for r in range(2, n + 1) for c in cols])
        chart.width, chart.height = 18, 8
        ws.add_chart(chart, f"A{n + 3}")
    ws = wb["Trend"]
    if ws.max_row >= 2:
        _short_dates(ws)
        chart = LineChart()
        chart.title = "History: progress and aligned effort"
        chart.y_axis.title = "%"
        chart.add_data(Reference(ws, min_col=2, max_col=ws.max_column, min_row=1,
                                 max_row=ws.max_row), titles_from_data=True)
        for series in chart.series:
            series.smooth = False          # a smoothed line overshoots the weekly points
        _text_categories(chart, ws, ws.max_row)
        _percent_axis(chart, [c.value for row in ws.iter_rows(min_row=2, min_col=2) for c in row])
        chart.width, chart.height = 18, 8
        ws.add_chart(chart, f"A{ws.max_row + 3}")


def _text_categories(chart, ws, last_row: int) -> None:
    """Column A (outcome ids, dates as text) as the x axis labels: a string
    reference, or Excel numbers the points 1, 2, 3 instead of naming them."""
    # lazy: openpyxl (about 0.2 s to import) loads only when an xlsx workbook is read or written
    from openpyxl.chart.data_source import AxDataSource, StrRef
    for series in chart.series:
        series.cat = AxDataSource(strRef=StrRef(f"'{ws.title}'!$A$2:$A${last_row}"))


def _percent_axis(chart, values: list) -> None:
    """0–100, widened to whole tens when a value falls outside (a metric that
    went the wrong way, an outcome past its target)."""
    numbers = [v for v in values if isinstance(v, (int, float))]
    chart.y_axis.scaling.min = min([0] + [math.floor(v / 10) * 10 for v in numbers])
    chart.y_axis.scaling.max = max([100] + [math.ceil(v / 10) * 10 for v in numbers])
    chart.y_axis.majorUnit = 20
    chart.y_axis.delete = False
    chart.x_axis.delete = False


def _short_dates(ws) -> None:
    """Trend's timestamps, the chart's axis labels, as short ISO text: the
    date (`2026-11-26`), or date and time when a day holds several sets.
    Still text, as every date in the sheet; History keeps the full stamps."""
    cells = [row[0] for row in ws.iter_rows(min_row=2, max_col=1)]
    found = [parse_date(c.value) if isinstance(c.value, str) else None for c in cells]
    if not cells or any(f is None for f in found):
        return
    found = [f.astimezone(timezone.utc) for f in found]
    days = [f.date() for f in found]
    form = "%Y-%m-%d" if len(set(days)) == len(days) else "%Y-%m-%d %H:%M"
    for cell, when in zip(cells, found):
        cell.value = when.strftime(form)
