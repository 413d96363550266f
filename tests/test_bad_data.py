"""No silent loss and no silently wrong figure (issue 21), from the outside:
each case writes a config and an export, runs `align-sync run --once` (or
`check`) and reads the workbook it wrote and what it printed."""
from __future__ import annotations

import copy
import json
from datetime import timedelta

import openpyxl
import pytest
import yaml

from sync.cli.main import main
from sync.core.present.report import HEADERS

from .conftest import NOW, ROOT, base_config
from .test_sheets import env, fake, key_file, private_key  # noqa: F401 (fixtures of the Sheets fake)

DEMO = json.loads((ROOT / "config/demo/jira-search.json").read_text())
OWNED = len(HEADERS["Tickets"])          # people's columns start right of these
CSV_HEAD = "Summary,Issue key,Issue Type,Status,Status Category,Assignee,Updated,Resolved,Custom field (Story points)"


def workspace(tmp_path, export: str | bytes, name: str = "export.json", fields=None,
              **overrides) -> str:
    """A config reading `export` into tmp_path/out.xlsx; returns its path."""
    path = tmp_path / name
    path.write_bytes(export if isinstance(export, bytes) else export.encode())
    source = {"type": "file", "path": str(path)}
    if fields:
        source["fields"] = fields
    data = base_config(source=source,
                       sink={"type": "xlsx", "path": str(tmp_path / "out.xlsx")},
                       state=str(tmp_path / "state.db"), **overrides)
    config = tmp_path / "align.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(config)


def run(config: str, capsys) -> tuple[int, str]:
    code = main(["run", "--once", "--config", config])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out + out.err


def tab(tmp_path, name: str) -> list[tuple]:
    return list(openpyxl.load_workbook(tmp_path / "out.xlsx")[name].iter_rows(values_only=True))


def warnings(tmp_path, kind: str = "bad_data") -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in tab(tmp_path, "Warnings")[1:]:
        if row[1] == kind:
            found.setdefault(row[2] or "", []).append(row[6])
    return found


def updated(tmp_path) -> dict[str, str | None]:
    return {r[0]: r[14] for r in tab(tmp_path, "Tickets")[1:]}


def with_updates(*values) -> str:
    data = copy.deepcopy(DEMO)
    for issue, value in zip(data["issues"], values):
        issue["fields"]["updated"] = value
    return json.dumps(data)


# -- 1. a headerless column right of Tickets --------------------------------------

@pytest.mark.slow
def test_a_note_in_a_headerless_column_stays_on_its_ticket(tmp_path, capsys):
    config = workspace(tmp_path, json.dumps(DEMO))
    assert run(config, capsys)[0] == 0
    wb = openpyxl.load_workbook(tmp_path / "out.xlsx")
    ws = wb["Tickets"]
    keys = [ws.cell(row=r, column=1).value for r in range(2, 6)]
    ws.cell(row=3, column=OWNED + 1, value="call Dana first")   # the first free column, no header
    ws.cell(row=5, column=OWNED + 3, value=42)                  # two columns further out
    wb.save(tmp_path / "out.xlsx")
    # The ticket above the note leaves the export: the note's row moves up.
    data = copy.deepcopy(DEMO)
    data["issues"] = [i for i in data["issues"] if i["key"] != keys[0]]
    (tmp_path / "export.json").write_text(json.dumps(data))
    assert run(config, capsys)[0] == 0
    rows = {r[0]: r[OWNED:OWNED + 3] for r in tab(tmp_path, "Tickets")[1:]}
    assert rows[keys[1]] == ("call Dana first", None, None)
    assert rows[keys[3]] == (None, None, 42)
    assert keys[0] not in rows
    assert tab(tmp_path, "Tickets")[0][OWNED:OWNED + 3] == (None, None, None)
    assert sum(1 for r in rows.values() if any(v is not None for v in r)) == 2
    assert run(config, capsys)[0] == 0                          # and again: still there
    assert {r[0]: r[OWNED] for r in tab(tmp_path, "Tickets")[1:]}[keys[1]] == "call Dana first"


# -- 2. dates and numbers that cannot be read ------------------------------------

