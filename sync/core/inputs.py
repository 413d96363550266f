"""What a sink reads back before it writes, as plain rows → `SheetInputs`.

Both sinks hand over the raw cell values of the Metrics, Tickets and History
tabs; parsing them lives here once: Metrics rows in any order with date
cells or ISO text, people's columns right of the Tickets table, the time of
the last History set.
"""
from __future__ import annotations

import math
import re
from datetime import date, datetime, timezone
from typing import Any, Iterable

from sync.core import choices as sheet_choices
from sync.core.model import Reading, SheetInputs
from sync.core.report import HEADERS


def parse_date(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


# Past this no metric is plausible, and (value - baseline) * 100 could overflow.
MAX_METRIC = 1e15

# A comma is a thousands separator only where it groups three digits
# (1,234.5); "40,5" could be 40.5 or 405, so it is not read as either.
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


def parse_number(value: Any) -> float | None:
    """A finite number from a cell: a number, or text such as `7.8`, `7.8%`, `1,234`."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) and abs(value) <= MAX_METRIC else None
    text = str(value).strip().removesuffix("%").strip()
    if "," in text:
        if not _GROUPED.match(text):
            return None
        text = text.replace(",", "")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) and abs(number) <= MAX_METRIC else None


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
                f"Value {row[2]!r} is not a number" if value is None else ""]
        if any(what):
            bad.append(f"Metrics row {number}: {'; '.join(w for w in what if w)}; row ignored")
            continue
        found.append(Reading(when, str(metric).strip(), value, str(row[3] or ""), number))
    return found, bad


def extra_columns(rows: list[list]) -> tuple[list[str], dict[str, list]]:
    """People's columns in the Tickets tab, keyed by ticket key.

    Normally they sit right of the owned table.  A column someone inserted
    among ours is found by its header: when every owned header is still
    there by name, any other named column is theirs, wherever it stands (it
    is kept, and written back right of the owned table).  When an owned
    header was edited, positions decide, as before, so the edited header is
    restored rather than kept as a column of its own."""
    if not rows:
        return [], {}
    owned_names = HEADERS["Tickets"]
    header = [str(h) if h is not None else "" for h in rows[0]]
    while header and header[-1] == "":
        header.pop()
    before = [h for h in owned_names if h != sheet_choices.HEADER]
    if sheet_choices.HEADER not in header and header[:len(before)] == before:
        # A tab written before `Set lever` existed: what stands in its place is a person's column.
        owned_names = before
    positions = [i for i in range(len(owned_names), len(header))]
    key_at = 0
    if header[:len(owned_names)] != owned_names and set(owned_names) <= set(header):
        first = {}
        for i, h in enumerate(header):
            first.setdefault(h, i)
        owned_at = {first[h] for h in owned_names}
        positions = [i for i in range(len(header)) if i not in owned_at and header[i] != ""]
        key_at = first["Key"]
    extra = [header[i] for i in positions]
    if not extra:
        return [], {}
    cells = {}
    for row in rows[1:]:
        row = list(row or ())
        key = row[key_at] if key_at < len(row) else None
        if key not in (None, ""):
            tail = [row[i] if i < len(row) else None for i in positions]
            if any(c not in (None, "") for c in tail):
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
