"""A newcomer's first hour (issue 26): the command's small promises, the
output a person and a pipe read, `check` on an `init` draft, the review on
first use, and what the demo workbook shows."""
from __future__ import annotations

import copy
import io
import json
import re
import zipfile

import openpyxl
import pytest
import yaml

from sync.cli import console
from sync.cli.main import main
from sync.core.present import review
from sync.worker.progress import Progress

from .conftest import ROOT, base_config
from .test_terminal import Clock

DEMO = str(ROOT / "config" / "demo.yaml")


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A working directory that is not the repo."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_config(folder, **over) -> str:
    path = folder / "c.yaml"
    path.write_text(yaml.safe_dump(base_config(**over)))
    return str(path)


# -- the command ----------------------------------------------------------------

def test_version_exits_0(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert re.fullmatch(r"align-sync \d+\.\d+\.\d+\n", capsys.readouterr().out)


def test_a_missing_export_says_where_it_looked(elsewhere, capsys):
    path = write_config(elsewhere, source={"type": "file", "path": "demo/nothing.json"})
    assert main(["run", "--once", "--config", path]) == 2
    err = capsys.readouterr().err
    assert "file not found" in err and str(elsewhere / "demo" / "nothing.json") in err
    assert "working directory, then from the config file's folder" in err


def test_as_of_is_refused_for_a_live_tracker(elsewhere, capsys):
    path = write_config(elsewhere, as_of="2026-11-26T09:00:00Z",
                        source={"type": "jira", "url": "https://acme.atlassian.net", "jql": "x",
                                "auth": {"email": "a@b.c", "token": "t0ken-xyz"}})
    assert main(["check", "--config", path]) == 2
    assert "as_of pins the clock for saved exports" in capsys.readouterr().err


def test_plurals():
    assert console.plural(1, "outcome") == "1 outcome" and console.plural(2, "ticket") == "2 tickets"
    assert console.plural(0, "warning") == "0 warnings"


# -- output: a pipe, a person ------------------------------------------------------

def test_the_dry_run_leads_with_the_headline_and_all_lists_every_warning(elsewhere, capsys):
    assert main(["run", "--once", "--dry-run", "--config", DEMO]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[2] == "aligned effort 83.6%; 3 outcomes: 1 off track, 1 at risk, 1 on track"
    assert lines[3].startswith("  1. 1 guardrail_breach")
    assert lines[4] == "  2. 12 unmapped → `align-sync suggest` proposes rules for them"
    assert lines[-1] == "... and 63 more: --all lists every one"     # 71: two forecast_miss (issue 23)
    assert len(lines) < 50                   # the headline stays on a 50-row screen
    assert main(["run", "--once", "--dry-run", "--all", "--config", DEMO]) == 0
    every = capsys.readouterr().out
    assert "more" not in every.splitlines()[-1]
    table = every[every.index("Warnings (71)"):].splitlines()[3:]
    assert len(table) == 71


def test_a_dry_run_honours_log_format_json(elsewhere, capsys):
    assert main(["run", "--once", "--dry-run", "--config", DEMO, "--log-format", "json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    summary = events[-1]
    assert summary["event"] == "dry_run.summary" and summary["summary"]["Aligned effort %"] == 83.6
    assert len(summary["warnings"]) == 71 and summary["actions"][1].startswith("12 unmapped")
    assert not (elsewhere / "out").exists()


def test_check_honours_log_format_json(elsewhere, capsys):
    assert main(["check", "--config", DEMO, "--log-format", "json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["ok"] for e in events] == [True, True, True, True] and events[1]["what"] == "source file: 80 tickets"
    assert events[3]["what"].startswith("metrics warehouse: SQLite file ")     # the demo's metric source


def test_the_log_names_a_review_only_when_there_is_one(elsewhere, capsys):
    path = write_config(elsewhere, source={"type": "file", "path": str(ROOT / "config/demo/jira-search.json")},
                        sink={"type": "xlsx", "path": str(elsewhere / "b.xlsx")},
                        state=str(elsewhere / "s.db"))
    assert main(["run", "--once", "--config", path]) == 0
    written = [json.loads(line) for line in capsys.readouterr().out.splitlines()
               if '"sink.written"' in line]
    assert written and "review" not in written[0]


@pytest.mark.slow
def test_progress_for_a_big_export_and_an_xlsx_write(tmp_path):
    from connectors.files.source import FileSource, FileSourceConfig
    from connectors.xlsx.sink import XlsxSink, XlsxSinkConfig
    page = json.loads((ROOT / "config/demo/jira-search.json").read_text())
    issues = []
    for n in range(1500):
        issue = copy.deepcopy(page["issues"][n % len(page["issues"])])
        issue["key"], issue["id"] = f"BIG-{n}", str(100000 + n)
        issues.append(issue)
    (tmp_path / "big.json").write_text(json.dumps({**page, "issues": issues}))
    out = io.StringIO()
    progress = Progress(enabled=True, stream=out, clock=Clock(1.0))
    source = FileSource(FileSourceConfig(type="file", path=str(tmp_path / "big.json")), "file",
                        progress=progress)
    assert len(source.fetch()) == 1500
    assert "source file: reading big.json: 1,500 issues" in out.getvalue()

    from connectors.memory import MemorySource
    from sync.core.config import Config
    from sync.worker.state import State
    from .conftest import NOW, sync_over, ticket
    out.seek(0)
    out.truncate()
    cfg = Config.model_validate(base_config())
    sink = XlsxSink(XlsxSinkConfig(type="xlsx", path=str(tmp_path / "b.xlsx")), progress=progress)
    state = State(tmp_path / "s.db")
    try:
        sync_over(cfg, [MemorySource("jira", [ticket(f"K-{n}") for n in range(12000)])], sink, state, NOW)
    finally:
        state.close()
    assert re.search(r"sink xlsx: writing .*b\.xlsx: .*Tickets rows", out.getvalue()), out.getvalue()


# -- check on an init draft --------------------------------------------------------

def test_check_refuses_init_placeholders_naming_each(elsewhere, capsys):
    draft = elsewhere / "align-sync.yaml"
    assert main(["init", "--path", str(ROOT / "config/demo/jira-search.json"), "--out", str(draft)]) == 0
    capsys.readouterr()
    assert main(["check", "--config", str(draft)]) == 2
    out = capsys.readouterr().out
    for key in ("outcomes[0].name: still reads TODO", "outcomes[0].metric: `todo_metric`",
                "outcomes[0].baseline: marked TODO", "outcomes[0].target", "outcomes[0].deadline",
                "outcomes[0].levers[0].name"):
        assert key in out, key
    assert "owner" not in out                     # a commented-out suggestion is not a value
    filled = re.sub(r"\s+# TODO.*", "", draft.read_text())
    filled = filled.replace('"TODO: the measurable result this work serves"', "Conversion")
    filled = filled.replace("todo_metric", "trial_to_paid_rate")
    draft.write_text(filled)
    assert main(["check", "--config", str(draft)]) == 0, capsys.readouterr().out


# -- the review on first use ---------------------------------------------------------

def test_review_print_without_any_earlier_review_says_so(elsewhere, capsys):
    path = write_config(elsewhere, source={"type": "file", "path": str(ROOT / "config/demo/jira-search.json")},
                        sink={"type": "xlsx", "path": str(elsewhere / "never.xlsx")},
                        state=str(elsewhere / "s.db"))
    assert main(["review", "--print", "--config", path]) == 0
    out = capsys.readouterr().out
    assert "No earlier review and no History" in out and "+0 pts" not in out
    assert "never.xlsx" not in out                 # no workbook exists yet: none is named


@pytest.mark.slow
def test_the_demo_review_shows_real_changes_and_standing_problems(elsewhere, capsys):
    assert main(["run", "--once", "--config", DEMO]) == 0
    capsys.readouterr()
    assert main(["review", "--print", "--config", DEMO]) == 0
    out = capsys.readouterr().out
    assert "The first review: compared with the earliest History (2026-10-01T09:00:00Z)" in out
    assert "progress 65% (+65 pts)" in out and "off track (was on track)" in out
    assert "- still open: guardrail_breach 1" in out
    assert "Sheet: out/demo.xlsx" in out


def test_standing_problems_appear_in_every_review():
    from sync.core.assess.assessment import assess
    from sync.core.config import Config
    from .conftest import NOW, reading, ticket
    cfg = Config.model_validate(base_config())
    readings = [reading("2026-10-01", "conv_rate", 6.0), reading("2026-11-20", "conv_rate", 6.1),
                reading("2026-11-20", "churn", 4.0)]                 # churn over its max of 3
    a = assess([ticket("A-1", labels=("onboarding-email",))], cfg, readings, NOW)
    # The same state a week apart: nothing new, nothing resolved, the breach still named.
    d = review.digest(review.snapshot(a), a, "2026-11-30T09:00:00Z")
    conv = next(r for r in d.rows if r.outcome_id == "conv")
    assert not conv.new_warnings and "guardrail_breach" in conv.standing and "off_track" in conv.standing
    from sync.core.present.review_text import render_text
    assert "still open: off_track 1; guardrail_breach 1" in render_text(d) or \
        "still open: guardrail_breach 1; off_track 1" in render_text(d)


# -- the demo workbook -------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_book(tmp_path_factory):
    folder = tmp_path_factory.mktemp("book")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        assert main(["run", "--once", "--config", DEMO]) == 0
    return folder / "out" / "demo.xlsx"


def test_trend_chart_straight_dated_and_0_to_100(demo_book):
    wb = openpyxl.load_workbook(demo_book)
    assert [r[0] for r in wb["Trend"].iter_rows(min_row=2, max_row=3, values_only=True)] == \
        ["2026-10-01", "2026-10-08"]
    with zipfile.ZipFile(demo_book) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    line = next(c for c in charts if re.search(r"<(c:)?lineChart>", c))
    assert re.search(r'<(c:)?smooth val="0"\s*/>', line) and not re.search(r'smooth val="1"', line)
    assert re.search(r'<(c:)?max val="100"\s*/>', line) and re.search(r'<(c:)?min val="0"\s*/>', line)
    assert re.search(r"<(c:)?cat><(c:)?strRef><(c:)?f>'Trend'!\$A\$2:\$A\$10<", line)


def test_severity_coloured_and_aligned_effort_explained(demo_book):
    wb = openpyxl.load_workbook(demo_book)
    rules = {r.formula[0]: r.dxf.fill.fgColor.rgb for cf in wb["Warnings"].conditional_formatting
             for r in cf.rules}
    assert rules['"high"'].endswith("F4C7C3") and rules['"medium"'].endswith("FCE8B2")
    scorecard = wb["Scorecard"]
    header = [c.value for c in scorecard[1]]
    note = scorecard.cell(row=1, column=header.index("Aligned effort") + 1).comment
    assert note and "share of the team's active effort" in note.text


# -- the build -----------------------------------------------------------------------

def test_makefile_echoes_no_comment_and_demo_installs_no_test_tools():
    text = (ROOT / "Makefile").read_text()
    recipes = [line for line in text.splitlines() if line.startswith("\t")]
    assert recipes and not [r for r in recipes if r.lstrip("\t@ ").startswith("#")]
    rules = set(re.findall(r"^([\w.-]+):", text, flags=re.M))
    phony = re.search(r"^\.PHONY:(.*)$", text, flags=re.M)[1].split()
    assert set(phony) <= rules, set(phony) - rules
    demo = re.search(r"^demo: (\S+)", text, flags=re.M)[1]
    install = text[text.index(f"{demo}:"):].split("\n\n")[0]
    assert re.search(r"pip install --quiet (-c \S+ )?\.$", install, flags=re.M) and "[test]" not in install
    assert re.search(r"^test: \S*installed-test", text, flags=re.M)


def test_license_is_an_spdx_string():
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert any(re.fullmatch(r"setuptools>=(\d+)", r) and int(r.split(">=")[1]) >= 77
               for r in project["build-system"]["requires"])