@pytest.mark.slow
def test_unreadable_json_dates_are_bad_data_and_epoch_ms_is_read(tmp_path, capsys):
    keys = [i["key"] for i in DEMO["issues"][:5]]
    config = workspace(tmp_path, with_updates("2026-02-29T10:00:00.000+0000", "not a date",
                                              1764669600000, "9999-12-31T00:00:00.000+0000", 12345))
    assert run(config, capsys)[0] == 0
    bad = warnings(tmp_path)
    assert "`updated`: '2026-02-29T10:00:00.000+0000' is not a date (day is out of range for month)" \
        in bad[keys[0]][0]
    assert "'not a date' is not a date; taken as never updated" in bad[keys[1]][0]
    assert keys[2] not in bad and updated(tmp_path)[keys[2]] == "2025-12-02T10:00:00Z"
    assert "`updated` 9999-12-31 is past tomorrow; taken as never updated" in bad[keys[3]][0]
    assert "epoch seconds, 10 digits, or milliseconds, 13 digits" in bad[keys[4]][0]
    for key in (keys[0], keys[1], keys[3], keys[4]):
        assert bad[key][0].startswith(f"source file: ticket {key}: ")
        assert updated(tmp_path)[key] is None
    stale = warnings(tmp_path, "stale")
    assert keys[3] in stale or any(r[0] == keys[3] and r[6] == "yes" for r in tab(tmp_path, "Tickets"))


@pytest.mark.slow
def test_a_future_update_does_not_count_as_fresh(tmp_path, capsys):
    data = copy.deepcopy(DEMO)
    active = next(i for i in data["issues"]
                  if i["fields"]["status"]["statusCategory"]["key"] != "done")
    active["fields"]["updated"] = "2099-01-01T00:00:00.000+0000"
    config = workspace(tmp_path, json.dumps(data))
    assert run(config, capsys)[0] == 0
    assert "past tomorrow" in warnings(tmp_path)[active["key"]][0]
    assert active["key"] in warnings(tmp_path, "stale")
    row = next(r for r in tab(tmp_path, "Tickets") if r[0] == active["key"])
    assert "stale" in row[13] and "bad_data" in row[13]


def csv_export(*rows: str) -> str:
    return "\n".join((CSV_HEAD,) + rows) + "\n"


@pytest.mark.slow
def test_jira_csv_date_formats(tmp_path, capsys):
    export = csv_export(
        "Jira default,A-1,Task,In Progress,In Progress,Ann,24/Nov/26 10:00 AM,,3",
        "German,A-2,Task,In Progress,In Progress,Ann,24.11.2026 10:00,,3",
        "Lone ambiguous,A-3,Task,In Progress,In Progress,Ann,03/04/2026,,3",
        "ISO,A-4,Task,In Progress,In Progress,Ann,2026-11-24 15:30,,3",
        "PM,A-5,Task,Done,Done,Ann,24/Nov/2026 3:05 PM,25/Nov/26 9:00 AM,3")
    config = workspace(tmp_path, export, "export.csv", fields={"estimate": "Story points"})
    assert run(config, capsys)[0] == 0
    got = updated(tmp_path)
    assert got["A-1"] == got["A-2"] == "2026-11-24T10:00:00Z"
    assert got["A-4"] == "2026-11-24T15:30:00Z" and got["A-5"] == "2026-11-24T15:05:00Z"
    assert got["A-3"] is None
    bad = warnings(tmp_path)
    assert list(bad) == ["A-3"]
    assert "column `Updated`: '03/04/2026' could be 3 April or 4 March" in bad["A-3"][0]


def test_an_ambiguous_csv_date_is_decided_by_the_other_rows(tmp_path, capsys):
    export = csv_export("One,A-1,Task,In Progress,In Progress,Ann,03/04/2026 10:00,,3",
                        "Two,A-2,Task,In Progress,In Progress,Ann,24/11/2026 10:00,,3")
    config = workspace(tmp_path, export, "export.csv")
    assert run(config, capsys)[0] == 0
    assert updated(tmp_path) == {"A-1": "2026-04-03T10:00:00Z", "A-2": "2026-11-24T10:00:00Z"}
    assert warnings(tmp_path) == {}


@pytest.mark.slow
@pytest.mark.parametrize("points, said", [("lots", "'lots' is not a number"),
                                          ("-3", "-3 is below 0"),
                                          ("1e300", "1e+300 is past 1e+06"),
                                          ("NaN", "'NaN' is not a finite number")])
def test_an_unreadable_csv_estimate_is_bad_data(tmp_path, capsys, points, said):
    export = csv_export(f"One,A-1,Task,In Progress,In Progress,Ann,24/Nov/26 10:00 AM,,{points}",
                        "Two,A-2,Task,In Progress,In Progress,Ann,24/Nov/26 10:00 AM,,2")
    config = workspace(tmp_path, export, "export.csv", fields={"estimate": "Story points"})
    assert run(config, capsys)[0] == 0
    message = warnings(tmp_path)["A-1"][0]
    assert message == (f"source file: ticket A-1: column `custom field (story points)`: {said}; "
                       "counted as no estimate")
    summary = dict(tab(tmp_path, "Summary")[1:])
    assert 0 <= summary["Aligned effort %"] <= 100


