"""What a sink reads back before it writes, as plain rows → `SheetInputs`.

Both sinks hand over the raw cell values of the Metrics, Tickets and History
tabs; parsing them lives here once: Metrics rows in any order with date
cells or ISO text, people's columns right of the Tickets table, the time of
the last History set.
"""
from __future__ import annotations

import math
from typing import Iterable

from sync.core.assess import choices as sheet_choices
from sync.core.model import Reading, SheetInputs
from sync.core.present.report import HEADERS
from sync.core.numbers import MAX_METRIC, parse_number
from sync.core.values import parse_date


def readings(rows: Iterable[list]) -> tuple[list[Reading], list[str]]:
    """Metrics rows (header excluded) → readings, and one line per row that
    could not be read (shown as `bad_metric` warnings, not dropped quietly)."""
    found, bad = [], []
    for number, row in enumerate(rows, start=2):
        row = list(row) + [None] * 4
        if all(c in (None, "") for c in row[:3]):
            continue
        when, metric, value = parse_date(row[0]), row[1], parse_number(row[2])
        what = [f"Date {row[0]!r} is not a date" if when is None else "",
                "Metric is blank" if not metric else "",
                "" if value is not None else "Value is blank" if row[2] in (None, "") else
                f"Value {row[2]!r} is past ±{MAX_METRIC:g}" if _too_big(row[2]) else
                f"Value {row[2]!r} is not a number"]
        if any(what):
            bad.append(f"Metrics row {number}: {'; '.join(w for w in what if w)}; row ignored")
            continue
        found.append(Reading(when, str(metric).strip(), value, str(row[3] or ""), number))
    return found, bad


def computed(metrics: list[list]) -> bool:
    """Whether a Metrics row holds a formula in Date, Metric or Value: then
    the sink reads the tab again for the results (a `=TODAY()` date or a
    `=B2` metric name counts as much as a computed value)."""
    return any(isinstance(v, str) and v.startswith("=") for row in metrics for v in row[:3])


def _blank(value) -> bool:
    return value is None or value == ""


def _too_big(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and abs(value) > MAX_METRIC


def extra_columns(rows: list[list]) -> tuple[list[str], dict[str, list]]:
    """People's columns in the Tickets tab, keyed by ticket key.

    Normally they sit right of the owned table, with a header or without
    one: a column is theirs as soon as any cell of it holds something (a
    note typed into a headerless column is kept like a headed one, its
    header staying blank).  A column someone inserted among ours is found by
    its header: when every owned header is still there by name, any other
    column with a header or a cell is theirs, wherever it stands (it is
    kept, and written back right of the owned table).  When an owned header
    was edited, positions decide, as before, so the edited header is
    restored rather than kept as a column of its own."""
    if not rows:
        return [], {}
    owned_names = HEADERS["Tickets"]
    width = 0                         # up to the last cell that holds anything, in any row
    for row in rows:
        n = len(row or ())
        while n > width and _blank(row[n - 1]):
            n -= 1
        width = max(width, n)
    header = [str(h) if h is not None else "" for h in rows[0]][:width]
    header += [""] * (width - len(header))
    before = [h for h in owned_names if h != sheet_choices.HEADER]
    if sheet_choices.HEADER not in header and header[:len(before)] == before:
        # A tab written before `Set lever` existed: what stands in its place is a person's column.
        owned_names = before
    positions = list(range(len(owned_names), width))
    key_at = 0
    if header[:len(owned_names)] != owned_names and set(owned_names) <= set(header):
        first = {}
        for i, h in enumerate(header):
            first.setdefault(h, i)
        owned_at = {first[h] for h in owned_names}
        used = {i for row in rows[1:] for i, v in enumerate(row or ()) if not _blank(v)}
        positions = [i for i in range(width) if i not in owned_at and (header[i] != "" or i in used)]
        key_at = first["Key"]
    extra = [header[i] for i in positions]
    if not extra:
        return [], {}
    cells = {}
    for row in rows[1:]:
        row = list(row or ())
        key = row[key_at] if key_at < len(row) else None
        if not _blank(key):
            tail = [row[i] if i < len(row) else None for i in positions]
            if any(not _blank(c) for c in tail):
                cells[str(key)] = tail
    return extra, cells


def history(rows: list[list]) -> list[list]:
    """History rows (header excluded) whose timestamp reads, in sheet order."""
    # A blank read back ("") is a blank, not text: Trend would write it as an empty string.
    return [[None if v == "" else v for v in r] for r in rows if r and parse_date(r[0]) is not None]


def gather(metrics: list[list], tickets: list[list], history_rows: list[list],
           review_rows: list[list] = ()) -> SheetInputs:
    found, bad = readings(metrics)
    headers, cells = extra_columns(tickets)
    past = history(history_rows)
    last = max((parse_date(r[0]) for r in past), default=None)
    width = len(HEADERS["Review"])
    review = [[None if v == "" else v for v in (list(r) + [None] * width)[:width]]
              for r in review_rows if r and r[0] not in (None, "")]
    return SheetInputs(found, headers, cells, last, past, review, bad,
                       sheet_choices.cells(tickets))
