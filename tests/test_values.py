"""sync/core/values.py and numbers.py: every date and number from outside, read one way."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from sync.core.numbers import estimate, number, parse_number
from sync.core.values import (Unreadable, day_order, export_date, future, parse_date, read_time,
                              serial_date, timestamp)

UTC = timezone.utc


@pytest.mark.parametrize("raw, expected", [
    ("2024-12-13T22:51:23.858+0200", datetime(2024, 12, 13, 20, 51, 23, 858000, UTC)),   # Jira
    ("2026-11-24T10:00:00.000Z", datetime(2026, 11, 24, 10, tzinfo=UTC)),                # Trello
    (1764669600000, datetime(2025, 12, 2, 10, tzinfo=UTC)),                              # epoch ms
    ("1764669600000", datetime(2025, 12, 2, 10, tzinfo=UTC)),
    (1764669600, datetime(2025, 12, 2, 10, tzinfo=UTC)),                                 # epoch s
    ("9999-12-31T00:00:00Z", datetime(9999, 12, 31, tzinfo=UTC)),     # read; `future` judges it
    (None, None), ("", None),
])
def test_tracker_times(raw, expected):
    assert timestamp(raw) == expected


@pytest.mark.parametrize("raw, said", [
    ("2026-02-29", "day is out of range for month"), ("not a date", "'not a date' is not a date"),
    (12345, "10 digits, or milliseconds, 13 digits"), (-1764669600000, "13 digits"),
    ("9999-12-31T23:00:00-0200", "out of range"), ("1960-01-01", "before 1970"),
    (True, "bool True is not a date"), (math.nan, "is not a date"), ({"x": 1}, "dict"),
])
def test_unreadable_tracker_times_say_why(raw, said):
    with pytest.raises(Unreadable, match=None) as err:
        timestamp(raw)
    assert said in str(err.value)


@pytest.mark.parametrize("text, order, expected", [
    ("24/Nov/26 10:00 AM", None, datetime(2026, 11, 24, 10, tzinfo=UTC)),
    ("24/Nov/26 12:15 AM", None, datetime(2026, 11, 24, 0, 15, tzinfo=UTC)),
    ("24/nov/2026 3:05 PM", None, datetime(2026, 11, 24, 15, 5, tzinfo=UTC)),
    ("24/Sept/26", None, datetime(2026, 9, 24, tzinfo=UTC)),
    ("24/dez/26 10:00", None, datetime(2026, 12, 24, 10, tzinfo=UTC)),     # a Portuguese export
    ("03/juil./2026", None, datetime(2026, 7, 3, tzinfo=UTC)),             # French: July, not June
    ("03/März/2026", None, datetime(2026, 3, 3, tzinfo=UTC)),
    ("24.11.2026 10:00", None, datetime(2026, 11, 24, 10, tzinfo=UTC)),
    ("03.04.2026", "mdy", datetime(2026, 4, 3, tzinfo=UTC)),         # dots: day first always
    ("24/11/2026 10:00", None, datetime(2026, 11, 24, 10, tzinfo=UTC)),
    ("11/24/2026 10:00", None, datetime(2026, 11, 24, 10, tzinfo=UTC)),
    ("03/04/2026", "dmy", datetime(2026, 4, 3, tzinfo=UTC)),
    ("03/04/2026", "mdy", datetime(2026, 3, 4, tzinfo=UTC)),
    ("04/04/2026", None, datetime(2026, 4, 4, tzinfo=UTC)),           # either way the same day
    ("2026-11-24 15:30", None, datetime(2026, 11, 24, 15, 30, tzinfo=UTC)),
    ("2026/11/24 15:30", None, datetime(2026, 11, 24, 15, 30, tzinfo=UTC)),
    ("  ", None, None),
])
def test_export_dates(text, order, expected):
    assert export_date(text, order) == expected


@pytest.mark.parametrize("text, said", [
    ("03/04/2026", "could be 3 April or 4 March"), ("31/Feb/26", "day is out of range"),
    ("24/Foo/26", "unknown month 'Foo'"), ("13/13/2026", "month must be in 1..12"),
    ("24/Nov/26 13:00 PM", "hour 13 with AM/PM"), ("yesterday", "'yesterday' is not a date"),
    ("2026/02/30", "'2026/02/30' is not a date (day is out of range"), ("1960/01/01", "is before 1970"),
])
def test_unreadable_export_dates(text, said):
    with pytest.raises(Unreadable) as err:
        export_date(text)
    assert said in str(err.value)


def test_the_day_order_is_what_the_other_dates_show():
    assert day_order(["03/04/2026", "24/11/2026 10:00"]) == "dmy"
    assert day_order(["03/04/2026", "11/24/2026"]) == "mdy"
    assert day_order(["03/04/2026", "24.11.2026", "24/Nov/26"]) is None
    assert day_order(["11/24/2026", "24/11/2026"]) is None               # they disagree: refuse


def test_future_is_past_tomorrow():
    now = datetime(2026, 11, 26, 9, tzinfo=UTC)
    assert not future(now + timedelta(hours=23), now) and future(now + timedelta(days=2), now)
    assert not future(None, now)


@pytest.mark.parametrize("raw, expected", [(3, 3.0), ("2.5", 2.5), ({"value": "8"}, 8.0),
                                           ("1,234", 1234.0), (None, None), ("", None)])
def test_tracker_numbers(raw, expected):
    assert number(raw) == expected


@pytest.mark.parametrize("raw", ["1,5", "abc", "NaN", math.inf, True, [1]])
def test_unreadable_tracker_numbers(raw):
    with pytest.raises(Unreadable):
        number(raw)


@pytest.mark.parametrize("raw, value, problem", [
    (3, 3.0, None), ("lots", None, "'lots' is not a number"), (-1, None, "-1 is below 0"),
    (2e6, None, "2e+06 is past 1e+06"), ("inf", None, "'inf' is not a finite number"),
])
def test_estimates(raw, value, problem):
    got, said = estimate(raw, "estimate `customfield_10016`")
    assert got == value
    assert said == (None if problem is None else
                    f"estimate `customfield_10016`: {problem}; counted as no estimate")


def test_sheet_cells():
    assert parse_number("6,5", decimal_comma=True) == 6.5 and parse_number("6,5") is None
    assert parse_number("7.8 %") == 7.8 and parse_number(1e16) is None
    assert parse_date("2026-11-20") == datetime(2026, 11, 20, tzinfo=UTC)
    assert parse_date("20/11/2026") is None                # Metrics dates: date cells or ISO text
    assert serial_date(46349) == datetime(2026, 11, 23, tzinfo=UTC)
    assert serial_date(1e12) == 1e12 and parse_date(serial_date(1e12)) is None   # no OverflowError


@pytest.mark.parametrize("raw", ["2024-12-13T22:51:23.858+0200", "2026-11-24T10:00:00Z", "2026-11-24",
                                 "1969-12-31T23:00:00Z", "9999-12-31T23:00:00-0200", "2026-02-29",
                                 "1764669600000", 1764669600, None, "", "x"])
def test_the_quick_time_reader_agrees_with_the_general_one(raw):
    problems: list[str] = []
    try:
        expected, said = timestamp(raw), []
    except Unreadable as exc:
        expected, said = None, [f"`updated`: {exc}; taken as never updated"]
    assert read_time(raw, "`updated`", problems, "taken as never updated") == expected
    assert problems == said