# -- 3. a CSV row without a key ----------------------------------------------------

def test_a_csv_row_without_a_key_is_named_and_skipped(tmp_path, capsys):
    export = csv_export("One,A-1,Task,In Progress,In Progress,Ann,24/Nov/26 10:00 AM,,3",
                        "No key,,Task,In Progress,In Progress,Ann,24/Nov/26 10:00 AM,,3",
                        "Two,A-2,Task,In Progress,In Progress,Ann,24/Nov/26 10:00 AM,,3")
    config = workspace(tmp_path, export, "export.csv")
    code, out = run(config, capsys)
    assert code == 0 and "synced 2 tickets" in out
    line = next(json.loads(x) for x in out.splitlines() if "source.rows_skipped" in x)
    assert line["lines"] == [3] and line["skipped"] == 1 and line["reason"] == "no Issue key"
    assert [r[0] for r in tab(tmp_path, "Tickets")[1:]] == ["A-1", "A-2"]


# -- 4. separators, encodings, empty files -------------------------------------------

def test_check_names_the_rows_a_sync_would_skip(tmp_path, capsys):
    export = csv_export("One,A-1,Task,In Progress,In Progress,Ann,24/Nov/26 10:00 AM,,3",
                        ",,Task,In Progress,In Progress,Ann,24/Nov/26 10:00 AM,,3",
                        "Two,A-2,Task,In Progress,In Progress,Ann,yesterday,,3")
    config = workspace(tmp_path, export, "export.csv")
    main(["check", "--config", config])
    assert ("2 tickets; 1 rows without an Issue key skipped (lines 3); 1 with fields that cannot "
            "be read (bad_data warnings; first: A-2: column `Updated`: 'yesterday' is not a date; "
            "taken as never updated)") in capsys.readouterr().out


def test_a_utf16_tab_separated_export_is_read(tmp_path, capsys):
    export = csv_export("Café,A-1,Task,In Progress,In Progress,René,24/Nov/26 10:00 AM,,3")
    config = workspace(tmp_path, export.replace(",", "\t").encode("utf-16"), "export.csv")
    code, out = run(config, capsys)
    assert code == 0 and tab(tmp_path, "Tickets")[1][2] == "Café"


def test_a_semicolon_csv_export_is_read_with_a_hint(tmp_path, capsys):
    export = csv_export("One,A-1,Task,In Progress,In Progress,Ann,24/Nov/26 10:00 AM,,3",
                        "Two,A-2,Task,In Progress,In Progress,Ann,24/Nov/26 10:00 AM,,2")
    config = workspace(tmp_path, export.replace(",", ";"), "export.csv")
    code, out = run(config, capsys)
    assert code == 0 and "synced 2 tickets" in out
    assert '"event": "source.csv_separator"' in out and '"separator": ";"' in out


def test_a_cp1252_csv_export_is_read_with_a_hint(tmp_path, capsys):
    export = csv_export("Café menu,A-1,Task,In Progress,In Progress,René,24/Nov/26 10:00 AM,,3")
    config = workspace(tmp_path, export.encode("cp1252"), "export.csv")
    code, out = run(config, capsys)
    assert code == 0 and '"read_as": "cp1252"' in out
    assert tab(tmp_path, "Tickets")[1][2] == "Café menu" and tab(tmp_path, "Tickets")[1][7] == "René"


@pytest.mark.parametrize("content", [b"", b"  \n"])
def test_an_empty_json_export_is_called_empty(tmp_path, capsys, content):
    config = workspace(tmp_path, content, "export.json")
    code, out = run(config, capsys)
    assert code == 2 and "the file is empty" in out and "not a Jira CSV export" not in out


def test_a_csv_without_an_issue_key_column_says_so(tmp_path, capsys):
    config = workspace(tmp_path, "Summary;Status\nx;y\n", "export.csv")
    code, out = run(config, capsys)
    assert code == 2 and "not a Jira CSV export (no `Issue key` column" in out


def seeded(tmp_path, seed: str) -> str:
    (tmp_path / "seed.csv").write_text(seed)
    config = workspace(tmp_path, json.dumps(DEMO))
    data = yaml.safe_load(open(config))
    data["sink"]["metrics_seed"] = str(tmp_path / "seed.csv")
    (tmp_path / "align.yaml").write_text(yaml.safe_dump(data))
    return config


