"""Scores and warnings (docs/sheet.md), table-driven and pure: fixed `now`, no I/O."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from sync.core.assess import scoring
from sync.core.assess.assessment import assess
from sync.core.config import Config
from sync.core.outcomes import Outcome

from .conftest import NOW, make_config, reading, ticket


@pytest.mark.parametrize("fields,score", [
    (dict(labels=("onboarding-email",)), 100),
    (dict(labels=("seo",)), 50),                                  # unmapped
    (dict(labels=("onboarding-email",), owner=None), 85),
    (dict(labels=("onboarding-email",), estimate=None), 90),
    (dict(labels=("onboarding-email",), acceptance=""), 85),
    (dict(labels=("onboarding-email",), acceptance="", description="Success metric: CTR"), 100),
    (dict(labels=("onboarding-email",), updated=NOW - timedelta(days=8)), 90),    # stale
    (dict(labels=("onboarding-email",), updated=NOW - timedelta(days=30), done=True), 100),
    (dict(labels=("seo",), owner=None, estimate=None, acceptance="", updated=None), 0),
])
def test_task_score(fields, score):
    a = assess([ticket(**fields)], make_config(), [], NOW)
    assert a.tickets[0].score == score


def test_ignored_tickets_have_no_score_and_stay_out_of_effort():
    a = assess([ticket("A", labels=("ktlo",), estimate=50), ticket("B", labels=("onboarding-email",))],
               make_config(), [], NOW)
    assert [r.score for r in a.tickets] == [None, 100]
    assert a.aligned_effort == 100.0


def test_aligned_effort_uses_default_estimate_and_skips_done():
    cfg = make_config(review={"default_estimate": 3})
    a = assess([ticket("A", labels=("onboarding-email",), estimate=None),      # effort 3, mapped
                ticket("B", labels=("seo",), estimate=1),                      # effort 1, unmapped
                ticket("C", labels=("seo",), estimate=40, done=True)], cfg, [], NOW)
    assert a.aligned_effort == 75.0
    assert a.outcomes[0].aligned_effort == 75.0 and a.outcomes[1].aligned_effort == 0.0
    assert a.tickets[0].ticket.estimate is None        # the Estimate cell stays blank


OUTCOME = Outcome.model_validate(dict(id="o", name="O", metric="m", baseline=6, target=8,
                                      start="2026-10-01", deadline="2026-12-31"))


@pytest.mark.parametrize("current,progress", [(None, None), (6, 0.0), (7, 50.0), (8.5, 125.0), (5, -50.0)])
def test_progress(current, progress):
    assert scoring.progress(OUTCOME, current) == progress


def test_progress_for_a_falling_target():
    down = OUTCOME.model_copy(update={"baseline": 5.0, "target": 3.0})
    assert scoring.progress(down, 4.0) == 50.0


@pytest.mark.parametrize("today,elapsed", [("2026-09-01", 0.0), ("2026-10-01", 0.0),
                                           ("2026-11-15", 49.5), ("2027-02-01", 100.0)])
def test_time_elapsed_is_clamped(today, elapsed):
    now = NOW.replace(year=int(today[:4]), month=int(today[5:7]), day=int(today[8:]))
    assert scoring.time_elapsed(OUTCOME, now) == elapsed


@pytest.mark.parametrize("progress,elapsed,status", [
    (None, 50, "no data"), (100, 50, "done"), (120, 99, "done"), (40, 50, "on track"),
    (39.9, 50, "at risk"), (25, 50, "at risk"), (24.9, 50, "off track")])
def test_status(progress, elapsed, status):
    assert scoring.status(progress, elapsed) == status


@pytest.mark.parametrize("impact,effort,confidence,priority", [
    (8, 3, 0.8, 2.13), (6, 5, 1.0, 1.2), (None, 5, 1.0, None), (5, None, 1.0, None)])
def test_priority(impact, effort, confidence, priority):
    assert scoring.priority(impact, effort, confidence) == priority


def test_current_is_the_latest_dated_reading_in_any_order():
    rs = [reading("2026-11-20", "conv_rate", 7.5), reading("2026-10-01", "conv_rate", 6.0),
          reading("2026-11-01", "conv_rate", 9.0)]
    a = assess([ticket(labels=("onboarding-email",))], make_config(), rs, NOW)
    assert (a.outcomes[0].current, a.outcomes[0].progress) == (7.5, 75.0)


# One row per warning kind: the tickets, readings and config change that raise
# it, and the (kind, key-or-id) expected among the warnings.
OLD = NOW - timedelta(days=20)
RECENT = "2026-11-25"
FRESH_METRICS = [reading(RECENT, "conv_rate", 7.4), reading(RECENT, "act_rate", 41),
                 reading(RECENT, "churn", 2)]
WARNINGS = [
    ("unmapped", "medium", [ticket("U-1", labels=("seo",))], [], {}, "U-1"),
    ("ambiguous", "low", [ticket("A-1", labels=("onboarding-email",), components=("Setup wizard",))],
     [], {}, "A-1"),
    ("unknown_tag", "medium", [ticket("X-1", labels=("lever:nope",))], [], {}, "X-1"),
    ("unowned", "medium", [ticket("O-1", owner=None)], [], {}, "O-1"),
    ("no_estimate", "low", [ticket("E-1", estimate=None)], [], {}, "E-1"),
    ("no_acceptance", "low", [ticket("N-1", labels=("onboarding-email",), acceptance="")], [], {}, "N-1"),
    ("stale", "low", [ticket("S-1", updated=OLD)], [], {}, "S-1"),
    ("goal_overload", "high", [ticket("G-1", labels=("onboarding-email",)),
                               ticket("G-2", components=("Setup wizard",)),
                               ticket("G-3", labels=("outcome:third",))], [],
     {"outcomes+": {"id": "third", "name": "Third", "metric": "t", "baseline": 0, "target": 1,
                    "start": "2026-10-01", "deadline": "2026-12-31"}}, "Ann"),
    ("idle_lever", "medium", [], [], {}, "pricing"),
    ("lever_count", "low", [], [], {"review": {"levers_per_outcome": [3, 6]}}, "conv"),
    ("unowned_outcome", "medium", [], [], {"no_owner": True}, "conv"),
    ("off_track", "high", [], [reading(RECENT, "conv_rate", 6.1)], {}, "conv"),
    ("off_track", "medium", [], [reading(RECENT, "conv_rate", 7.0)], {}, "conv"),   # at risk
    ("guardrail_breach", "high", [], [reading(RECENT, "churn", 3.5)], {}, "conv"),
    ("metric_stale", "medium", [], [reading("2026-11-01", "conv_rate", 7.2)], {}, "conv"),
    ("unused_rule", "low", [], [], {}, "pricing"),
    ("activity_bias", "medium",
     [ticket(f"D-{i}", labels=("onboarding-email",), done=True, done_at=NOW - timedelta(days=3))
      for i in range(3)],
     [reading("2026-11-01", "conv_rate", 7.3), reading("2026-11-20", "conv_rate", 7.3)], {}, "conv"),
]


def _config(change: dict):
    cfg = make_config().model_dump(mode="json")
    if "review" in change:
        cfg["review"].update(change["review"])
    if "outcomes+" in change:
        cfg["outcomes"].append(change["outcomes+"])
    if change.get("no_owner"):
        cfg["outcomes"][0]["owner"] = None
    return make_config(**{k: cfg[k] for k in ("review", "outcomes")})


@pytest.mark.parametrize("kind,severity,tickets,readings,change,where", WARNINGS,
                         ids=[f"{w[0]}-{w[1]}" for w in WARNINGS])
def test_each_warning_kind(kind, severity, tickets, readings, change, where):
    a = assess(tickets, _config(change), readings or FRESH_METRICS, NOW)
    found = [(w.severity, w.key or w.lever_id or w.outcome_id or w.owner) for w in a.warnings
             if w.kind == kind]
    if kind == "goal_overload":
        found = [(w.severity, w.owner) for w in a.warnings if w.kind == kind]
    assert (severity, where) in found


def test_a_healthy_team_has_no_warnings():
    cfg = make_config(ignore=[])
    tickets = [ticket("H-1", labels=("onboarding-email",)), ticket("H-2", components=("Pricing",)),
               ticket("H-3", title="Run the price test"), ticket("H-4", components=("Setup wizard",)),
               ticket("H-5", type="Story", description="tutorial")]
    a = assess(tickets, cfg, FRESH_METRICS, NOW)
    assert a.warnings == []


def test_activity_bias_not_raised_when_metric_moves():
    tickets = [ticket(f"D-{i}", labels=("onboarding-email",), done=True, done_at=NOW - timedelta(days=3))
               for i in range(3)]
    rs = [reading("2026-11-01", "conv_rate", 7.0), reading("2026-11-20", "conv_rate", 7.3)]
    a = assess(tickets, make_config(), rs, NOW)
    assert "activity_bias" not in {w.kind for w in a.warnings}


def test_nothing_stayed_flat_without_a_reading():
    """Three tickets done and no reading of the metric at all: `metric_stale`
    says the number is missing; neither `activity_bias` nor `leading_flat`
    claims it stayed flat (a made-up "6 → 6")."""
    cfg = make_config().model_dump(mode="json")
    cfg["outcomes"][0]["levers"][0]["leading"] = {"metric": "email_ctr", "baseline": 2, "target": 3}
    tickets = [ticket(f"D-{i}", labels=("onboarding-email",), done=True, done_at=NOW - timedelta(days=3))
               for i in range(3)]
    kinds = {w.kind for w in assess(tickets, Config.model_validate(cfg), [], NOW).warnings}
    assert "metric_stale" in kinds and not kinds & {"activity_bias", "leading_flat"}
    flat = assess(tickets, Config.model_validate(cfg), [reading("2026-11-01", "conv_rate", 6.0),
                                                        reading("2026-11-20", "email_ctr", 2.0)], NOW)
    assert {"activity_bias", "leading_flat"} <= {w.kind for w in flat.warnings}


def test_warnings_sorted_high_to_low():
    a = assess([ticket("U-1", labels=("seo",), estimate=None)], make_config(),
               [reading(RECENT, "conv_rate", 6.0), reading(RECENT, "churn", 9)], NOW)
    order = [w.severity for w in a.warnings]
    assert order == sorted(order, key=["high", "medium", "low"].index)
    assert order[0] == "high" and order[-1] == "low"


def test_owner_rollup():
    a = assess([ticket("A", labels=("onboarding-email",), estimate=3),
                ticket("B", labels=("seo",), estimate=1),
                ticket("C", owner=None, labels=("seo",))], make_config(), FRESH_METRICS, NOW)
    ann = next(o for o in a.owners if o.owner == "Ann")
    assert (ann.active, ann.outcomes, ann.aligned_effort) == (2, 1, 75.0)
    assert ann.warnings == 1                               # B's unmapped
    assert any(o.owner == "(unassigned)" and o.warnings == 2 for o in a.owners)


def test_start_date_only_is_a_date():
    assert isinstance(OUTCOME.start, date)
