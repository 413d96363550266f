"""Dates that come from outside, read in one place (numbers: sync.core.numbers).

Tracker payloads (Jira JSON, Trello boards), Jira CSV exports, sheet cells
and seed files all hand over dates and numbers as someone else wrote them.
Each reader here (and in sync.core.numbers) either returns the value, None for a blank, or raises
`Unreadable` saying why in words a person can act on; the connector turns
that into a `bad_data` problem on the ticket, so no unreadable value ever
becomes a silent blank.  Whether a date lies in the future depends on the
sync's `now` and is judged in the core (`future`), never here.
"""
from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable

# Before this no tracker held a ticket; a date earlier than it is a broken value.
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
# A date past tomorrow is a typo (2062 for 2026) or a broken clock, not fresh.
FUTURE_SLACK = timedelta(days=1)


class Unreadable(ValueError):
    """A value that is there but cannot be read as asked; `str()` says why."""


def as_utc(value: date | datetime) -> datetime:
    """A date or datetime as an aware UTC datetime (naive ones are taken as UTC)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)


def future(when: datetime | None, now: datetime) -> bool:
    """Whether a date lies past tomorrow, as seen at `now`."""
    return when is not None and when > now + FUTURE_SLACK


def _iso(text: str) -> datetime:
    """ISO 8601 text, in UTC; raises ValueError (or OverflowError at year 1 / 9999)."""
    parsed = datetime.fromisoformat(text)
    return parsed.astimezone(timezone.utc) if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def parse_date(value: Any) -> datetime | None:
    """A sheet cell's date (a date cell or ISO text), in UTC; None when it is
    blank or anything else (the caller says which row it skipped)."""
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, date):
        return as_utc(value)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return _iso(value.strip())
    except (ValueError, OverflowError):
        return None


_SERIAL_ZERO = datetime(1899, 12, 30, tzinfo=timezone.utc)     # spreadsheets' serial day 0


def serial_date(value: Any) -> Any:
    """A date cell Sheets returns as serial days (SERIAL_NUMBER), as a date;
    anything else, a serial past year 9999 included, as it came (the row
    reader then names it as no date)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        try:
            return _SERIAL_ZERO + timedelta(days=value)
        except OverflowError:
            return value
    return value


def _epoch(number: float, shown: str) -> datetime:
    """Epoch seconds (10 digits) or milliseconds (13 digits) — the two a
    tracker sends; any other size could be either, so it is not guessed."""
    digits = len(str(int(abs(number))))
    if number < 0 or digits not in (10, 13):
        raise Unreadable(f"{shown} is not a date (a number counts only as epoch seconds, "
                         "10 digits, or milliseconds, 13 digits)")
    return datetime.fromtimestamp(number / 1000 if digits == 13 else number, timezone.utc)


def _checked(when: datetime, shown: str) -> datetime:
    if when < EARLIEST:
        raise Unreadable(f"{shown} is before 1970")
    return when


def timestamp(value: Any) -> datetime | None:
    """A tracker's time (Jira `updated`, Trello `dateLastActivity`), in UTC:
    ISO 8601 text with any offset, or epoch seconds or milliseconds as a
    number or digits.  None when blank; `Unreadable` otherwise."""
    if value is None or value == "":
        return None
    if value.__class__ is str:
        try:           # the usual case first: C-fast, and reads Jira's +0200 offsets
            when = _iso(value)
        except (ValueError, OverflowError) as exc:
            text = value.strip()
            if text.isascii() and text.isdigit() and len(text) in (10, 13):
                return _checked(_epoch(int(text), quoted(value)), quoted(value))
            if not text:
                return None
            reason = "out of range" if isinstance(exc, OverflowError) else str(exc)
            if reason.startswith("Invalid isoformat"):
                raise Unreadable(f"{quoted(value)} is not a date") from None
            raise Unreadable(f"{quoted(value)} is not a date ({reason})") from None
        return _checked(when, quoted(value))
    # An int is finite however long (math.isfinite would overflow on 4,000 digits).
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or (isinstance(value, float) and not math.isfinite(value)):
        raise Unreadable(f"{shown(value)} is not a date")
    return _checked(_epoch(value, quoted(value)), quoted(value))


def timestamp_or_none(value: Any) -> datetime | None:
    """`timestamp`, with an unreadable value as None: for times only
    compared, never shown (the newest `updated` of a page, as a cursor)."""
    try:
        return timestamp(value)
    except Unreadable:
        return None


def read_time(value: Any, field: str, problems: list[str], when_blank: str) -> datetime | None:
    """`timestamp` for a ticket's field: an unreadable value is None and a
    line in `problems` naming the field and what the ticket is taken as."""
    if value is None:
        return None
    if value.__class__ is str:       # the usual Jira/Trello time, without the general path's calls
        try:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(timezone.utc)
                if parsed >= EARLIEST:
                    return parsed
        except (ValueError, OverflowError):
            pass                     # the general path says why
    try:
        return timestamp(value)
    except Unreadable as exc:
        problems.append(f"{field}: {exc}; {when_blank}")
        return None


