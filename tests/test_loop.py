"""The rest of the ALIGN loop (issue 29): leading indicators per lever,
checkpoints per outcome, time-boxed experiments — through a real xlsx sync
of a generated Jira export, with the readings in the sink's metrics seed.

The data, seen from NOW (2026-11-26, cadence 7d, so the two-cadence window
opens 2026-11-12 09:00):

- outcome `up` (10 → 20, 2026-10-01 → 2026-12-31, 61.5% of the time
  elapsed) reads 14 on 11-20: progress 40%.  Checkpoints 11-01 → 11 and
  12-01 → 14 plan 13.5 on 11-26 (35% planned): on track with them, at risk
  (40 < 61.5 − 10) without.  11-01's first reading on or after it is 10.5
  (11-03): missed.
- outcome `down` (5 → 3, lower is better) reads 4.3 on 11-20: progress 35%.
  Checkpoints 11-01 → 4.5 (met by 4.4 on 11-02: lower), 11-22 → 4.2 (no
  reading since, so the latest, 4.3: missed), 12-15 → 3.5 (not yet).  The
  plan on 11-26 is 4.2 − 0.7 × 4/23 = 4.078 (46.1% planned): at risk with
  checkpoints, off track (35 < 61.5 − 25) without.
- levers of `up`: `moved` (moved_ctr 2.2 → 2.5, 3 done in the window),
  `flat` (flat_ctr 2.2 → 2.2, 3 done in the window: leading_flat),
  `few` (few_ctr, 10 → 5, reads 9; 2 done in the window and 1 before it),
  `noread` (a leading metric with no reading).
- levers of `down`: `exp-active` (time-boxed to 11-20, one active ticket),
  `exp-done` (time-boxed to 11-20, all done), `exp-future` (to 12-10, active).
"""
from __future__ import annotations

import copy
import csv
import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace as NS

import openpyxl
import pytest
import yaml

from connectors.xlsx.sink import XlsxSink
from sync.cli import commands
from sync.cli import main as cli
from sync.core.outcomes import Leading, Lever
from sync.core.present.report import HEADERS, SUMMARY_FIELDS
from sync.core.present.review_lines import leading_lines
from sync.worker import configfile
from sync.worker.runtime import Runtime
from sync.worker.state import State
from sync.worker.workspace import build_sources

from .conftest import NOW, sync_over
from .fakes import make_issues

SITE = "https://acme.atlassian.net"
LEVER_COLUMNS = ["Leading metric", "Leading current", "Leading progress %", "Experiment until"]
LOOP_KINDS = {"checkpoint_missed", "leading_flat", "experiment_overdue"}

# (label, done on this day or None for active)
WORK = [("moved", "2026-11-20"), ("moved", "2026-11-21"), ("moved", "2026-11-22"),
        ("flat", "2026-11-20"), ("flat", "2026-11-21"), ("flat", "2026-11-22"), ("flat", None),
        ("few", "2026-11-05"), ("few", "2026-11-20"), ("few", "2026-11-21"), ("few", None),
        ("noread", None),
        ("expa", None), ("expa", "2026-11-18"),
        ("expd", "2026-11-10"), ("expd", "2026-11-18"),
        ("expf", None),
        ("misc", None)]             # maps to no lever: `explain` shows no loop at all

READINGS = [("2026-10-01", "up_rate", 10), ("2026-11-03", "up_rate", 10.5),
            ("2026-11-20", "up_rate", 14),
            ("2026-10-01", "down_rate", 5), ("2026-11-02", "down_rate", 4.4),
            ("2026-11-20", "down_rate", 4.3),
            ("2026-11-01", "moved_ctr", 2.2), ("2026-11-25", "moved_ctr", 2.5),
            ("2026-11-01", "flat_ctr", 2.2), ("2026-11-25", "flat_ctr", 2.2),
            ("2026-11-01", "few_ctr", 9)]


def export(work: list[tuple[str, str | None]]) -> dict:
    """A Jira Cloud search page: one issue per entry, done ones resolved that day."""
    issues = make_issues(len(work), NOW - timedelta(days=1), url=SITE)
    for issue, (label, done) in zip(issues, work):
        f = issue["fields"]
        f["labels"] = [label]
        f["components"] = []
        f.pop("parent", None)
        if done:
            stamp = f"{done}T12:00:00.000+0000"
            f["status"] = copy.deepcopy(f["status"])
            f["status"]["name"] = "Done"
            f["status"]["statusCategory"].update(key="done", name="Done", id=3)
            f["updated"] = f["resolutiondate"] = stamp
            f["resolution"] = {"name": "Done"}
    return {"issues": issues, "isLast": True}


