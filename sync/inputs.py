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

from .model import Reading, SheetInputs
from .report import HEADERS


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


# A comma is a thousands separator only where it groups three digits
# (1,234.5); "40,5" could be 40.5 or 405, so it is not read as either.
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


def parse_number(value: Any) -> float | None:
    """A finite number from a cell: a number, or text such as `7.8`, `7.8%`, `1,234`."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    text = str(value).strip().removesuffix("%").strip()
    if "," in text:
        if not _GROUPED.match(text):
            return None
        text = text.replace(",", "")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


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
    """People's columns right of the owned Tickets table, keyed by ticket key."""
    if not rows:
        return [], {}
    owned = len(HEADERS["Tickets"])
    header = list(rows[0])
    while header and header[-1] in (None, ""):
        header.pop()
    extra = [str(h) if h is not None else "" for h in header[owned:]]
    if not extra:
        return [], {}
    cells = {}
    for row in rows[1:]:
        if row and row[0] not in (None, ""):
            tail = (list(row[owned:]) + [None] * len(extra))[:len(extra)]
            if any(c not in (None, "") for c in tail):
                cells[str(row[0])] = tail
    return extra, cells


def history(rows: list[list]) -> list[list]:
    """History rows (header excluded) whose timestamp reads, in sheet order."""
    return [list(r) for r in rows if r and parse_date(r[0]) is not None]


def gather(metrics: list[list], tickets: list[list], history_rows: list[list]) -> SheetInputs:
    found, bad = readings(metrics)
    headers, cells = extra_columns(tickets)
    past = history(history_rows)
    last = max((parse_date(r[0]) for r in past), default=None)
    return SheetInputs(found, headers, cells, last, past, bad)
