"""Flow: throughput, WIP, lead time and the Monte Carlo Done-by date, against
counts made by hand; done dates for trackers without one; the Flow tab."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from sync.core.assess.assessment import assess
from sync.core.assess.flow import TRIALS, weeks_to_finish
from sync.core.model import SheetInputs
from sync.core.present.report import HEADERS, OWNED, build
from sync.worker import done_stamps
from sync.worker.state import State
from connectors.trello.board import board_tickets
from tests.conftest import NOW, fixture, make_config, ticket

DAY = timedelta(days=1)


def done(key: str, *, ago: float, lead: float | None = None, **kw):
    at = NOW - ago * DAY
    return ticket(key, done=True, status="Done", done_at=at,
                  created=at - lead * DAY if lead is not None else None, **kw)


def hand_counted():
    email, pricing = {"labels": ("onboarding-email",)}, {"components": ("Pricing",)}
    return [
        done("E-1", ago=2, lead=18, **email),           # week 0
        done("E-2", ago=10, lead=20, **email),          # week 1
        done("E-3", ago=9, lead=5, **email),            # week 1
        done("E-4", ago=70, lead=3, **email),           # before the 8-week window: not counted
        ticket("E-5", in_progress=True, **email),
        ticket("E-6", status="To Do", **email),
        done("P-1", ago=3, lead=9, **pricing),
        ticket("P-2", in_progress=True, **pricing),
        done("U-1", ago=1, lead=2, labels=("misc",)),   # unmapped: the team's row only
        ticket("U-2", in_progress=True, labels=("misc",)),
        done("S-1", ago=1, lead=1, type="Sub-task", **email),   # ignored: in no row
    ]


def rows_of(tickets, workspace="growth", now=NOW, **config):
    a = assess(tickets, make_config(**config), [], now, workspace=workspace)
    return {(r.outcome_id, r.lever_id): r for r in a.flow}, a


def figures(row) -> tuple:
    return row.throughput, row.wip, row.lead_median, row.lead_p85, row.open


def test_figures_match_hand_counts():
    rows, _ = rows_of(hand_counted())
    # emails: 3 done in 8 weeks; leads 5, 18, 20: median 18, 85th 18 + 0.7·(20 - 18) = 19.4.
    assert figures(rows[("conv", "emails")]) == (0.4, 1, 18, 19.4, 2)
    assert figures(rows[("conv", "pricing")]) == (0.1, 1, 9, 9, 1)
    # conv: 4 done; leads 5, 9, 18, 20: median 13.5, 85th at rank 2.55 → 18 + 0.55·2 = 19.1.
    assert figures(rows[("conv", "")]) == (0.5, 2, 13.5, 19.1, 3)
    # team: 5 done (the unmapped one too); leads 2, 5, 9, 18, 20: median 9, 85th 18 + 0.4·2 = 18.8.
    assert figures(rows[("*", "")]) == (0.6, 3, 9, 18.8, 4)
    act = rows[("act", "")]
    assert (act.throughput, act.wip, act.lead_median, act.open, act.done_by) == (0, 0, None, 0, None)


def test_the_tab_lists_outcome_then_levers_then_team():
    rows, a = rows_of(hand_counted())
    report = build(a, SheetInputs(), sources=["jira"], history_every=timedelta(days=1))
    table = report.table("Flow")
    assert "Flow" in OWNED and table.headers == HEADERS["Flow"] == [
        "Outcome ID", "Lever ID", "Throughput per week", "WIP", "Lead time median (days)",
        "Lead time 85th percentile (days)", "Open tickets", "Done by (85%)"]
    assert [(r[0], r[1]) for r in table.rows] == [
        ("conv", None), ("conv", "emails"), ("conv", "pricing"),
        ("act", None), ("act", "wizard"), ("act", "docs"), ("*", None)]


def steady(open_count: int, per_week: int = 2):
    """`per_week` done in each of the last 8 weeks, and `open_count` open, on lever emails."""
    email = {"labels": ("onboarding-email",)}
    out = [done(f"D-{w}-{i}", ago=7 * w + 1, lead=4, **email)
           for w in range(8) for i in range(per_week)]
    return out + [ticket(f"O-{i}", **email) for i in range(open_count)]


def test_constant_weekly_throughput_gives_a_deterministic_date():
    # Every trial draws 2 a week: 6 open tickets take exactly 3 weeks, 7 take 4.
    rows, _ = rows_of(steady(6))
    assert rows[("conv", "emails")].throughput == 2
    assert rows[("conv", "emails")].done_by == NOW.date() + timedelta(weeks=3) == date(2026, 12, 17)
    rows, _ = rows_of(steady(7))
    assert rows[("conv", "emails")].done_by == date(2026, 12, 24)


def test_no_open_ticket_is_done_today_and_no_done_ticket_is_blank():
    rows, _ = rows_of(steady(0))
    assert rows[("conv", "emails")].done_by == NOW.date()
    rows, _ = rows_of([ticket("O-1", labels=("onboarding-email",))])
    assert rows[("conv", "emails")].done_by is None


def test_two_syncs_of_one_day_agree():
    uneven = hand_counted() + [ticket(f"X-{i}", labels=("onboarding-email",)) for i in range(9)]
    morning, _ = rows_of(uneven, now=NOW.replace(hour=6))
    evening, _ = rows_of(uneven, now=NOW.replace(hour=18))
    assert morning[("conv", "emails")].done_by == evening[("conv", "emails")].done_by
    assert [r.done_by for r in morning.values()] == [r.done_by for r in evening.values()]


def test_the_monte_carlo_draws_from_the_window_weeks():
    # Weeks of 0 and 4: half the weeks do nothing.  8 open need two busy weeks.
    # P(done within n weeks) = 1 - (n + 1)/2^n: 0.8125 for 5, 0.89 for 6, so the
    # 85th percentile of 10,000 trials is 6 weeks.
    weeks = weeks_to_finish([0, 4] * 4, 8, "seed")
    assert weeks == 6
    assert weeks_to_finish([0] * 8, 3, "seed") is None
    assert weeks_to_finish([1] + [0] * 7, 10_000, "seed") is None   # past ten years
    assert TRIALS == 10_000


def test_window_must_be_whole_weeks():
    with pytest.raises(Exception, match="whole weeks"):
        make_config(flow={"window": "10d"})
    rows, _ = rows_of(hand_counted(), flow={"window": "1w"})
    assert rows[("conv", "emails")].throughput == 1     # E-1 only, in the last week


def test_trello_cards_know_when_they_were_made_and_what_is_under_way():
    board = fixture("trello_board_export.json")
    cards = {t.title: t for t in board_tickets(board, "trello", ["Shipped"], None)}
    # Card ids start with 61f613b3: 1643516851 seconds after 1970.
    made = datetime.fromtimestamp(0x61F613B3, tz=timezone.utc)
    assert cards["Blog SEO audit"].created == made == datetime(2022, 1, 30, 4, 27, 31, tzinfo=timezone.utc)
    assert not cards["Blog SEO audit"].in_progress               # To Do: the first list
    doing = [t for t in cards.values() if t.list == "Doing" and not t.done]
    assert doing and all(t.in_progress for t in doing)
    named = {t.title: t for t in board_tickets(board, "trello", ["Shipped"], None, wip_lists=["To Do"])}
    assert named["Blog SEO audit"].in_progress
    assert not any(t.in_progress for t in named.values() if t.list == "Doing")


def test_first_sync_that_saw_it_done_is_kept(tmp_path):
    state = State(tmp_path / "state.db")
    card = ticket("c1", source="trello", done=True)
    first = done_stamps.stamp([card], state, NOW)
    assert first[0].done_at == NOW
    state.commit(NOW, NOW, 1)
    later = done_stamps.stamp([card], state, NOW + 3 * DAY)
    assert later[0].done_at == NOW                 # not the later sync's time
    # A ticket with a resolution date keeps it and stores nothing.
    resolved = ticket("J-1", done=True, done_at=NOW - DAY)
    assert done_stamps.stamp([resolved], state, NOW)[0].done_at == NOW - DAY
    # Reopened, then done again: the new time.
    state.commit(NOW, NOW, 1)
    done_stamps.stamp([ticket("c1", source="trello")], state, NOW + 4 * DAY)
    state.commit(NOW, NOW, 1)
    assert done_stamps.stamp([card], state, NOW + 5 * DAY)[0].done_at == NOW + 5 * DAY
    state.close()


def test_jira_issues_carry_creation_and_in_progress():
    from connectors.jira.issue import JiraFieldIds, to_ticket
    issues = fixture("jira_search_jql_page1.json")["issues"]
    working, shipped = (to_ticket(i, "jira", JiraFieldIds()) for i in issues[:2])
    assert working.in_progress and not working.done          # status category "indeterminate"
    assert working.created == datetime(2024, 12, 13, 20, 51, 23, 781000, tzinfo=timezone.utc)
    assert shipped.done and not shipped.in_progress
    # Lead time of SCRUM-5: 2024-12-10 09:12 → 2024-12-15 10:02 (both +02:00), 5.03 days.
    assert (shipped.done_at - shipped.created).total_seconds() / 86400 == pytest.approx(5.035, abs=1e-3)


def test_the_review_digest_and_the_terminal_give_forecast_and_done_by():
    from sync.cli.console import summary
    from sync.core.present import review
    from sync.core.model import Reading
    from sync.core.present.report import summary_only
    readings = [Reading(datetime(2026, 10, 1, tzinfo=timezone.utc) + d * DAY, "conv_rate", 6 + 0.02 * d)
                for d in (0, 10, 30, 40)]                       # 7.82 at the deadline: a miss
    a = assess(steady(6), make_config(), readings, NOW, workspace="growth")
    d = review.digest({}, a, NOW.isoformat())
    conv = next(r for r in d.rows if r.outcome_id == "conv")
    assert conv.forecast == "7.82 by 2026-12-31 (will miss)" and conv.done_by == "2026-12-17"
    from sync.core.present.review_text import render_text
    text = render_text(d)
    assert "- forecast 7.82 by 2026-12-31 (will miss); open work done by 2026-12-17 (85%)" in text
    assert review.Digest.from_json(d.to_json()) == d
    shown = summary(a, summary_only(a, ["jira"], None))
    assert "Done by (85%)" in shown and "will miss" in shown and "2026-12-17" in shown
