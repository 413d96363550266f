"""Hostile input (issue 11): every case a clear error or the right result,
never a traceback, never a silently wrong figure.  Each starts from a real
payload (the demo's saved Jira search, tests/fixtures/) and breaks one thing."""
from __future__ import annotations

import copy
import json
import math

import pytest

from connectors.files.source import FileSource
from sync.core.assess.assessment import assess
from connectors.files.source import FileSourceConfig
from sync.core.errors import ConfigError, DataError
from sync.core.inputs import gather
from sync.core.numbers import parse_number

from .conftest import FIXTURES, NOW, ROOT, make_config, ticket

DEMO = json.loads((ROOT / "config/demo/jira-search.json").read_text())


def run_file(tmp_path, data, **kw):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(data))
    return FileSource(FileSourceConfig(type="file", path=str(path), **kw), "eng").fetch()


def broken(mutate):
    """The demo export with its first issue changed by `mutate(issue_fields, issue)`."""
    data = copy.deepcopy(DEMO)
    mutate(data["issues"][0]["fields"], data["issues"][0])
    return data


# -- tracker data of the wrong shape -----------------------------------------

@pytest.mark.parametrize("mutate, check", [
    (lambda f, i: f.update(components=[{"name": None}, {"name": "Pricing"}]),
     lambda t: t.components == ("Pricing",)),
    (lambda f, i: f.update(summary=12345), lambda t: t.title == "12345"),
    (lambda f, i: f.update(status="Done"), lambda t: t.status == "Done" and not t.done),
    (lambda f, i: f.update(issuetype="Bug"), lambda t: t.type == "Bug"),
    (lambda f, i: f.update(assignee="Lena Park"), lambda t: t.owner == "Lena Park"),
    (lambda f, i: i.update(key=4711), lambda t: t.key == "4711"),
    (lambda f, i: f.update(labels="seats"), lambda t: t.labels == ("seats",)),
    (lambda f, i: f.update(labels=["a", None, 7]), lambda t: t.labels == ("a", "7")),
])
def test_harmless_shapes_are_coerced(tmp_path, mutate, check):
    first = run_file(tmp_path, broken(mutate), fields={"estimate": "customfield_10016"})
    by_id = {t.key: t for t in first}
    target = by_id.get("GROW-101") or by_id.get("4711")
    assert check(target), target


@pytest.mark.parametrize("mutate, field", [
    (lambda f, i: f.update(summary={"text": "x"}), "summary"),
    (lambda f, i: f.update(status=["Done"]), "status"),
    (lambda f, i: f.update(labels=5), "labels"),
    (lambda f, i: f.update(components=[["Pricing"]]), "components[0].name"),
    (lambda f, i: i.update(fields="nope"), "fields"),
])
def test_unreadable_shapes_name_source_ticket_and_field(tmp_path, mutate, field):
    with pytest.raises(DataError) as err:
        run_file(tmp_path, broken(mutate))
    text = err.value.message
    assert "source eng" in text and "GROW-101" in text and f"`{field}`" in text


@pytest.mark.parametrize("bad", ["a string", None, 17])
def test_an_issues_list_holding_no_issue_is_named(tmp_path, bad):
    data = copy.deepcopy(DEMO)
    data["issues"].insert(3, bad)
    with pytest.raises(DataError, match=r"issues\[3\]: expected an issue object"):
        run_file(tmp_path, data)


def test_names_as_a_list_is_no_help_but_no_crash(tmp_path):
    data = dict(copy.deepcopy(DEMO), names=["Story point estimate"])
    tickets = run_file(tmp_path, data, fields={"estimate": "customfield_10016"})
    assert len(tickets) == len(DEMO["issues"])


def trello_board():
    return json.loads((FIXTURES / "trello_board_export.json").read_text())


def test_trello_card_without_id_is_named(tmp_path):
    board = trello_board()
    card = board["cards"][1]
    card.pop("id"), card.pop("shortLink", None)
    with pytest.raises(DataError, match=rf"card {card['name']!r} \(cards\[1\]\): field `id`"):
        run_file(tmp_path, board)


def test_trello_member_without_id_is_dropped(tmp_path):
    board = trello_board()
    board["members"].append({"fullName": "Ghost"})
    assert len(run_file(tmp_path, board)) == len(run_file(tmp_path, trello_board()))


def test_trello_lists_null_is_an_error_not_every_card_active(tmp_path):
    board = dict(trello_board(), lists=None)
    with pytest.raises(DataError, match=r"`lists`: expected a list, got null"):
        run_file(tmp_path, board)


# -- numbers --------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["NaN", -1000, "inf", 1e308])
def test_an_estimate_that_is_no_effort_is_flagged_not_summed(tmp_path, raw):
    data = broken(lambda f, i: f.update(customfield_10016=raw))
    tickets = run_file(tmp_path, data, fields={"estimate": "customfield_10016"})
    bad = next(t for t in tickets if t.key == "GROW-101")
    assert bad.estimate is None and bad.problems
    config = make_config()
    a = assess(tickets, config, [], NOW)
    assert a.aligned_effort is not None and 0 <= a.aligned_effort <= 100
    assert all(o.aligned_effort is None or 0 <= o.aligned_effort <= 100 for o in a.outcomes)
    flagged = [w for w in a.warnings if w.kind == "bad_data"]
    assert [w.key for w in flagged] == ["GROW-101"] and "counted as no estimate" in flagged[0].message


