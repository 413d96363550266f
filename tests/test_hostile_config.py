"""Hostile config, state and workbook (issue 11): exit 2 naming the
file and key, never a traceback; a user's file keeps its identity; nothing a
person owns is deleted."""
from __future__ import annotations

import json
import os
import stat

import openpyxl
import pytest

from connectors.memory import MemorySource
from connectors.xlsx.sink import XlsxSink
from sync.cli.main import main
from sync.core.errors import ConfigError

from .conftest import NOW, ROOT, demo_yaml, make_config, sync_over, ticket
from .test_xlsx import env  # noqa: F401 (the workbook fixture)

DEMO = demo_yaml()


def demo_config(tmp_path, text: str | None = None):
    """The demo config with every path made absolute into tmp_path."""
    text = (text or DEMO).replace("path: config/demo/jira-search.json",
                                  f"path: {ROOT / 'config/demo/jira-search.json'}")
    text = text.replace("path: out/demo.xlsx", f"path: {tmp_path / 'out.xlsx'}")
    text = text.replace("metrics_seed: config/demo/metrics.csv",
                        f"metrics_seed: {ROOT / 'config/demo/metrics.csv'}")
    text = text.replace("state: out/demo-state.db", f"state: {tmp_path / 'state.db'}")
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def run_cli(capsys, *argv) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize("edit, expect", [
    (lambda t: t + "\noutcomes:\n  - {id: x}\n", "key 'outcomes' is given twice"),
    (lambda t: t.replace("every: 15m", "every: 0s"), "schedule.every: expected a duration above zero"),
    (lambda t: t.replace("every: 15m", "cron: '61 * * * *'"), "schedule.cron: expected a cron expression"),
    (lambda t: t.replace("baseline: 6\n", "baseline: .nan\n", 1), "outcomes[0].baseline"),
    (lambda t: t.replace("cadence: 7d", "cadence: 7d\n  tag_prefixes: {lever: ''}"),
     "review.tag_prefixes.lever"),
    (lambda t: t.replace("id: conversion", "id: '=HYPERLINK(\"http://x\")'", 1), "outcomes[0].id: expected an id"),
    (lambda t: t.replace("path: out/demo.xlsx", "path: ${OUT_DIR/x.xlsx"), "sink.path: `${` without"),
    (lambda t: t.replace("path: out/demo.xlsx", "path: out/demo.book"), "sink.path: expected a file name ending in .xlsx"),
])
def test_bad_config_exits_2_naming_file_and_key(tmp_path, capsys, edit, expect):
    path = demo_config(tmp_path, edit(DEMO))
    for argv in (["check"], ["run", "--once"]):
        code, text = run_cli(capsys, *argv, "--config", str(path))
        assert code == 2 and str(path) in text and expect in text, text
        assert "Traceback" not in text


def test_numeric_match_values_say_to_quote(tmp_path, capsys):
    text = DEMO.replace("match: {labels: [invites]}", "match: {labels: [1.10, 0012]}")
    assert text != DEMO
    code, out = run_cli(capsys, "check", "--config", str(demo_config(tmp_path, text)))
    assert code == 2 and "put it in quotes" in out and "1.1" in out