def lever(ident: str, label: str, **loop) -> dict:
    return {"id": ident, "name": ident.title(), "owner": "Lena", "impact": 6, "effort": 3,
            "match": {"labels": [label]}, **loop}


def loop_config(tmp_path, *, loop: bool = True, work=WORK, checkpoints=None) -> dict:
    """The test team's config; `loop=False` drops every new key."""
    def keys(**given):
        return given if loop else {}
    up_points = [{"date": "2026-11-01", "value": 11}, {"date": "2026-12-01", "value": 14}]
    down_points = [{"date": "2026-11-01", "value": 4.5}, {"date": "2026-11-22", "value": 4.2},
                   {"date": "2026-12-15", "value": 3.5}]
    page = tmp_path / "export.json"
    page.write_text(json.dumps(export(work)))
    seed = tmp_path / "metrics.csv"
    with open(seed, "w", newline="") as fh:
        csv.writer(fh).writerows([["Date", "Metric", "Value", "Note"]] + [list(r) + [""] for r in READINGS])
    return {
        "source": {"type": "file", "path": str(page), "url": SITE,
                   "fields": {"estimate": "customfield_10016"}},
        "sink": {"type": "xlsx", "path": str(tmp_path / "book.xlsx"), "metrics_seed": str(seed)},
        "state": str(tmp_path / "state.db"),
        "review": {"cadence": "7d", "levers_per_outcome": [1, 6]},
        "outcomes": [
            {"id": "up", "name": "Up", "metric": "up_rate", "baseline": 10, "target": 20,
             "start": "2026-10-01", "deadline": "2026-12-31", "owner": "Dana",
             **keys(checkpoints=checkpoints if checkpoints is not None else up_points),
             "levers": [
                 lever("moved", "moved", **keys(leading={"metric": "moved_ctr", "baseline": 2, "target": 3})),
                 lever("flat", "flat", **keys(leading={"metric": "flat_ctr", "baseline": 2, "target": 3})),
                 lever("few", "few", **keys(leading={"metric": "few_ctr", "baseline": 10, "target": 5})),
                 lever("noread", "noread", **keys(leading={"metric": "missing_ctr", "baseline": 1,
                                                           "target": 2}))]},
            {"id": "down", "name": "Down", "metric": "down_rate", "baseline": 5, "target": 3,
             "start": "2026-10-01", "deadline": "2026-12-31", "owner": "Priya",
             **keys(checkpoints=down_points),
             "levers": [lever("exp-active", "expa", **keys(experiment_until="2026-11-20")),
                        lever("exp-done", "expd", **keys(experiment_until="2026-11-20")),
                        lever("exp-future", "expf", **keys(experiment_until="2026-12-10"))]},
        ],
    }


def sync(tmp_path, data: dict) -> dict[str, list[tuple]]:
    """One `run --once` into a new workbook; every owned tab's rows, header first."""
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    config, _ = configfile.load(path)
    state = State(config.state)
    try:
        sync_over(config, build_sources(config, Runtime()), XlsxSink(config.sink), state, NOW)
    finally:
        state.close()
    wb = openpyxl.load_workbook(config.sink.path)
    return {name: list(wb[name].iter_rows(values_only=True))
            for name in ("Summary", "Scorecard", "Levers", "Warnings")}


def by_id(rows: list[tuple], column: int = 1) -> dict:
    return {r[column]: r for r in rows[1:]}


def warnings(tabs, kind: str) -> list[tuple]:
    return [r for r in tabs["Warnings"][1:] if r[1] == kind]


