"""The demo looks the same any day it is run (issue 26): `make demo`'s own
command, from a folder that is not the repo, under three wall clocks (today,
two months on, next summer), writes the same warnings, statuses, Summary
figures and Review block; and those are the figures the README quotes from
its pictures.

time-machine moves every clock the process reads (datetime.now, time.time),
so nothing in the sync can see the real day."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import openpyxl
import pytest
import time_machine

from sync.cli.main import main

from .conftest import ROOT

TODAY = datetime.now(timezone.utc)
CLOCKS = {"today": TODAY, "two months on": TODAY + timedelta(days=61),
          "next summer": datetime(TODAY.year + 1, 7, 15, 12, 0, tzinfo=timezone.utc)}


def run_demo(folder) -> dict:
    """`align-sync run --once --config <repo>/config/demo.yaml` in `folder`; the tabs it wrote."""
    assert main(["run", "--once", "--config", str(ROOT / "config" / "demo.yaml")]) == 0
    wb = openpyxl.load_workbook(folder / "out" / "demo.xlsx")
    return {tab: [list(r) for r in wb[tab].iter_rows(min_row=2, values_only=True)]
            for tab in ("Summary", "Scorecard", "Warnings", "Review", "History")}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = {}
    for name, when in CLOCKS.items():
        folder = tmp_path_factory.mktemp(name.replace(" ", "-"))
        with pytest.MonkeyPatch.context() as mp, time_machine.travel(when, tick=False):
            mp.chdir(folder)
            assert datetime.now(timezone.utc).date() == when.date()    # the clock did move
            out[name] = run_demo(folder)
    return out


@pytest.mark.slow
def test_every_wall_clock_gives_the_same_workbook(written):
    first = written["today"]
    for name, tabs in written.items():
        for tab in first:
            assert tabs[tab] == first[tab], f"{tab} differs {name}"
    summary = dict(first["Summary"])
    assert summary["Last sync"] == "2026-11-26T09:00:00Z"
    assert [r[11] for r in first["Scorecard"]] == ["on track", "off track", "at risk"]
    # The export's own stale tickets, not every active one (56) as an aged clock would make.
    assert sum(r[1] == "stale" for r in first["Warnings"]) == 11


def test_the_first_sync_writes_a_review_block(written):
    review = written["today"]["Review"]
    assert [r[1] for r in review] == ["conversion", "activation", "expansion", "*"]
    conversion = review[0]
    # Against the earliest History set (2026-10-01: 0% progress, on track).
    assert conversion[0] == "2026-11-26T09:00:00Z" and conversion[3] == "on track"
    assert conversion[4] == 65 and conversion[5] == 65


def readme_figures() -> tuple[dict[str, list[str]], str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("<!-- demo-figures")
    rows = {}
    lines = text[start:].splitlines()[1:]
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    team = " ".join(lines[len(rows) + 2:len(rows) + 6])
    return rows, team


def test_the_readme_quotes_what_the_demo_writes(written):
    rows, team = readme_figures()
    tabs = written["today"]
    heads = ["Outcome ID", "Outcome", "Owner", "Metric", "Baseline", "Target", "Current", "Progress %",
             "Start", "Deadline", "Time elapsed %", "Status", "Levers", "Active tickets", "Done tickets",
             "Aligned effort", "Average task score", "Warnings"]
    wanted = ["Current", "Progress %", "Time elapsed %", "Status", "Aligned effort"]
    scorecard = {r[0]: [f"{r[heads.index(h)]:g}" if isinstance(r[heads.index(h)], (int, float))
                        else r[heads.index(h)] for h in wanted] for r in tabs["Scorecard"]}
    assert rows == scorecard
    summary = dict(tabs["Summary"])
    severities = [r[0] for r in tabs["Warnings"]]
    quoted = re.search(r"aligned effort ([\d.]+)% of active effort, (\d+) active tickets, (\d+) "
                       r"unmapped,\s+(\d+) warnings \((\d+) high, (\d+) medium, (\d+) low\)", team)
    assert quoted, team
    assert quoted.groups() == (f"{summary['Aligned effort %']:g}", str(summary["Active tickets"]),
                               str(summary["Unmapped tickets"]), str(summary["Warnings"]),
                               str(severities.count("high")), str(severities.count("medium")),
                               str(severities.count("low")))
