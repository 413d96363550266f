"""The assessment's fast paths held equal to the straightforward code they
replaced: the warnings' sort, the flags and counts, the task scores, and the
outcome, lever, owner and team figures tallied in one pass (sync.core.assess).
Random tickets draw keys from a small pool, so keys repeat across sources and
tie in natural order (T-1, T-01), and descriptions repeat (the acceptance
search runs once per distinct one)."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.core.assess import scoring
from sync.core.assess.assessment import NO_OWNER, assess
from sync.core.assess.checks import find_warnings, raise_warnings, sort_warnings
from sync.core.assess.choices import Choices
from sync.core.assess.matching import Pattern
from sync.core.assess.rules import RuleSet
from sync.core.config import DEFAULT_ACCEPTANCE
from sync.core.model import SEVERITY_ORDER, Ticket, Warning, natural

from .conftest import NOW, make_config

KEYS = ["T-1", "T-01", "T-2", "T-10", "t-3", "AB-7", "a1b2", "10", "X", "T-1x"]
LONG_TITLE = "Acceptance: " + "x" * 500          # past the untimed length: searched with a timeout

tickets_st = st.lists(st.builds(
    Ticket,
    key=st.sampled_from(KEYS),
    source=st.sampled_from(["jira", "trello"]),
    title=st.sampled_from(["price test", "plain", "Metric: in the title", LONG_TITLE]),
    type=st.sampled_from(["Task", "Story", "Sub-task"]),
    done=st.booleans(),
    owner=st.sampled_from([None, "", "Ann", "ann", "Bob", NO_OWNER]),
    estimate=st.sampled_from([None, 0.1, 0.2, 2.5]),
    labels=st.lists(st.sampled_from(["onboarding-email", "lifecycle-x", "ktlo", "seo",
                                     "lever:docs", "lever:nope", "outcome:act"]),
                    max_size=2).map(tuple),
    components=st.lists(st.sampled_from(["Pricing", "Setup wizard"]), max_size=1).map(tuple),
    description=st.sampled_from(["", "Success metric: CTR", "tutorial", "nothing here"]),
    acceptance=st.sampled_from(["", "  ", "metric: +5%"]),
    updated=st.sampled_from([None, NOW - timedelta(days=1), NOW - timedelta(days=30)]),
    done_at=st.sampled_from([None, NOW - timedelta(days=2)]),
    created=st.sampled_from([None, NOW - timedelta(days=20)]),
    problems=st.sampled_from([(), ("estimate `x` is not a number",)]),
), max_size=25)

warnings_st = st.lists(st.builds(
    Warning,
    severity=st.sampled_from(list(SEVERITY_ORDER)),
    kind=st.sampled_from(["stale", "unowned", "idle_lever"]),
    message=st.sampled_from(["m1", "m2"]),
    key=st.sampled_from(KEYS + [""]),
    owner=st.sampled_from(["", "Ann", "Bob"]),
    outcome_id=st.sampled_from(["", "conv", "act"]),
    lever_id=st.sampled_from(["", "emails"]),
), max_size=40)


def straight_sort(found: list[Warning]) -> list[Warning]:
    """The sort as it was written first: one stable sort by the whole tuple."""
    return sorted(found, key=lambda w: (SEVERITY_ORDER[w.severity], w.kind, w.outcome_id,
                                        w.lever_id, natural(w.key), w.owner))


@settings(max_examples=200, deadline=None)
@given(warnings_st)
def test_sorting_warnings_is_one_sort_by_the_whole_tuple(found):
    expected = straight_sort(found)
    assert sort_warnings(list(found)) == expected
    assert [id(w) for w in sort_warnings(found)] == [id(w) for w in expected]   # ties as found


def straight_flags_and_counts(a):
    """Flags and counts as first written: from the sorted warnings."""
    by_key: dict[str, list[str]] = {}
    for w in a.warnings:
        if w.key and w.kind not in by_key.setdefault(w.key, []):
            by_key[w.key].append(w.kind)
    per_outcome = Counter(w.outcome_id for w in a.warnings if w.outcome_id)
    per_owner = Counter(w.owner or (NO_OWNER if w.key else "") for w in a.warnings)
    return ([by_key.get(r.ticket.key, []) for r in a.tickets],
            [per_outcome[o.outcome.id] for o in a.outcomes], [per_owner[o.owner] for o in a.owners])


def straight_figures(a, config):
    """The team's, outcomes', levers' and owners' figures as first written:
    one sum per figure over the ticket results."""
    active = [r for r in a.tickets if r.active]
    team_effort = sum(r.effort for r in active)
    mapped = [r for r in a.tickets if r.mapping.mapped]
    mean = lambda values: round(sum(values) / len(values), 1) if values else None  # noqa: E731
    outcomes = []
    for o in config.outcomes:
        mine = [r for r in mapped if r.mapping.outcome_id == o.id]
        outcomes.append((sum(r.active for r in mine), sum(r.ticket.done for r in mine),
                         scoring.percent(sum(r.effort for r in mine if r.active), team_effort),
                         mean([r.score for r in mine])))
    levers = []
    for _, lv in config.levers():
        mine = [r for r in mapped if r.mapping.lever_id == lv.id]
        levers.append((sum(r.active for r in mine), sum(r.ticket.done for r in mine),
                       sum(r.effort for r in mine if r.active),
                       max((r.ticket.updated for r in mine if r.ticket.updated), default=None)))
    per_owner: dict[str, list] = defaultdict(list)
    for r in active:
        per_owner[r.ticket.owner or NO_OWNER].append(r)
    owners = [(name, len(rs), len({r.mapping.outcome_id for r in rs if r.mapping.mapped}),
               scoring.percent(sum(r.effort for r in rs if r.mapping.mapped),
                               sum(r.effort for r in rs)), mean([r.score for r in rs]))
              for name, rs in sorted(per_owner.items(), key=lambda kv: kv[0].lower())]
    team = (scoring.percent(sum(r.effort for r in active if r.mapping.mapped), team_effort),
            mean([r.score for r in a.tickets if r.score is not None]))
    return outcomes, levers, owners, team


def figures(a):
    return ([(o.active, o.done, o.aligned_effort, o.average_score) for o in a.outcomes],
            [(lv.active, lv.done, lv.active_effort, lv.last_activity) for lv in a.levers],
            [(o.owner, o.active, o.outcomes, o.aligned_effort, o.average_score) for o in a.owners],
            (a.aligned_effort, a.average_score))


def check_against_straight_code(tickets, config, choices=None):
    a = assess(tickets, config, [], NOW, choices=choices)
    # The ticket order, and each ticket's mapping as a look-up by uid gave it.
    ordered = sorted(tickets, key=lambda t: (t.source, natural(t.key)))
    assert [r.ticket for r in a.tickets] == ordered
    by_uid, _ = RuleSet.compile(config).map_all(ordered, choices.chosen if choices else None)
    assert [r.mapping for r in a.tickets] == [by_uid[t.uid] for t in ordered]
    assert a.warnings == raise_warnings(a, config, [])
    assert a.warnings == straight_sort(find_warnings(a, config, []))
    flags, per_outcome, per_owner = straight_flags_and_counts(a)
    assert [r.flags for r in a.tickets] == flags
    assert [o.warnings for o in a.outcomes] == per_outcome
    assert [o.warnings for o in a.owners] == per_owner
    assert figures(a) == straight_figures(a, config)


@settings(max_examples=150, deadline=None)
@given(tickets_st)
def test_assessment_equals_the_straightforward_code(tickets):
    """The demo-like config has title and text rules: each ticket mapped on its own."""
    check_against_straight_code(tickets, make_config())


@settings(max_examples=150, deadline=None)
@given(tickets_st, st.dictionaries(st.sampled_from(KEYS),
                                   st.sampled_from(["docs", "ignore", "nope"]), max_size=3))
def test_assessment_equals_the_straightforward_code_with_memoised_rules(tickets, chosen):
    """Without title or text rules the rules map each signature once; and
    the sheet's `Set lever` choices map some tickets on their own."""
    config = make_config(outcomes=[
        {"id": "conv", "name": "Conversion", "metric": "conv_rate", "baseline": 6, "target": 8,
         "start": "2026-10-01", "deadline": "2026-12-31", "owner": "Dana",
         "levers": [{"id": "emails", "name": "Emails",
                     "match": {"labels": ["onboarding-email", "lifecycle*"]}},
                    {"id": "pricing", "name": "Pricing", "match": {"components": ["Pricing"]}}]},
        {"id": "act", "name": "Activation", "metric": "act_rate", "baseline": 35, "target": 45,
         "start": "2026-10-01", "deadline": "2026-12-31",
         "levers": [{"id": "docs", "name": "Docs", "match": {"labels": ["onboarding-email"]}}]},
    ])
    check_against_straight_code(tickets, config, Choices(chosen=chosen))


