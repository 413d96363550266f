"""The outcome forecast: a Theil–Sen line through the readings from start to
today, carried to the deadline; its Scorecard columns and `forecast_miss`.
Every expected figure below is worked out by hand in the comments."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from sync.core.assess.assessment import assess
from sync.core.outcomes import Outcome
from sync.core.assess.forecast import TOO_FEW, WILL_HIT, WILL_MISS, forecast, theil_sen
from sync.core.model import Reading, SheetInputs
from sync.core.present.report import HEADERS, build
from tests.conftest import NOW, make_config, ticket

START = date(2026, 10, 1)        # conftest's outcomes: 2026-10-01 .. 2026-12-31 (91 days)


def on(day: int, value: float, metric: str = "conv_rate", row: int | None = None) -> Reading:
    when = datetime(2026, 10, 1, 12, tzinfo=timezone.utc) + timedelta(days=day)
    return Reading(when, metric, value, row=row)


def conv(**kw) -> Outcome:
    data = dict(id="conv", name="Conversion", metric="conv_rate", baseline=6, target=8,
                start="2026-10-01", deadline="2026-12-31")
    data.update(kw)
    return Outcome.model_validate(data)


# y = 6 + 0.02·day on days 0, 10, 30, 40, and one odd reading of 20 on day 20.
LINE_AND_OUTLIER = [on(0, 6.0), on(10, 6.2), on(20, 20.0), on(30, 6.6), on(40, 6.8)]


def test_one_odd_reading_does_not_swing_the_line():
    # Pair slopes: six of 0.02 on the line; with the outlier (20-6)/20 = 0.7,
    # 13.8/10 = 1.38, (6.6-20)/10 = -1.34, (6.8-20)/20 = -0.66.  Median of the ten: 0.02.
    # Intercepts y - 0.02x: 6, 6, 19.6, 6, 6 → median 6.  At the deadline (day 91):
    # 6 + 0.02·91 = 7.82, short of 8; the line reaches 8 on day 100, after it.
    # (Least squares follows the outlier up: mean y 9.12, slope 20/1000 = 0.02,
    # intercept 9.12 - 0.4 = 8.72, so 10.54 at day 91: a "hit" the data does not support.)
    slope, intercept = theil_sen([(0, 6.0), (10, 6.2), (20, 20.0), (30, 6.6), (40, 6.8)])
    assert slope == pytest.approx(0.02) and intercept == pytest.approx(6.0)
    fc = forecast(conv(), LINE_AND_OUTLIER, NOW)
    assert fc.status == WILL_MISS
    assert fc.value == pytest.approx(7.82)
    assert fc.hits_on is None
    assert fc.readings == 5


def test_a_line_that_reaches_the_target_says_when():
    # y = 6 + 0.04·day on days 0, 14, 28, 42, 56: 9.64 at day 91; 8 on day 50.
    readings = [on(d, 6 + 0.04 * d) for d in (0, 14, 28, 42, 56)]
    fc = forecast(conv(), readings, NOW)
    assert fc.status == WILL_HIT
    assert fc.value == pytest.approx(9.64)
    assert fc.hits_on == START + timedelta(days=50) == date(2026, 11, 20)


def test_a_target_below_the_baseline_is_reached_from_above():
    # Churn from 5 down to 3: y = 5 - 0.03·day, 2.27 at day 91, 3 on day 66.67 → day 67.
    churn = conv(metric="churn", baseline=5, target=3)
    readings = [on(d, 5 - 0.03 * d, "churn") for d in (0, 20, 40, 50)]
    fc = forecast(churn, readings, NOW)
    assert fc.status == WILL_HIT
    assert fc.value == pytest.approx(2.27)
    assert fc.hits_on == START + timedelta(days=67)
    # Rising churn misses a falling target.
    rising = [on(d, 5 + 0.01 * d, "churn") for d in (0, 20, 40)]
    assert forecast(churn, rising, NOW).status == WILL_MISS
    assert forecast(churn, rising, NOW).hits_on is None


def test_three_readings_on_different_dates_are_needed():
    assert forecast(conv(), [on(0, 6), on(10, 7)], NOW).status == TOO_FEW
    # Three rows, two dates: the later row of day 10 counts once.
    same_day = [on(0, 6), on(10, 7, row=3), on(10, 7.5, row=4)]
    fc = forecast(conv(), same_day, NOW)
    assert (fc.status, fc.value, fc.readings) == (TOO_FEW, None, 2)


def test_only_readings_from_start_to_today_count():
    before_start = on(-5, 100.0)
    after_today = on((NOW.date() - START).days + 1, 100.0)
    line = [on(d, 6 + 0.04 * d) for d in (0, 14, 28)]
    assert forecast(conv(), line + [before_start, after_today], NOW) == forecast(conv(), line, NOW)


def test_the_latest_reading_of_a_day_is_the_one_used():
    # Day 10 read twice: 9.0 in the morning, 6.4 in the evening (later wins, as for Current).
    morning = Reading(datetime(2026, 10, 11, 8, tzinfo=timezone.utc), "conv_rate", 9.0)
    evening = Reading(datetime(2026, 10, 11, 20, tzinfo=timezone.utc), "conv_rate", 6.4)
    readings = [on(0, 6.0), evening, morning, on(20, 6.8)]
    fc = forecast(conv(), readings, NOW)
    # Points (0, 6), (10, 6.4), (20, 6.8): slope 0.04, 6 + 3.64 = 9.64 at day 91.
    assert fc.value == pytest.approx(9.64)


def _scorecard(readings):
    config = make_config()
    a = assess([ticket("T-1", labels=("onboarding-email",))], config, readings, NOW)
    report = build(a, SheetInputs(readings=readings), sources=["jira"],
                   history_every=config.review.history_every)
    table = report.table("Scorecard")
    return a, {row[0]: dict(zip(table.headers, row)) for row in table.rows}


def test_scorecard_columns_and_forecast_miss():
    assert HEADERS["Scorecard"][-3:] == ["Forecast", "Forecast status", "Hits target on"]
    rising = [on(d, 35 + 0.2 * d, "act_rate") for d in (0, 14, 28, 42)]   # 35 + 18.2 = 53.2
    a, rows = _scorecard(LINE_AND_OUTLIER + rising)
    assert (rows["conv"]["Forecast"], rows["conv"]["Forecast status"],
            rows["conv"]["Hits target on"]) == (7.82, "will miss", None)
    # act: 45 reached on day 50.
    assert (rows["act"]["Forecast"], rows["act"]["Forecast status"],
            rows["act"]["Hits target on"]) == (53.2, "will hit", "2026-11-20")
    misses = [w for w in a.warnings if w.kind == "forecast_miss"]
    assert [(w.severity, w.outcome_id) for w in misses] == [("medium", "conv")]
    assert "7.82" in misses[0].message and "2026-12-31" in misses[0].message


def test_too_few_readings_is_said_and_warns_nothing():
    a, rows = _scorecard([on(0, 6.0)])
    assert rows["conv"]["Forecast status"] == "too few readings"
    assert rows["conv"]["Forecast"] is None and rows["conv"]["Hits target on"] is None
    assert not [w for w in a.warnings if w.kind == "forecast_miss"]


def test_a_done_outcome_gets_no_forecast_miss():
    # Flat at 6 for three readings, then 8.2 today: the line misses (7.69) but
    # Current 8.2 is past the target, so the outcome is done and nothing warns.
    readings = [on(0, 6.0), on(10, 6.0), on(20, 6.0), on(56, 8.2)]
    a, rows = _scorecard(readings)
    assert rows["conv"]["Status"] == "done"
    assert rows["conv"]["Forecast status"] == "will miss"
    assert not [w for w in a.warnings if w.kind == "forecast_miss"]