def test_a_semicolon_metrics_seed_is_read(tmp_path, capsys):
    config = seeded(tmp_path, "Date;Metric;Value;Note\n2026-11-20;conv_rate;7,5;semicolons\n"
                              "2026-11-21;churn;2;\n")
    assert run(config, capsys)[0] == 0
    assert tab(tmp_path, "Metrics")[1:] == [("2026-11-20", "conv_rate", 7.5, "semicolons"),
                                           ("2026-11-21", "churn", 2, None)]
    conv = next(r for r in tab(tmp_path, "Scorecard") if r[0] == "conv")
    assert conv[6] == 7.5 and conv[7] == 75.0


@pytest.mark.parametrize("seed, said", [("2026-11-20|conv_rate|7.5\n", "the first line is not the header"),
                                        ("", "the file is empty")])
def test_a_metrics_seed_that_cannot_be_read_is_refused_naming_it(tmp_path, capsys, seed, said):
    config = seeded(tmp_path, seed)
    code, out = run(config, capsys)
    assert code == 2 and f"sink.metrics_seed {tmp_path / 'seed.csv'}: {said}" in out
    assert not (tmp_path / "out.xlsx").exists()


@pytest.mark.slow
def test_a_metrics_seed_row_too_short_is_a_bad_metric(tmp_path, capsys):
    config = seeded(tmp_path, "Date,Metric,Value\n2026-11-20,conv_rate\n")
    assert run(config, capsys)[0] == 0
    assert warnings(tmp_path, "bad_metric") == {"": ["Metrics row 2: Value is blank; row ignored"]}


# -- 5. extreme baselines and targets ------------------------------------------------

@pytest.mark.parametrize("where, key", [
    (lambda o: o.update(baseline=-1e308, target=1e308), "outcomes[0].baseline"),
    (lambda o: o["guardrails"][0].update(max=1e300), "outcomes[0].guardrails[0].max"),
    (lambda o: o.update(checkpoints=[{"date": "2026-11-01", "value": -1e16}]),
     "outcomes[0].checkpoints[0].value"),
    (lambda o: o["levers"][0].update(leading={"metric": "ctr", "baseline": 0, "target": 1e20}),
     "outcomes[0].levers[0].leading.target"),
])
def test_a_figure_past_a_metrics_range_is_refused_naming_the_key(tmp_path, capsys, where, key):
    config = workspace(tmp_path, json.dumps(DEMO))
    data = yaml.safe_load(open(config))
    where(data["outcomes"][0])
    (tmp_path / "align.yaml").write_text(yaml.safe_dump(data))
    code, out = run(config, capsys)
    assert code == 2 and key in out and "between -1e15 and 1e15" in out
    assert not (tmp_path / "out.xlsx").exists()


def test_a_tiny_span_gives_a_bounded_progress_not_infinity(tmp_path, capsys):
    config = seeded(tmp_path, "Date,Metric,Value\n2026-11-20,conv_rate,1000\n")
    data = yaml.safe_load(open(config))
    data["outcomes"][0].update(baseline=0, target=1e-300)
    (tmp_path / "align.yaml").write_text(yaml.safe_dump(data))
    assert run(config, capsys)[0] == 0
    conv = next(r for r in tab(tmp_path, "Scorecard") if r[0] == "conv")
    assert conv[7] == 1e15 and conv[11] == "done"


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_a_non_finite_baseline_is_refused_naming_the_key(tmp_path, capsys, value):
    config = workspace(tmp_path, json.dumps(DEMO))
    text = open(config).read().replace("baseline: 6", f"baseline: {value}", 1)
    (tmp_path / "align.yaml").write_text(text)
    code = main(["check", "--config", config])
    out = capsys.readouterr()
    assert code == 2 and "outcomes[0].baseline" in out.err + out.out


def test_a_metric_value_past_the_range_says_so(tmp_path):
    from sync.core.inputs import readings
    assert readings([["2026-11-20", "conv_rate", 1e300]])[1] == \
        ["Metrics row 2: Value 1e+300 is past ±1e+15; row ignored"]


@pytest.mark.slow
@pytest.mark.parametrize("value", ["NaN", "inf", "1e300", "#NUM!"])
def test_a_metric_value_that_is_no_number_is_a_bad_metric(tmp_path, capsys, value):
    config = seeded(tmp_path, f"Date,Metric,Value\n2026-11-20,conv_rate,{value}\n2026-11-19,conv_rate,7\n")
    assert run(config, capsys)[0] == 0
    assert warnings(tmp_path, "bad_metric")[""] == [f"Metrics row 2: Value '{value}' is not a number; row ignored"]
    assert next(r for r in tab(tmp_path, "Scorecard") if r[0] == "conv")[6] == 7


