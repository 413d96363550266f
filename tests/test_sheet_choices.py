"""The Tickets tab's `Set lever` column in a workbook: the dropdown, the
choices changing the mapping, the Rules row, and choices kept in state."""
from __future__ import annotations

from datetime import datetime, timedelta

import openpyxl
import pytest

from connectors.memory import MemorySource
from connectors.xlsx.sink import XlsxSink
from sync.core.assess import choices
from sync.core.present.report import HEADERS

from .conftest import NOW, sync_over, ticket
from .test_xlsx import env  # noqa: F401 (the fixture: a workbook, its config and state)

COL = HEADERS["Tickets"].index("Set lever") + 1          # 16: right after Updated


TICKETS = [ticket("A-1"),                                    # unmapped
           ticket("A-2", components=("Pricing",)),           # mapped by a rule to pricing
           ticket("A-3"),                                    # will be set to ignore
           ticket("A-4"),                                    # will get an unknown id
           ticket("A-5", labels=("lever:wizard",))]          # its own tag wins over the sheet


def sync(env, tickets=TICKETS, now=NOW):
    path, config, state = env
    return sync_over(config, [MemorySource("jira", tickets)], XlsxSink(config.sink), state, now)


def choose(path, picks: dict[str, object]):
    """A person picks values in the Set lever column (None clears the cell)."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Tickets"]
    for row in ws.iter_rows(min_row=2):
        if row[0].value in picks:
            row[COL - 1].value = picks[row[0].value]
    wb.save(path)


def tickets_tab(path) -> dict[str, dict]:
    ws = openpyxl.load_workbook(path)["Tickets"]
    head = [c.value for c in ws[1]]
    return {r[0]: dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True)}


def warnings(result, key) -> list[tuple[str, str]]:
    return [(w.kind, w.message) for w in result.assessment.warnings if w.key == key]


def test_the_column_and_its_dropdown_exist(env):
    sync(env)
    ws = openpyxl.load_workbook(env[0])["Tickets"]
    assert [c.value for c in ws[1]][COL - 2:COL] == ["Updated", "Set lever"]
    (dv,) = ws.data_validations.dataValidation
    assert dv.type == "list" and dv.allow_blank
    assert dv.formula1 == '"emails,pricing,wizard,docs,ignore"'
    assert str(dv.sqref) == f"P2:P{len(TICKETS) + 1}"


def test_the_dropdown_is_the_same_when_the_tab_goes_through_openpyxl(env, monkeypatch):
    from connectors.xlsx import stream as xlsx_stream
    monkeypatch.setattr(xlsx_stream, "streamable", lambda table: False)
    sync(env)
    (dv,) = openpyxl.load_workbook(env[0])["Tickets"].data_validations.dataValidation
    assert dv.formula1 == '"emails,pricing,wizard,docs,ignore"' and str(dv.sqref) == "P2:P6"


def test_many_levers_point_the_dropdown_at_the_levers_tab(tmp_path):
    from connectors.xlsx import dropdown
    from sync.core.present.report import Table
    ids = [f"lever-number-{i:03d}" for i in range(40)]
    table = Table("Tickets", HEADERS["Tickets"], [["A-1"] + [None] * 15], dropdown=(15, ids + ["ignore"]))
    xml = dropdown.xml(table)
    assert "<formula1>Levers!$B$2:$B$41</formula1>" in xml and 'errorStyle="warning"' in xml


def test_choices_change_the_mapping_as_people_set_them(env):
    first = sync(env)
    assert ("unmapped", "'ticket A-1' serves no lever or outcome") in warnings(first, "A-1")
    choose(env[0], {"A-1": "emails", "A-2": "docs", "A-3": "ignore", "A-4": "nonsense",
                    "A-5": "emails"})
    result = sync(env, now=NOW + timedelta(minutes=15))
    rows = tickets_tab(env[0])
    got = {k: (r["Outcome ID"], r["Lever ID"], r["Matched by"], r["Set lever"]) for k, r in rows.items()}
    assert got == {
        "A-1": ("conv", "emails", "sheet: emails", "emails"),       # unmapped → mapped
        "A-2": ("act", "docs", "sheet: docs", "docs"),              # a rule's lever → the chosen one
        "A-3": (None, None, "sheet: ignore", "ignore"),             # out of scope
        "A-4": (None, None, None, "nonsense"),                      # no mapping, the value kept
        "A-5": ("act", "wizard", "tag lever:wizard", "emails"),     # its own tag wins
    }
    assert rows["A-3"]["Score"] is None and rows["A-3"]["Flags"] is None
    assert not [k for k, _ in warnings(result, "A-1") if k == "unmapped"]
    assert warnings(result, "A-4")[:1] == [
        ("unknown_tag", "sheet: Set lever 'nonsense' names no configured lever id (nor `ignore`)")]
    assert "unmapped" in [k for k, _ in warnings(result, "A-4")]
    assert "unknown_tag" in rows["A-4"]["Flags"]
    assert len(result.assessment.in_scope) == 4


def test_choices_are_case_blind_and_a_formula_stays_text(env):
    sync(env)
    choose(env[0], {"A-1": "  EMAILS ", "A-4": "=HYPERLINK(\"http://evil\")"})
    result = sync(env, now=NOW + timedelta(minutes=15))
    rows = tickets_tab(env[0])
    assert rows["A-1"]["Matched by"] == "sheet: emails"
    ws = openpyxl.load_workbook(env[0])["Tickets"]
    cell = ws.cell(row=5, column=COL)
    assert cell.value == "=HYPERLINK(\"http://evil\")" and cell.data_type == "s"
    assert warnings(result, "A-4")[0][0] == "unknown_tag"


def test_the_rules_tab_counts_the_sheets_choices(env):
    sync(env)
    choose(env[0], {"A-1": "emails", "A-2": "docs", "A-3": "ignore", "A-4": "nonsense",
                    "A-5": "emails"})
    sync(env, now=NOW + timedelta(minutes=15))
    rules = list(openpyxl.load_workbook(env[0])["Rules"].iter_rows(values_only=True))
    assert rules[-1] == ("sheet", "Set lever in the Tickets tab", 3, 3)


@pytest.mark.slow
def test_a_deleted_workbook_gets_the_choices_back_but_not_a_cleared_cell(env):
    sync(env)
    choose(env[0], {"A-1": "emails", "A-2": "docs"})
    sync(env, now=NOW + timedelta(minutes=15))
    choose(env[0], {"A-2": None})                             # a person clears A-2's cell
    sync(env, now=NOW + timedelta(minutes=30))
    assert tickets_tab(env[0])["A-2"]["Matched by"] == "lever pricing: components=Pricing"
    env[0].unlink()                                           # the workbook is gone
    sync(env, now=NOW + timedelta(minutes=45))
    rows = tickets_tab(env[0])
    assert (rows["A-1"]["Set lever"], rows["A-1"]["Matched by"]) == ("emails", "sheet: emails")
    assert (rows["A-2"]["Set lever"], rows["A-2"]["Matched by"]) == \
        (None, "lever pricing: components=Pricing")


def test_a_value_no_lever_could_be_is_refused_with_a_warning(env):
    sync(env)
    choose(env[0], {"A-1": datetime(2026, 1, 2)})
    result = sync(env, now=NOW + timedelta(minutes=15))
    assert tickets_tab(env[0])["A-1"]["Set lever"] is None               # cleared, not kept
    assert ("unknown_tag", "sheet: a datetime value in Set lever was refused (expected a lever id)") \
        in warnings(result, "A-1")
    # A cell past Google's 50,000 characters never becomes a choice, nor a huge message.
    merged = choices.merge({"A-1": "x" * 60_000, "A-2": "emails"}, {"A-1": "docs"})
    assert merged.chosen == {"A-2": "emails"} and "60,000 characters" in merged.refused["A-1"]
    assert choices.quoted("y" * 70_000) == repr("y" * 59 + "…")


def test_an_error_cell_is_refused_not_read_as_a_choice(env):
    sync(env)
    choose(env[0], {"A-1": "#N/A"})          # openpyxl stores an error code as an error cell (t="e")
    assert openpyxl.load_workbook(env[0])["Tickets"].cell(row=2, column=COL).data_type == "e"
    result = sync(env, now=NOW + timedelta(minutes=15))
    assert tickets_tab(env[0])["A-1"]["Set lever"] is None
    assert [m for k, m in warnings(result, "A-1") if k == "unknown_tag"] == [
        "sheet: an error value '#N/A' in Set lever was refused (expected a lever id); the cell is cleared"]


def test_a_sheet_written_before_the_column_keeps_its_peoples_column(env):
    sync(env)
    wb = openpyxl.load_workbook(env[0])
    ws = wb["Tickets"]
    ws.cell(row=1, column=COL, value="Notes")                # where Set lever stands now
    ws.cell(row=2, column=COL, value="call Ann")
    wb.save(env[0])
    sync(env, now=NOW + timedelta(minutes=15))
    ws = openpyxl.load_workbook(env[0])["Tickets"]
    assert [c.value for c in ws[1]][COL - 1:] == ["Set lever", "Notes"]
    assert (ws.cell(row=2, column=COL).value, ws.cell(row=2, column=COL + 1).value) == (None, "call Ann")


def test_suggest_proposes_a_rule_for_tickets_set_by_hand(env):
    from sync.drafting import suggestions
    team = [ticket(f"B-{i}", components=("Billing",), labels=("q3",)) for i in range(1, 5)] + \
        [ticket("B-5", components=("Billing",)), ticket("B-6", labels=("lever:docs",), components=("Billing",)),
         ticket("B-7", labels=("q3",))]
    sync(env, team)
    choose(env[0], {f"B-{i}": "pricing" for i in range(1, 5)} | {"B-7": "emails"})
    result = sync(env, team, now=NOW + timedelta(minutes=15))
    hand = suggestions.from_sheet(result.assessment, env[1])
    assert [h.describe() for h in hand] == ["4 tickets set to pricing share label q3",
                                           "4 tickets set to pricing share component Billing"]
    billing = hand[1]
    assert billing.block() == {"components": ["Billing"]}
    assert billing.set_by_hand == ["B-1", "B-2", "B-3", "B-4"]
    assert billing.maps == ["B-1", "B-2", "B-3", "B-4", "B-5"]        # B-6's own tag decides it
    assert hand[0].maps == ["B-1", "B-2", "B-3", "B-4"]              # B-7 is set to emails by hand
    assert billing.as_data()["set_in_sheet"] == ["B-1", "B-2", "B-3", "B-4"]
    text = suggestions.render_sheet(hand)
    assert "4 tickets set to pricing share component Billing" in text and "B-5" in text


@pytest.mark.slow
def test_explain_says_the_sheet_decided(env, capsys):
    from sync.cli import console
    sync(env)
    choose(env[0], {"A-1": "emails", "A-4": "nonsense"})
    a = sync(env, now=NOW + timedelta(minutes=15)).assessment
    assert "Mapped to lever emails (outcome conv), by sheet: emails" in console.explain(a, a.find("A-1"))
    text = console.explain(a, a.find("A-4"))
    assert "Unmapped, by the sheet: Set lever 'nonsense' names no configured lever id" in text
    assert "did not hold" not in text and "tag 'sheet:" not in text