@pytest.mark.parametrize("text, value", [("7.8", 7.8), ("7.8%", 7.8), ("1,234.5", 1234.5),
                                         ("40,5", None), ("1,23", None), ("NaN", None),
                                         (math.inf, None), ("-3", -3.0), (1e300, None), ("1e300", None)])
def test_metric_numbers(text, value):
    assert parse_number(text) == value


def test_unreadable_and_future_metrics_rows_are_warnings(config):
    inputs = gather([["2026-11-20", "conv_rate", "40,5", ""],
                     ["2026-11-21", "conv_rate", 6.5, ""],
                     ["2062-11-21", "conv_rate", 9.9, "typo"]], [], [])
    assert inputs.unreadable_metrics == 1
    a = assess([ticket("A-1")], config, inputs.readings, NOW, metric_problems=inputs.metric_problems)
    conv = next(o for o in a.outcomes if o.outcome.id == "conv")
    assert conv.current == 6.5 and conv.status != "done"          # not 9.9 from 2062
    lines = sorted(w.message for w in a.warnings if w.kind == "bad_metric")
    assert lines == ["Metrics row 2: Value '40,5' is not a number; row ignored",
                     "Metrics row 4: dated 2062-11-21, in the future; ignored"]


def test_a_percent_typed_in_excel_reads_as_the_percent(tmp_path):
    from openpyxl import Workbook

    from connectors.xlsx.sink import XlsxSink
    from connectors.xlsx.sink import XlsxSinkConfig
    wb = Workbook()
    ws = wb.active
    ws.title = "Metrics"
    ws.append(["Date", "Metric", "Value", "Note"])
    ws.append(["2026-11-20", "conv_rate", 0.078])
    ws["C2"].number_format = "0.0%"
    ws.append(["2026-11-21", "churn", 2.5])
    wb.save(tmp_path / "w.xlsx")
    got = XlsxSink(XlsxSinkConfig(type="xlsx", path=str(tmp_path / "w.xlsx"))).read().readings
    assert [(r.metric, r.value) for r in got] == [("conv_rate", 7.8), ("churn", 2.5)]


def test_unreadable_export_is_a_config_error_not_a_crash(tmp_path):
    (tmp_path / "export.json").write_bytes("{\"issues\": [] , \"x\": \"\xe9\"}".encode("latin-1"))
    with pytest.raises(ConfigError, match="cannot read"):
        FileSource(FileSourceConfig(type="file", path=str(tmp_path / "export.json")), "eng").fetch()


# -- rules that never end ------------------------------------------------------

def test_a_backtracking_rule_fails_naming_rule_and_ticket(monkeypatch):
    from sync.core.assess import matching
    monkeypatch.setattr(matching, "MATCH_SECONDS", 0.2)
    config = make_config()
    data = config.model_dump(mode="json")
    data["outcomes"][0]["levers"][0]["match"] = {"title": "(a|a)+$"}
    from sync.core.config import Config
    config = Config.model_validate(data)
    with pytest.raises(ConfigError, match=r"lever emails title '\(a\|a\)\+\$' took over 0.2s on ticket A-7"):
        assess([ticket("A-7", title="a" * 40 + "!")], config, [], NOW)


def test_a_backtracking_acceptance_pattern_is_bounded_too(monkeypatch):
    from sync.core.assess import matching
    from sync.core.config import Config
    monkeypatch.setattr(matching, "MATCH_SECONDS", 0.2)
    data = make_config().model_dump(mode="json")
    data["review"]["acceptance_pattern"] = "(x|x)+y"
    with pytest.raises(ConfigError, match="review.acceptance_pattern"):
        assess([ticket("A-8", title="x" * 40, acceptance="")], Config.model_validate(data), [], NOW)


@pytest.mark.parametrize("pattern, untimed", [
    (r"(?im)^\s*(acceptance|success metric|metric)\b[^:\n]*:", 400),   # the default: two repeats
    (r"(?i)\bupgrade (prompt|nudge)\b", 1 << 62),                       # no repeat: any length
    (r"price.*test", 5000),
    (r"(a+)+$", 0), (r"(a|a)+$", 0), (r"(x|x)+y", 0),                   # nested: always timed
    (r"(a)\1", 0), (r"\p{Lu}+", 0), (r"a*b*c*", 0),                     # back-reference, regex-only, cubic+
])
def test_which_patterns_run_without_a_timeout(pattern, untimed):
    from sync.core.assess.matching import longest_untimed
    assert longest_untimed(pattern) == untimed


def test_a_tame_pattern_on_long_text_still_runs_with_the_timeout(monkeypatch):
    from sync.core.assess import matching
    timed = []
    real = matching.bounded_search
    monkeypatch.setattr(matching, "bounded_search", lambda *a: timed.append(len(a[1])) or real(*a))
    p = matching.Pattern(r"(?im)^\s*metric\b[^:\n]*:")
    t = ticket("A-9")
    assert p.search("Metric: x", "review.acceptance_pattern", t) and timed == []
    assert p.search(" " * 500 + "\nMetric: y", "review.acceptance_pattern", t) and timed == [510]