def test_a_config_that_is_not_utf8_names_file_and_encoding(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_bytes(DEMO.replace("Dana Whitfield", "Dana Whitf\xe9ld").encode("latin-1"))
    code, out = run_cli(capsys, "check", "--config", str(path))
    assert code == 2 and f"{path}: not UTF-8" in out


def test_a_seed_that_is_not_utf8_names_file_and_encoding(tmp_path, capsys):
    seed = tmp_path / "seed.csv"
    seed.write_bytes("Date,Metric,Value,Note\n2026-11-01,churn_rate,2,h\xe9\n".encode("latin-1"))
    path = demo_config(tmp_path)
    path.write_text(path.read_text().replace(str(ROOT / "config/demo/metrics.csv"), str(seed)))
    code, out = run_cli(capsys, "run", "--once", "--config", str(path))
    assert code == 2 and f"sink.metrics_seed {seed}: not UTF-8" in out


def test_garbage_state_file_is_named(tmp_path, capsys):
    path = demo_config(tmp_path)
    (tmp_path / "state.db").write_bytes(b"this is no database" * 100)
    for argv in (["run", "--once", "--dry-run"], ["run", "--once"]):
        code, out = run_cli(capsys, *argv, "--config", str(path))
        assert code == 2 and "state:" in out and "is not an align-sync state file" in out, out


def test_unwritable_state_path_names_the_key(tmp_path, capsys):
    path = demo_config(tmp_path)
    path.write_text(path.read_text().replace(f"state: {tmp_path / 'state.db'}", "state: /proc/x/state.db"))
    code, out = run_cli(capsys, "run", "--once", "--config", str(path))
    assert code == 2 and out.startswith("align-sync: state: cannot") and "Traceback" not in out


def test_home_and_config_relative_paths(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "metrics.csv").write_text((ROOT / "config/demo/metrics.csv").read_text())
    text = demo_config(tmp_path).read_text()
    text = text.replace(str(ROOT / "config/demo/metrics.csv"), "metrics.csv")
    text = text.replace(f"path: {tmp_path / 'out.xlsx'}", "path: ~/book.xlsx")
    (tmp_path / "cfg" / "c.yaml").write_text(text)
    monkeypatch.chdir(ROOT)
    code, out = run_cli(capsys, "run", "--once", "--config", str(tmp_path / "cfg" / "c.yaml"))
    assert code == 0, out
    wb = openpyxl.load_workbook(tmp_path / "book.xlsx")
    assert wb["Metrics"].max_row > 2              # seeded from beside the config


def test_dry_run_of_a_guarded_sync_does_not_claim_to_have_left_the_sheet(tmp_path, capsys):
    path = demo_config(tmp_path)
    assert run_cli(capsys, "run", "--once", "--config", str(path))[0] == 0
    empty = tmp_path / "empty.json"
    data = json.loads((ROOT / "config/demo/jira-search.json").read_text())
    empty.write_text(json.dumps(dict(data, issues=[])))
    path.write_text(path.read_text().replace(str(ROOT / "config/demo/jira-search.json"), str(empty)))
    code, out = run_cli(capsys, "run", "--once", "--dry-run", "--config", str(path))
    assert code == 1 and "a real sync would leave the sheet as it is" in out
    assert "was left as it was" not in out


# -- the workbook: identity, people's data, hostile text -------------------------

def sync(env, tickets, sink_path=None, **kw):  # noqa: F811
    path, config, state = env
    if sink_path is not None:
        config = make_config(sink={"type": "xlsx", "path": str(sink_path)}, **kw)
    return sync_over(config, [MemorySource("jira", tickets)], XlsxSink(config.sink), state, NOW)


def test_a_save_keeps_the_mode_of_a_shared_workbook(env):
    path = env[0]
    sync(env, [ticket("A-1")])
    os.chmod(path, 0o664)
    sync(env, [ticket("A-1"), ticket("A-2")])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o664


def test_a_save_writes_through_a_symlink(env, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    target = shared / "team.xlsx"
    link = tmp_path / "link.xlsx"
    link.symlink_to(target)
    sync(env, [ticket("A-1")], sink_path=link)
    sync(env, [ticket("A-1"), ticket("A-2")], sink_path=link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert openpyxl.load_workbook(target)["Tickets"].max_row == 3
    assert [p.name for p in shared.iterdir()] == ["team.xlsx"]        # no temp file left


def test_a_read_only_workbook_is_refused_with_a_message(env):
    path = env[0]
    sync(env, [ticket("A-1")])
    os.chmod(path, 0o444)
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="the workbook is read-only"):
        sync(env, [ticket("A-1"), ticket("A-2")])
    assert path.read_bytes() == before


def test_a_column_inserted_among_ours_is_kept(env):
    path = env[0]
    sync(env, [ticket("A-1"), ticket("A-2")])
    wb = openpyxl.load_workbook(path)
    ws = wb["Tickets"]
    ws.insert_cols(4)
    ws.cell(row=1, column=4, value="Notes")
    ws.cell(row=2, column=4, value="ask Dana")
    wb.save(path)
    sync(env, [ticket("A-1"), ticket("A-2")])
    ws = openpyxl.load_workbook(path)["Tickets"]
    header = [c.value for c in ws[1]]
    assert header == make_headers() + ["Notes"]                     # no ghost `Updated`
    assert ws.cell(row=2, column=len(header)).value == "ask Dana"
    assert ws.cell(row=2, column=1).value == "A-1"


def make_headers():
    from sync.core.present.report import HEADERS
    return list(HEADERS["Tickets"])


def test_a_users_own_owners_tab_is_never_removed(env):
    path = env[0]
    sync(env, [ticket("A-1")])
    wb = openpyxl.load_workbook(path)
    del wb["Owners"]
    mine = wb.create_sheet("Owners")
    mine.append(["Team", "Phone"])
    wb.save(path)
    config = make_config(sink={"type": "xlsx", "path": str(path), "owners_tab": False})
    sync_over(config, [MemorySource("jira", [ticket("A-1")])], XlsxSink(config.sink), env[2], NOW)
    assert [c.value for c in openpyxl.load_workbook(path)["Owners"][1]] == ["Team", "Phone"]


def test_our_owners_tab_goes_when_switched_off(env):
    path = env[0]
    sync(env, [ticket("A-1")])
    config = make_config(sink={"type": "xlsx", "path": str(path), "owners_tab": False})
    sync_over(config, [MemorySource("jira", [ticket("A-1")])], XlsxSink(config.sink), env[2], NOW)
    assert "Owners" not in openpyxl.load_workbook(path).sheetnames


@pytest.mark.parametrize("title", ["pasted\x0bfrom Word", "nul\x00byte", "esc\x1b[31mred", "lone\ud800"])
def test_control_characters_are_stripped_not_fatal(env, title):
    path = env[0]
    sync(env, [ticket("A-1", title=title)])
    got = openpyxl.load_workbook(path)["Tickets"].cell(row=2, column=3).value
    assert got == "".join(ch for ch in title if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF)


def test_control_characters_in_the_sheets_layout():
    from connectors.sheets.layout import cell
    assert cell("a\x0bb\x00c") == {"userEnteredValue": {"stringValue": "abc"}}


def test_a_later_sync_never_parses_the_tabs_it_rewrites(env, monkeypatch):
    """The second-sync slowdown of issue 11: the workbook is streamed once for
    the read, and the write parses only the team's tabs (owned ones emptied)."""
    import io

    import connectors.xlsx.book as book
    sync(env, [ticket("A-1")])
    loads = []
    real = openpyxl.load_workbook

    def spy(source, **kw):
        loads.append(("shell" if isinstance(source, io.BytesIO) else "file", kw.get("read_only", False)))
        return real(source, **kw)
    monkeypatch.setattr(openpyxl, "load_workbook", spy)     # the sink imports it when it opens one
    real_read_only = book.open_read_only

    def spy_read_only(path, **kw):
        loads.append(("file", True))
        return real_read_only(path, **kw)
    monkeypatch.setattr(book, "open_read_only", spy_read_only)
    sync(env, [ticket("A-1"), ticket("A-2")])
    assert sorted(loads) == [("file", True), ("shell", False)]
    wb = openpyxl.load_workbook(env[0])
    assert wb["Tickets"].max_row == 3 and wb["History"].max_row > 1


def test_the_teams_tabs_keep_their_formats_through_the_shell(env):
    from openpyxl.styles import Font
    path = env[0]
    sync(env, [ticket("A-1")])
    wb = openpyxl.load_workbook(path)
    wb["Metrics"].append(["2026-11-20", "conv_rate", 0.071])
    wb["Metrics"]["C2"].number_format = "0.0%"
    mine = wb.create_sheet("Plan")
    mine["A1"] = "Q4 plan"
    mine["A1"].font = Font(bold=True, color="FF0000")
    mine["B2"] = "=1+1"
    wb.save(path)
    sync(env, [ticket("A-1"), ticket("A-2")])
    wb = openpyxl.load_workbook(path)
    assert wb["Metrics"]["C2"].number_format == "0.0%" and wb["Metrics"]["C2"].value == 0.071
    assert wb["Plan"]["A1"].font.bold and wb["Plan"]["A1"].font.color.rgb.endswith("FF0000")
    assert wb["Plan"]["B2"].value == "=1+1"
    assert wb["Tickets"].max_row == 3
