"""Rule precedence (docs/config.md), one row per case."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.core.assess.rules import RuleSet

from .conftest import make_config, ticket

CASES = [
    # (case, ticket fields, state, outcome, lever, matched_by)
    ("lever tag wins over rules and ignore", dict(labels=("lever:pricing", "ktlo", "onboarding-email")),
     "mapped", "conv", "pricing", "tag lever:pricing"),
    ("outcome tag maps to the outcome only", dict(labels=("outcome:act",)),
     "mapped", "act", None, "tag outcome:act"),
    ("lever tag beats outcome tag", dict(labels=("outcome:act", "Lever:Emails")),
     "mapped", "conv", "emails", "tag Lever:Emails"),
    ("ignore by type", dict(type="Sub-task", labels=("onboarding-email",)),
     "ignored", None, None, "ignore: type=Sub-task"),
    ("ignore by label, case-insensitive", dict(labels=("KTLO",)),
     "ignored", None, None, "ignore: labels=ktlo"),
    ("exact label", dict(labels=("onboarding-email",)),
     "mapped", "conv", "emails", "lever emails: labels=onboarding-email"),
    ("glob label", dict(labels=("Lifecycle-Winback",)),
     "mapped", "conv", "emails", "lever emails: labels=lifecycle*"),
    ("component, second lever", dict(components=("pricing",)),
     "mapped", "conv", "pricing", "lever pricing: components=Pricing"),
    ("second block of a lever (title regex)", dict(title="Run the price test"),
     "mapped", "conv", "pricing", "lever pricing: title=(?i)price test"),
    ("all conditions of a block must hold", dict(type="Task", description="see the tutorial"),
     "unmapped", None, None, ""),
    ("text covers the description", dict(type="Story", description="A Tutorial video"),
     "mapped", "act", "docs", "lever docs: type=Story, text=(?i)tutorial"),
    ("first lever in file order wins", dict(labels=("onboarding-email",), components=("Setup wizard",)),
     "mapped", "conv", "emails", "lever emails: labels=onboarding-email"),
    ("nothing matches", dict(labels=("seo",)), "unmapped", None, None, ""),
    ("unknown tag falls through to rules", dict(labels=("lever:nope", "onboarding-email")),
     "mapped", "conv", "emails", "lever emails: labels=onboarding-email"),
]


@pytest.mark.parametrize("case,fields,state,outcome,lever,why", CASES, ids=[c[0] for c in CASES])
def test_precedence(case, fields, state, outcome, lever, why):
    m = RuleSet.compile(make_config()).map(ticket(**fields))
    assert (m.state, m.outcome_id, m.lever_id, m.matched_by) == (state, outcome, lever, why)


def test_ambiguous_names_the_other_outcome():
    m = RuleSet.compile(make_config()).map(ticket(labels=("onboarding-email",),
                                                  components=("Setup wizard",)))
    assert m.ambiguous_with == ("act",)


def test_same_outcome_levers_are_not_ambiguous():
    m = RuleSet.compile(make_config()).map(ticket(labels=("onboarding-email",), components=("Pricing",)))
    assert m.ambiguous_with == ()


def test_unknown_tag_recorded():
    m = RuleSet.compile(make_config()).map(ticket(labels=("outcome:revenue",)))
    assert m.state == "unmapped" and m.unknown_tags == ("outcome:revenue",)


def test_custom_tag_prefixes():
    cfg = make_config(review={"tag_prefixes": {"lever": "L/", "outcome": "O/"}})
    m = RuleSet.compile(cfg).map(ticket(labels=("l/wizard",)))
    assert (m.lever_id, m.matched_by) == ("wizard", "tag l/wizard")


@pytest.mark.parametrize("field,value,lever", [
    ("project", dict(project="GROW"), "p"), ("project", dict(project_name="Growth Team"), "p"),
    ("board", dict(board="Growth Q3"), "b"), ("list", dict(list="Doing"), "l"),
    ("epic", dict(epic=("GROW-12", "Upgrade prompts")), "e"), ("status", dict(status="In Review"), "s"),
    ("assignee", dict(owner="Ann Lee"), "a"),
])
def test_every_glob_field(field, value, lever):
    match = {"p": {"project": ["grow*"]}, "b": {"board": "growth q?"}, "l": {"list": "doing"},
             "e": {"epic": "upgrade*"}, "s": {"status": ["in review"]}, "a": {"assignee": "ann*"}}
    levers = [{"id": k, "name": k, "match": v} for k, v in match.items()]
    outcomes = [{"id": "o", "name": "O", "metric": "m", "baseline": 0, "target": 1,
                 "start": "2026-01-01", "deadline": "2026-12-31", "levers": levers}]
    m = RuleSet.compile(make_config(outcomes=outcomes, ignore=[])).map(
        ticket(owner=None, **value) if field != "assignee" else ticket(**value))
    assert m.lever_id == lever


def test_rule_hits_count_every_matching_block():
    rules = RuleSet.compile(make_config())
    _, hits = rules.map_all([ticket("A", labels=("onboarding-email",), components=("Setup wizard",)),
                             ticket("B", type="Sub-task")])
    counts = {r.describe(): len(hits.tickets(r)) for r in rules.all_rules()}
    assert counts["labels=onboarding-email|lifecycle*"] == 1
    assert counts["components=Setup wizard"] == 1
    assert counts["type=Sub-task"] == 1
    assert counts["components=Pricing"] == 0


labels = st.sampled_from(["onboarding-email", "lifecycle-x", "ktlo", "seo", "lever:pricing",
                          "outcome:act", "lever:zzz", "misc"])
tickets = st.lists(st.builds(
    lambda i, ls, cs, ty: ticket(f"K-{i}", labels=tuple(ls), components=tuple(cs), type=ty),
    st.integers(0, 10_000), st.lists(labels, max_size=3),
    st.lists(st.sampled_from(["Pricing", "Setup wizard", "API"]), max_size=2),
    st.sampled_from(["Task", "Story", "Sub-task"])), max_size=25, unique_by=lambda t: t.key)


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(tickets, st.randoms())
def test_mapping_is_deterministic_and_order_independent(ts, rnd):
    rules = RuleSet.compile(make_config())
    first, _ = rules.map_all(ts)
    shuffled = list(ts)
    rnd.shuffle(shuffled)
    second, _ = RuleSet.compile(make_config()).map_all(shuffled)
    assert first == second


def test_keys_sort_as_people_read_them():
    from sync.core.model import natural
    keys = ["PROJ-10", "PROJ-9", "AB2-1", "PROJ-100", "card 12", "card 9", "-5", "", "ÜX-2", "PROJ-09"]
    assert sorted(keys, key=natural) == ["", "-5", "AB2-1", "PROJ-9", "PROJ-09", "PROJ-10", "PROJ-100",
                                         "card 9", "card 12", "ÜX-2"]