@pytest.mark.slow
def test_a_headerless_column_survives_in_google_sheets(env):
    from .test_sheets import tickets
    env.sync(tickets("A-1", "A-2", "A-3"))
    tab = env.fake.tabs["Tickets"]
    tab["cols"] = OWNED + 3                                   # the person added three columns
    tab["cells"][(2, OWNED)] = {"userEnteredValue": {"stringValue": "blocked on legal"}}
    tab["cells"][(3, OWNED + 2)] = {"userEnteredValue": {"formulaValue": "=I4*2"}}
    env.sync(tickets("A-0", "A-2", "A-3"), now=NOW + timedelta(minutes=15))          # A-1 gone
    env.sync(tickets("A-0", "A-2", "A-3", "A-4"), now=NOW + timedelta(minutes=30))
    values = env.fake.values("Tickets")
    rows = {r[0]: r[OWNED:] for r in values[1:]}
    assert values[0][OWNED:] == []                             # still no header
    assert rows == {"A-0": [], "A-2": ["blocked on legal"], "A-3": [None, None, "=I4*2"], "A-4": []}


def test_a_headerless_column_among_ours_is_found_by_its_cells():
    from sync.core.inputs import extra_columns
    owned = HEADERS["Tickets"]
    moved = owned[:3] + [None, "Notes"] + owned[3:]          # two columns inserted after Title
    row = ["A-1", "jira", "t", "typed here", "a note"] + [None] * (len(owned) - 3)
    assert extra_columns([moved, row, ["A-2"] + [None] * len(owned)]) == \
        (["", "Notes"], {"A-1": ["typed here", "a note"]})


def test_a_jira_issue_updated_in_9999_does_not_move_the_cursor(tmp_path):
    """Live Jira (real client, mocked HTTP): the year-9999 issue is bad data,
    and a later edit of another issue is still fetched."""
    import responses

    from .fakes import FakeJira, make_issues
    from .test_jira import START, cloud_config, fetch
    from sync.worker.state import State
    state = State(tmp_path / "state.db")
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            fake = FakeJira(rsps, make_issues(20, START))
            fake.issues[3]["fields"]["updated"] = "9999-12-31T00:00:00.000+0000"
            first = fetch(cloud_config(), state)
            assert state.get("jira", "cursor") == "2026-11-20T08:19:00+00:00"
            key = fake.issues[3]["key"]
            assert first[key].updated is not None                # read; the core judges the future
            fake.issues[7]["fields"].update(summary="Edited", updated="2026-11-26T09:30:00.000+0000")
            later = fetch(cloud_config(), state, NOW + timedelta(hours=1))
            assert later[fake.issues[7]["key"]].title == "Edited"
    finally:
        state.close()


def test_a_trello_card_with_an_unreadable_activity_time_is_bad_data(tmp_path, capsys):
    board = json.loads((ROOT / "tests/fixtures/trello_board_export.json").read_text())
    card = next(c for c in board["cards"] if not c.get("closed"))
    card["dateLastActivity"] = "2026-13-01T10:00:00.000Z"
    config = workspace(tmp_path, json.dumps(board), "board.json")
    assert run(config, capsys)[0] == 0
    said = warnings(tmp_path)[card["shortLink"]]
    assert any("`dateLastActivity`: '2026-13-01T10:00:00.000Z' is not a date" in m for m in said)


# -- hostile values a tester found: one ticket's problem, never the sync's ---------

def _nested(depth: int) -> dict:
    node: dict = {"type": "text", "text": "deep"}
    for _ in range(depth):
        node = {"type": "paragraph", "content": [node]}
    return {"type": "doc", "version": 1, "content": [node]}


def test_a_huge_number_in_a_date_and_a_description_nested_400_deep_are_bad_data(tmp_path, capsys):
    data = copy.deepcopy(DEMO)
    first, second = data["issues"][0], data["issues"][1]
    first["fields"]["updated"] = 10 ** 3999                  # valid JSON, 4,000 digits
    second["fields"]["description"] = _nested(400)           # valid JSON, past the recursion limit
    code, said = run(workspace(tmp_path, json.dumps(data)), capsys)
    assert code == 0, said
    found = warnings(tmp_path)
    assert "is not a date" in " ".join(found[first["key"]])
    assert "`description` is nested too deeply to read" in " ".join(found[second["key"]])


def test_a_number_past_4300_digits_refuses_the_export_naming_its_line(tmp_path, capsys):
    text = json.dumps(DEMO).replace('"updated": ', '"updated": ' + "9" * 5000 + ', "was": ', 1)
    code, said = run(workspace(tmp_path, text), capsys)
    assert code != 0 and "a number with thousands of digits" in said and "line 1" in said
