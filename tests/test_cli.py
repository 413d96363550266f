"""The command line: exit codes, messages without tracebacks, the demo."""
from __future__ import annotations

import json
import re
import shutil

import openpyxl
import pytest

from sync.cli.main import main

from .conftest import ROOT


@pytest.fixture
def demo(tmp_path, monkeypatch):
    """The demo config and data copied into a scratch working directory."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.slow
def test_run_once_writes_the_workbook(demo, capsys):
    assert main(["run", "--once", "--config", "config/demo.yaml"]) == 0
    captured = capsys.readouterr()
    # Not a terminal: stdout is JSON lines only, the person's line is on stderr (issue 26).
    assert "synced 80 tickets" in captured.err and "out/demo.xlsx" in captured.err
    assert "aligned effort 83.6%, 1 of 3 outcomes off track" in captured.err
    assert '"event": "sink.written"' in captured.out and "synced" not in captured.out
    assert "Scorecard" in openpyxl.load_workbook(demo / "out/demo.xlsx").sheetnames


def test_dry_run_prints_a_summary_and_writes_nothing(demo, capsys):
    assert main(["run", "--once", "--dry-run", "--config", "config/demo.yaml"]) == 0
    out = capsys.readouterr().out
    assert "nothing was written" in out and "Scorecard" in out and "goal_overload" in out
    assert not (demo / "out").exists()


def test_review_shows_the_figures_a_sync_writes(demo, capsys):
    """`review --print` assesses as a sync does, the `metrics:` source
    included: the demo's expansion outcome is fed by the warehouse, so the
    digest's progress and forecast are those the sync writes to Scorecard."""
    assert main(["review", "--print", "--config", "config/demo.yaml"]) == 0
    digest = capsys.readouterr().out
    assert main(["run", "--once", "--config", "config/demo.yaml"]) == 0
    rows = list(openpyxl.load_workbook(demo / "out/demo.xlsx")["Scorecard"].values)
    column = {name: i for i, name in enumerate(rows[0])}
    for row in rows[1:]:
        outcome = row[column["Outcome ID"]]
        section = digest.split(f"[{outcome}]")[1].split("\n## ")[0]
        progress = float(re.search(r"- progress ([-\d.]+)%", section).group(1))
        forecast = re.search(r"forecast ([-\d.]+) by", section)
        assert progress == pytest.approx(row[column["Progress %"]], abs=0.05), outcome
        assert forecast and float(forecast.group(1)) == pytest.approx(row[column["Forecast"]]), outcome


def test_explain(demo, capsys):
    assert main(["explain", "GROW-128", "--config", "config/demo.yaml"]) == 0
    out = capsys.readouterr().out
    assert "Mapped to lever onboarding-emails (outcome conversion)" in out
    assert "also matched levers of: activation" in out
    assert "Task score" in out


def test_explain_shows_a_titles_control_characters_never_obeys_them(demo, capsys):
    """A retester's finding: a title's colour codes, a line break forging a
    line of explain's own, or a right-to-left override reached the terminal."""
    export = demo / "config/demo/jira-search.json"
    data = json.loads(export.read_text())
    issue = next(i for i in data["issues"] if i["key"] == "GROW-128")
    issue["fields"]["summary"] = "\x1b[8mhidden\x1b[0m a\nGROW-999  forged \u202eline\r"
    export.write_text(json.dumps(data))
    assert main(["explain", "GROW-128", "--config", "config/demo.yaml"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == "GROW-128  \\x1b[8mhidden\\x1b[0m a\\nGROW-999  forged \\u202eline\\r"


def test_explain_unmapped_says_why(demo, capsys):
    assert main(["explain", "GROW-143", "--config", "config/demo.yaml"]) == 0
    out = capsys.readouterr().out
    assert "Unmapped" in out and "lever pricing-test: components=Pricing did not hold" in out


def test_explain_unknown_key_is_usage_error(demo, capsys):
    assert main(["explain", "NOPE-1", "--config", "config/demo.yaml"]) == 2
    assert "no ticket 'NOPE-1'" in capsys.readouterr().err


def test_check(demo, capsys):
    assert main(["check", "--config", "config/demo.yaml"]) == 0
    out = capsys.readouterr().out
    assert "ok    source file: 80 tickets" in out and "ok    sink xlsx" in out


def test_bad_config_exit_2_no_traceback(demo, capsys):
    text = (demo / "config/demo.yaml").read_text().replace("labels: [sample-data]", "labelz: [sample-data]")
    (demo / "bad.yaml").write_text(text)
    assert main(["run", "--once", "--config", "bad.yaml"]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: outcomes[1].levers[1].match.labelz: unknown key" in err
    assert "Traceback" not in err


def test_missing_config_uses_env_default(demo, capsys, monkeypatch):
    monkeypatch.setenv("ALIGN_SYNC_CONFIG", "missing.yaml")
    assert main(["check"]) == 2
    assert "missing.yaml: config file not found" in capsys.readouterr().err


def test_missing_source_file_fails_cleanly(demo, capsys):
    (demo / "config/demo/jira-search.json").unlink()
    assert main(["run", "--once", "--config", "config/demo.yaml"]) == 2
    assert "file not found" in capsys.readouterr().err


def test_ctrl_c_while_the_command_loads_exits_130_without_a_traceback(monkeypatch, capsys):
    """A retester's finding: SIGINT in the first 0.3 s printed a 46-line
    KeyboardInterrupt traceback."""
    from sync.cli import main as entry_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(entry_module, "main", interrupted)
    exits = []
    monkeypatch.setattr(entry_module.os, "_exit", exits.append)
    monkeypatch.setattr(entry_module.logging, "shutdown", lambda: None)   # the test process logs on
    entry_module.entry()
    assert exits == [130]
    assert "Traceback" not in capsys.readouterr().err