@pytest.fixture(scope="module")
def looped(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("loop")
    return sync(tmp, loop_config(tmp))


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plain")
    return sync(tmp, loop_config(tmp, loop=False))


def test_levers_tab_has_the_four_columns_with_figures_by_hand(looped):
    header = list(looped["Levers"][0])
    assert header == HEADERS["Levers"] and header[-4:] == LEVER_COLUMNS
    rows = {lid: row[-4:] for lid, row in by_id(looped["Levers"]).items()}
    assert rows["moved"] == ("moved_ctr", 2.5, 50.0, None)          # (2.5 − 2) ÷ (3 − 2)
    assert rows["flat"] == ("flat_ctr", 2.2, 20.0, None)            # (2.2 − 2) ÷ 1
    assert rows["few"] == ("few_ctr", 9, 20.0, None)                # (9 − 10) ÷ (5 − 10)
    assert rows["noread"] == ("missing_ctr", None, None, None)      # no reading: blank
    assert rows["exp-active"] == (None, None, None, "2026-11-20")
    assert rows["exp-future"] == (None, None, None, "2026-12-10")


def test_leading_flat_exactly_where_three_were_done_and_the_metric_stayed(looped):
    found = warnings(looped, "leading_flat")
    assert [(w[0], w[5]) for w in found] == [("medium", "flat")]
    assert ("3 tickets done in the last 14d but the leading metric flat_ctr went 2.2 → 2.2"
            in found[0][6]) and "rethink the lever" in found[0][6]
    # `moved` had 3 done and moved; `few` had 3 done but only 2 in the window; `noread` none.


def test_experiment_overdue_only_while_active_tickets_remain(looped, tmp_path):
    found = warnings(looped, "experiment_overdue")
    assert [(w[0], w[4], w[5]) for w in found] == [("medium", "down", "exp-active")]
    assert "until 2026-11-20" in found[0][6] and "1 active ticket" in found[0][6]
    assert "stop it, keep it as a lever" in found[0][6] and "extend the date" in found[0][6]
    # The last active ticket of the experiment is done: the warning goes.
    finished = [(label, done or "2026-11-25") if label == "expa" else (label, done)
                for label, done in WORK]
    again = sync(tmp_path, loop_config(tmp_path, work=finished))
    assert warnings(again, "experiment_overdue") == []


def test_status_against_the_plan_with_checkpoints_and_time_without(looped, plain):
    status = HEADERS["Scorecard"].index("Status")
    progress = HEADERS["Scorecard"].index("Progress %")
    elapsed = HEADERS["Scorecard"].index("Time elapsed %")
    with_cp, without = by_id(looped["Scorecard"], 0), by_id(plain["Scorecard"], 0)
    for ident in ("up", "down"):
        # The same readings, the same progress and time elapsed...
        assert with_cp[ident][progress] == without[ident][progress]
        assert with_cp[ident][elapsed] == without[ident][elapsed] == 61.5
    assert (with_cp["up"][progress], with_cp["down"][progress]) == (40.0, 35.0)
    # ...but a different yardstick: 35% and 46.1% planned instead of 61.5% elapsed.
    assert (with_cp["up"][status], without["up"][status]) == ("on track", "at risk")
    assert (with_cp["down"][status], without["down"][status]) == ("at risk", "off track")
    off = {w[4]: w[6] for w in warnings(looped, "off_track")}
    assert off == {"down": "at risk: progress 35% vs 46.1% planned by the checkpoints"}


def test_checkpoint_missed_in_both_directions_once_per_checkpoint(looped):
    found = sorted((w[4], w[6]) for w in warnings(looped, "checkpoint_missed"))
    assert [w[0] for w in found] == ["down", "up"]
    assert all(w[0] == "high" for w in warnings(looped, "checkpoint_missed"))
    # Lower is better: 4.4 on 11-02 meets 11-01's 4.5; 11-22 has no reading since, so the
    # latest (4.3) is judged, and it is short of 4.2.
    assert found[0][1].startswith("checkpoint 2026-11-22 planned down_rate at 4.2; it was 4.3 on "
                                  "2026-11-20")
    # Higher is better: the first reading on or after 11-01 is 10.5 (11-03), short of 11,
    # though a later reading (14) has caught up.
    assert found[1][1].startswith("checkpoint 2026-11-01 planned up_rate at 11; it was 10.5 on "
                                  "2026-11-03")
    summary = dict(looped["Summary"][1:])
    assert summary["Missed checkpoints"] == "up (2026-11-01), down (2026-11-22)"
    assert summary["Flat leading metrics"] == "flat"
    assert summary["Overdue experiments"] == "exp-active"


def test_a_config_without_the_new_keys_is_unchanged(looped, plain):
    assert [r[0] for r in plain["Summary"][1:]] == SUMMARY_FIELDS
    assert not {r[1] for r in plain["Warnings"][1:]} & LOOP_KINDS
    assert all(msg.endswith("of the time elapsed") for *_, msg in warnings(plain, "off_track"))
    for lid, row in by_id(plain["Levers"]).items():
        assert row[-4:] == (None, None, None, None)
        assert row[:-4] == by_id(looped["Levers"])[lid][:-4]       # every older figure as before
    # Every warning but the loop's and the status-driven ones is the same.
    other = lambda tabs: sorted(r for r in tabs["Warnings"][1:]
                                if r[1] not in LOOP_KINDS | {"off_track"})
    assert other(plain) == other(looped)


@pytest.mark.parametrize("points, where, said", [
    ([{"date": "2026-11-01", "value": 11}, {"date": "2026-10-15", "value": 12}],
     "outcomes[0].checkpoints[1].date", "must come after the checkpoint before it (2026-11-01)"),
    ([{"date": "2026-10-01", "value": 11}],
     "outcomes[0].checkpoints[0].date", "must lie strictly between start 2026-10-01 and deadline"),
    ([{"date": "2027-01-15", "value": 11}],
     "outcomes[0].checkpoints[0].date", "must lie strictly between"),
    ([{"date": "2026-11-01", "value": 11}, {"date": "2026-11-01", "value": 12}],
     "outcomes[0].checkpoints[1].date", "must come after"),
])
def test_check_refuses_bad_checkpoint_dates(tmp_path, capsys, points, where, said):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(loop_config(tmp_path, checkpoints=points)))
    assert cli.main(["check", "--config", str(path)]) == 2
    out = "".join(capsys.readouterr())
    assert f"{path}: {where}: " in out and said in out, out


