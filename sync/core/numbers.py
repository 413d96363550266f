"""Numbers that come from outside, read in one place: a tracker's numeric
field, a sheet or seed cell, an estimate a figure rests on.  As for dates
(sync.core.values), each reader returns the number, None for a blank, or
raises `Unreadable` saying why; an estimate refused is said, never blanked.
"""
from __future__ import annotations

import math
import re
from typing import Any

from sync.core.values import Unreadable, quoted, shown

# Past this no metric is plausible, and (value - baseline) * 100 could overflow.
MAX_METRIC = 1e15
# Past this no estimate is plausible, and effort sums could overflow.
MAX_ESTIMATE = 1e6

# A comma is a thousands separator only where it groups three digits
# (1,234.5); "40,5" could be 40.5 or 405, so it is not read as either.
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


def _text_number(text: str) -> float:
    """Numeric text (`7.8`, `1,234.5`), finite; raises Unreadable."""
    cleaned = text.strip()
    if "," in cleaned:
        if not _GROUPED.match(cleaned):
            raise Unreadable(f"{quoted(text)} is not a number (a comma counts only between groups "
                             "of three digits, as in 1,234.5)")
        cleaned = cleaned.replace(",", "")
    try:
        number = float(cleaned)
    except ValueError:
        raise Unreadable(f"{quoted(text)} is not a number") from None
    if not math.isfinite(number):
        raise Unreadable(f"{quoted(text)} is not a finite number")
    return number


def number(value: Any) -> float | None:
    """A tracker's numeric field: a number, numeric text, or an option
    (`{"value": "5"}`) whose value is numeric.  None when blank."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Unreadable(f"{shown(value)} is not a number")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise Unreadable(f"{quoted(value)} is not a finite number")
        return float(value)
    if isinstance(value, dict):
        return number(value.get("value"))
    if isinstance(value, str):
        return _text_number(value) if value.strip() else None
    raise Unreadable(f"{shown(value)} is not a number")


_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")


def parse_number(value: Any, decimal_comma: bool = False) -> float | None:
    """A number from a sheet or seed cell: a number, or text such as `7.8`,
    `7.8%`, `1,234`; None when it is blank, unreadable, or past ±1e15.
    `decimal_comma` (a file separated by semicolons): `6,5` is 6.5."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        value = value.strip().removesuffix("%").strip()
        if decimal_comma and _DECIMAL_COMMA.match(value):
            value = value.replace(",", ".")
    try:
        found = number(value)
    except Unreadable:
        return None
    return found if found is not None and abs(found) <= MAX_METRIC else None


def estimate(value: Any, field: str = "estimate") -> tuple[float | None, str | None]:
    """An estimate a figure may rest on, or None and the reason it was
    refused (a `bad_data` problem).  NaN would blank every effort sum it
    reaches, a negative one would push percentages past 100, 1e308 would
    make every sum infinite: all are counted as no estimate, and said."""
    if (value.__class__ is int or value.__class__ is float) and 0 <= value <= MAX_ESTIMATE:
        return float(value), None               # the usual case; NaN fails the bounds
    return checked_estimate(value, field)


def checked_estimate(value: Any, field: str = "estimate") -> tuple[float | None, str | None]:
    """`estimate` without its shortcut for a plain number (each path is tested against the other)."""
    try:
        found = number(value)
    except Unreadable as exc:
        return None, f"{field}: {exc}; counted as no estimate"
    if found is None:
        return None, None
    if found < 0:
        return None, f"{field}: {found:g} is below 0; counted as no estimate"
    if found > MAX_ESTIMATE:
        return None, f"{field}: {found:g} is past {MAX_ESTIMATE:g}; counted as no estimate"
    return found, None