@settings(max_examples=200, deadline=None)
@given(tickets_st)
def test_task_scores_equal_task_score_one_by_one(tickets):
    review = make_config().review
    pattern = Pattern(DEFAULT_ACCEPTANCE)
    mappings = RuleSet.compile(make_config()).map_each(tickets)[0]
    assert scoring.task_scores(tickets, mappings, review, pattern, NOW) == [
        scoring.task_score(t, m, review, pattern, NOW) for t, m in zip(tickets, mappings)]


def test_a_description_is_searched_once_and_a_title_only_while_it_is_needed():
    class Counting(Pattern):
        def search(self, text, what, ticket):
            searched.append(text)
            return super().search(text, what, ticket)

    searched: list[str] = []
    tickets = [Ticket(f"T-{i}", "jira", f"title {i}", description="Success metric: CTR")
               for i in range(3)]
    tickets.append(Ticket("T-9", "jira", LONG_TITLE, description="Success metric: CTR"))
    mappings = RuleSet.compile(make_config()).map_each(tickets)[0]
    held = scoring.task_scores(tickets, mappings, make_config().review,
                               Counting(DEFAULT_ACCEPTANCE), NOW)
    assert [h[3] for h in held] == [True] * 4
    # The first ticket's title and description; later short titles need no search
    # (the description holds the pattern); a long title is searched with its timeout.
    assert searched == ["title 0", "Success metric: CTR", LONG_TITLE]