def test_review_print_names_the_next_checkpoint_and_the_leading_metrics(tmp_path, capsys,
                                                                        monkeypatch):
    monkeypatch.setattr(commands, "_now", lambda: NOW)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(loop_config(tmp_path)))
    assert cli.main(["run", "--once", "--config", str(path)]) == 0      # the review's baseline
    # Since then the team entered one more reading of moved_ctr, none of flat_ctr.
    book = tmp_path / "book.xlsx"
    wb = openpyxl.load_workbook(book)
    wb["Metrics"].append(["2026-11-26", "moved_ctr", 2.8, ""])
    wb.save(book)
    capsys.readouterr()
    assert cli.main(["review", "--print", "--config", str(path)]) == 0
    printed = capsys.readouterr().out
    up, down = printed.split("## Down [down]")
    assert "- next checkpoint: 2026-12-01: up_rate 14" in up
    assert "- next checkpoint: 2026-12-15: down_rate 3.5" in down
    assert "- leading: moved: moved_ctr moved since the last review (2.5 → 2.8)" in up
    assert "- leading: flat: flat_ctr did not move since the last review (2.2 → 2.2)" in up
    assert "leading" not in down and "noread" not in up        # no indicator, no reading: no line


def test_init_drafts_commented_placeholders_that_validate_once_filled(tmp_path, capsys,
                                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    page = export([(f"area-{i % 4}", None) for i in range(40)])
    (tmp_path / "x.json").write_text(json.dumps(page))
    assert cli.main(["init", "--out", str(tmp_path / "align-sync.yaml"), "--path",
                     str(tmp_path / "x.json")]) == 0
    text = (tmp_path / "align-sync.yaml").read_text()
    assert "    # checkpoints:" in text and "        # leading: {metric:" in text
    assert "        # experiment_until:" in text
    config, _ = configfile.load(tmp_path / "align-sync.yaml")          # still valid as drafted
    assert not config.outcomes[0].checkpoints
    assert not any(lv.leading or lv.experiment_until for lv in config.outcomes[0].levers)
    # Uncommented, the placeholders are config the schema accepts.
    filled = "\n".join(line.replace("# ", "", 1) if line.lstrip().startswith(
        ("# checkpoints", "#   - {date", "# leading", "# experiment_until")) else line
        for line in text.splitlines())
    (tmp_path / "filled.yaml").write_text(filled)
    config, _ = configfile.load(tmp_path / "filled.yaml")
    assert len(config.outcomes[0].checkpoints) == 2
    assert all(lv.leading and lv.experiment_until for lv in config.outcomes[0].levers)


def test_explain_on_a_lever_less_ticket_is_unchanged(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(commands, "_now", lambda: NOW)
    key = f"GROW-{100 + len(WORK) - 1}"                # the `misc` ticket
    printed = []
    for loop in (True, False):
        path = tmp_path / f"c{loop}.yaml"
        path.write_text(yaml.safe_dump(loop_config(tmp_path, loop=loop)))
        assert cli.main(["explain", key, "--config", str(path)]) == 0
        printed.append(capsys.readouterr().out)
    assert printed[0] == printed[1] and "Unmapped" in printed[0]


def test_a_leading_line_without_a_review_before_it_names_the_baseline_as_its_window():
    lever = Lever(id="emails", name="Emails", leading=Leading(metric="ctr", baseline=2.0, target=3.0))
    a = NS(levers=[NS(outcome=NS(id="conv"), lever=lever, leading_current=2.4)])
    assert leading_lines({}, a, "conv") == ["emails: ctr moved since the baseline (2 → 2.4)"]
    assert leading_lines({"leading": {"emails": 2.6}}, a, "conv") == [
        "emails: ctr did not move since the last review (2.6 → 2.4)"]