_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
# What Jira writes into a CSV export, in the exporting user's format:
# 24/Nov/26 10:00 AM (its default), 24.11.2026 10:00, 11/24/2026 10:00, ...
_EXPORT = re.compile(r"""^(\d{1,2})([./-])(\d{1,2}|[^\W\d_]{3,9}\.?)\2(\d{4}|\d{2})
                         (?:[ T,]+(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?\s*(?:([AaPp])\.?[Mm]\.?)?)?\s*$""",
                     re.X)

_YMD = re.compile(r"^(\d{4})([/.])(\d{1,2})\2(\d{1,2})((?:[ T]\d{2}:\d{2}(?::\d{2})?)?)$")


# How month names start in the languages Jira exports in (English, Portuguese,
# Spanish, French, German, Italian): `dez` is December, `juin` June, `juil` July.
_MONTH_STARTS = {"jan": 1, "ene": 1, "gen": 1, "feb": 2, "fev": 2, "fév": 2, "mar": 3, "mär": 3,
                 "mrz": 3, "apr": 4, "abr": 4, "avr": 4, "may": 5, "mai": 5, "mag": 5, "jun": 6,
                 "juin": 6, "giu": 6, "jul": 7, "juil": 7, "lug": 7, "aug": 8, "ago": 8, "aoû": 8,
                 "aou": 8, "sep": 9, "set": 9, "oct": 10, "out": 10, "okt": 10, "ott": 10,
                 "nov": 11, "dec": 12, "dez": 12, "dic": 12, "déc": 12}


def _month(name: str) -> int | None:
    name = name.rstrip(".").lower()
    found = [start for start in _MONTH_STARTS if name.startswith(start)]
    return _MONTH_STARTS[max(found, key=len)] if found else None


def day_order(texts: Iterable[str]) -> str | None:
    """`dmy` or `mdy` for the numeric dates of one export (03/04/2026), as
    its other dates show it: 24/11/2026 can only be day first, 11/24/2026
    only month first.  None when no date decides, or when they disagree."""
    seen = set()
    for text in texts:
        match = _EXPORT.match(text or "")
        if match and match[2] != "." and match[3].isdigit():
            first, second = int(match[1]), int(match[3])
            if first > 12 >= second:
                seen.add("dmy")
            elif second > 12 >= first:
                seen.add("mdy")
    return seen.pop() if len(seen) == 1 else None


def export_date(text: str | None, order: str | None = None) -> datetime | None:
    """A date from a Jira CSV export, in UTC (the export carries no zone: it
    is read as UTC).  ISO text, epoch digits, Jira's `24/Nov/26 10:00 AM`,
    dotted day-first `24.11.2026 10:00`, and numeric `03/04/2026` read in the
    export's `order` (`day_order`); a numeric date the order does not decide
    is refused rather than guessed."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    ymd = _YMD.match(text)
    if ymd:              # 2026/11/24 10:00 (an East Asian locale): ISO but for its separators
        try:
            when = _iso(f"{ymd[1]}-{int(ymd[3]):02d}-{int(ymd[4]):02d}{ymd[5]}")
        except ValueError as exc:
            raise Unreadable(f"{quoted(text)} is not a date ({exc})") from None
        return _checked(when, quoted(text))
    match = _EXPORT.match(text)
    if match is None:
        return timestamp(text)
    first, sep, middle, year, hour, minute, second, half = match.groups()
    if middle.isdigit():
        day, month = int(first), int(middle)
        if sep != ".":       # dotted dates are day first everywhere they are used
            a, b = day, month
            decided = order or ("dmy" if a > 12 else "mdy" if b > 12 else None)
            if decided is None and a != b and a and b:
                raise Unreadable(f"{quoted(text)} could be {a} {_MONTHS[b - 1].title()} or "
                                 f"{b} {_MONTHS[a - 1].title()}, and no other date of the "
                                 "export shows whether the day or the month comes first")
            if decided == "mdy":
                day, month = b, a
    else:
        day, month = int(first), _month(middle)
        if month is None:
            raise Unreadable(f"{quoted(text)} is not a date (unknown month {middle!r})")
    years = int(year) if len(year) == 4 else 2000 + int(year) if int(year) < 69 else 1900 + int(year)
    hours, minutes, seconds = int(hour or 0), int(minute or 0), int(second or 0)
    if half:
        if not 1 <= hours <= 12:
            raise Unreadable(f"{quoted(text)} is not a date (hour {hours} with AM/PM)")
        hours = hours % 12 + (12 if half.lower() == "p" else 0)
    try:
        when = datetime(years, month, day, hours, minutes, seconds, tzinfo=timezone.utc)
    except ValueError as exc:
        raise Unreadable(f"{quoted(text)} is not a date ({exc})") from None
    return _checked(when, quoted(text))


def quoted(value: Any) -> str:
    """A value quoted for a message, cut short: a message is one line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def shown(value: Any) -> str:
    text = quoted(value)
    return f"{type(value).__name__} {text[:40]}{'…' if len(text) > 40 else ''}"
