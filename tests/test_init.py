"""`align-sync init` (docs/config.md, issue 12): a starter config drafted from
exports it has never seen and from a live Jira, checked against what a sync
with the written file shows."""
from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest
import responses
import yaml

from sync.cli import main as cli

from sync.worker import configfile

from .conftest import FIXTURES, NOW
from .fakes import URL, FakeJira, make_issues
from .synthetic_team import active_effort, best_k, team_export

SHARE = re.compile(r"^proposal maps ([\d.]+)% of active effort \((\d+) of (\d+) active tickets\)$",
                   re.M)


def init(tmp_path, capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["init", "--out", str(tmp_path / "align-sync.yaml"), *args])
    out, err = capsys.readouterr()
    return code, out, err


def open_issues(n: int) -> list[dict]:
    """n active issues, no epic: each test gives them the clusters it needs."""
    issues = make_issues(n, NOW)
    for issue in issues:
        issue["fields"]["status"] = {"name": "To Do", "statusCategory": {"key": "new"}}
        issue["fields"].pop("parent", None)
    return issues


def dry_run_share(config) -> str:
    from sync.worker.workspace import Workspace
    from sync.worker.intake import fetch_all
    from sync.core.assess.assessment import assess
    from sync.worker.state import State
    ws = Workspace(config)
    tickets, _ = fetch_all(ws.sources, State(":memory:"), NOW)
    return f"{assess(tickets, ws.config, [], NOW).aligned_effort:g}"


@pytest.fixture()
def export(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    page = team_export(3000)
    path = tmp_path / "acme-search.json"
    path.write_text(json.dumps(page))
    return page, path


@pytest.mark.slow
def test_init_on_an_unseen_export_beats_the_best_six_labels_and_epics(export, tmp_path, capsys):
    page, path = export
    code, out, err = init(tmp_path, capsys, "--path", str(path))
    assert code == 0, err
    written = tmp_path / "align-sync.yaml"
    config, _ = configfile.load(written)            # what `check` validates first
    levers = config.outcomes[0].levers
    assert 3 <= len(levers) <= 6
    share = SHARE.search(out)
    assert share, out
    # The share printed is the share a sync with the file shows (Summary, CLI dry run).
    assert dry_run_share(written) == share[1]
    assert cli.main(["run", "--once", "--dry-run", "--config", str(written)]) == 0
    dry = capsys.readouterr().out
    assert re.search(rf"Aligned effort %\s+{re.escape(share[1])}\n", dry), dry
    # At least what the best 6 labels alone, or the best 6 epics alone, would map.
    effort, labels, epic = active_effort(page)
    by_label, by_epic = defaultdict(set), defaultdict(set)
    for key in effort:
        for label in labels[key]:
            by_label[label].add(key)
        if epic[key]:
            by_epic[epic[key]].add(key)
    total = sum(effort.values())
    ours = float(share[1])
    assert ours >= round(best_k(by_label, effort) / total * 100, 1)
    assert ours >= round(best_k(by_epic, effort) / total * 100, 1)
    assert int(share[3]) == len(effort)
    # The component on 70% of tickets names a team: it is not proposed as a lever.
    text = written.read_text()
    assert "Platform team" not in "".join(str(lv.match) for lv in levers)
    assert "TODO" in text and "largest unmapped clusters left" in out


@pytest.mark.slow
def test_init_again_refuses_without_force_and_replaces_with_it(export, tmp_path, capsys):
    _, path = export
    assert init(tmp_path, capsys, "--path", str(path))[0] == 0
    written = tmp_path / "align-sync.yaml"
    written.write_text("# mine\n")
    code, out, err = init(tmp_path, capsys, "--path", str(path))
    assert code == 2 and "align-sync.yaml: already exists" in err and "--force" in err
    assert written.read_text() == "# mine\n"
    assert init(tmp_path, capsys, "--path", str(path), "--force")[0] == 0
    assert "outcomes:" in written.read_text()


def test_effort_not_counts_an_epic_of_heavy_work_beats_a_label_on_many_small(tmp_path, capsys,
                                                                               monkeypatch):
    monkeypatch.chdir(tmp_path)
    for i, issue in enumerate(issues := open_issues(300)):
        f = issue["fields"]
        if i < 200:                                   # 200 one-point tickets, one label
            f["labels"], f["customfield_10016"] = ["polish"], 1
        elif i < 240:                                 # an epic of 40 eight-point ones
            f["labels"], f["customfield_10016"] = [], 8
            f["parent"] = {"key": "GROW-7", "fields": {"summary": "Usage-based pricing"}}
        else:
            f["labels"], f["customfield_10016"] = [f"misc-{i % 3}"], 2
    path = tmp_path / "e.json"
    path.write_text(json.dumps({"issues": issues, "names": {"customfield_10016": "Story Points"}}))
    code, out, err = init(tmp_path, capsys, "--path", str(path))
    assert code == 0, err
    levers = yaml.safe_load((tmp_path / "align-sync.yaml").read_text())["outcomes"][0]["levers"]
    assert levers[0]["match"] == {"epic": "GROW-7"} and levers[0]["name"] == "Usage-based pricing"
    assert {"labels": ["polish"]} in [lv["match"] for lv in levers]
    assert "320 (" in (tmp_path / "align-sync.yaml").read_text()      # its effort, commented


def test_a_team_component_is_proposed_only_when_nothing_else_covers_the_work(tmp_path, capsys,
                                                                             monkeypatch):
    monkeypatch.chdir(tmp_path)
    for i, issue in enumerate(issues := open_issues(60)):
        issue["fields"]["labels"] = ["search"] if i < 10 else []
        issue["fields"]["components"] = [{"name": "Core team"}] if i >= 10 else []
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"issues": issues}))
    assert init(tmp_path, capsys, "--path", str(path))[0] == 0
    text = (tmp_path / "align-sync.yaml").read_text()
    assert '{components: ["Core team"]}' in text and "names a team or a stage" in text


def test_glob_characters_and_yaml_words_in_labels_stay_literal(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for i, issue in enumerate(issues := open_issues(30)):
        issue["fields"]["labels"] = [["q[3]*", "yes", "2024", "a: b"][i % 4]]
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"issues": issues}))
    code, out, err = init(tmp_path, capsys, "--path", str(path))
    assert code == 0, err
    assert SHARE.search(out)[1] == "100"      # each label maps its own tickets and only those
    matches = [lv.match for lv in configfile.load(tmp_path / "align-sync.yaml")[0].outcomes[0].levers]
    assert {tuple(m[0].labels) for m in matches} == {("q[[]3][*]",), ("yes",), ("2024",), ("a: b",)}


def test_init_from_a_trello_export_and_a_jira_csv(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = init(tmp_path, capsys, "--path", str(FIXTURES / "trello_board_export.json"))
    assert code == 0, err
    assert SHARE.search(out)
    assert dry_run_share(tmp_path / "align-sync.yaml") == SHARE.search(out)[1]
    code, out, err = init(tmp_path, capsys, "--path", str(FIXTURES / "jira_export.csv"), "--force")
    assert code == 0, err
    assert "Story point estimate" in (tmp_path / "align-sync.yaml").read_text()
    assert dry_run_share(tmp_path / "align-sync.yaml") == SHARE.search(out)[1]


def test_nothing_to_draw_from_exits_2_saying_what_it_read(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"issues": [], "isLast": True}))
    code, _, err = init(tmp_path, capsys, "--path", str(empty))
    assert code == 2 and "has no tickets" in err and "empty.json" in err
    for issue in (bare := open_issues(5)):
        issue["fields"]["labels"], issue["fields"]["components"] = [], []
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"issues": bare}))
    code, _, err = init(tmp_path, capsys, "--path", str(plain))
    assert code == 2 and "5 tickets (5 active)" in err and "label, a component, an epic" in err
    assert not (tmp_path / "align-sync.yaml").exists()
    code, _, err = init(tmp_path, capsys, "--path", str(tmp_path / "missing.json"))
    assert code == 2 and "missing.json: file not found" in err


@responses.activate
def test_init_on_live_jira_writes_env_references_and_field_names(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JIRA_EMAIL", "bot@acme.example")
    monkeypatch.setenv("JIRA_API_TOKEN", "tok-SECRET-123456")
    issues = make_issues(250, NOW)
    for i, issue in enumerate(issues):
        issue["fields"]["labels"] = [["checkout", "search", "sso"][i % 3]]
        issue["fields"].pop("parent", None)
    FakeJira(responses.mock, issues)
    code, out, err = init(tmp_path, capsys, "--source", "jira", "--url", URL,
                          "--jql", "project = GROW")
    assert code == 0, err
    text = (tmp_path / "align-sync.yaml").read_text()
    assert '"${JIRA_API_TOKEN}"' in text and '"${JIRA_EMAIL}"' in text
    assert "tok-SECRET" not in text + out + err and "bot@acme" not in text
    assert 'estimate: "Story point estimate"' in text
    assert dry_run_share(tmp_path / "align-sync.yaml") == SHARE.search(out)[1]


@responses.activate
def test_init_with_a_bad_token_says_what_check_says(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JIRA_EMAIL", "bot@acme.example")
    monkeypatch.setenv("JIRA_API_TOKEN", "revoked-token-1")
    responses.add(responses.GET, f"{URL}/rest/api/2/serverInfo", status=401,
                  json={"errorMessages": ["Unauthorized"]})
    responses.add(responses.GET, f"{URL}/rest/api/2/myself", status=401,
                  json={"errorMessages": ["Unauthorized"]})
    code, _, err = init(tmp_path, capsys, "--source", "jira", "--url", URL, "--jql", "project = GROW")
    assert code == 1 and "Jira rejected the credentials (HTTP 401)" in err
    assert "revoked-token-1" not in err and not (tmp_path / "align-sync.yaml").exists()
    (tmp_path / "c.yaml").write_text(
        f"source: {{type: jira, url: {URL}, auth: {{email: x@y.z, token: revoked-token-1}}, "
        "jql: project = GROW}\nsink: {type: xlsx, path: o.xlsx}\noutcomes: [{id: o, name: O, "
        "metric: m, baseline: 0, target: 1, start: 2026-10-01, deadline: 2026-12-31}]\n")
    assert cli.main(["check", "--config", str(tmp_path / "c.yaml")]) == 1
    assert "Jira rejected the credentials (HTTP 401)" in capsys.readouterr().out


def test_init_needs_its_flags_and_env(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JIRA_API_TOKEN", raising=False)
    code, _, err = init(tmp_path, capsys, "--source", "jira", "--url", URL)
    assert code == 2 and "--jql" in err
    code, _, err = init(tmp_path, capsys, "--source", "jira", "--url", URL, "--jql", "project = X")
    assert code == 2 and "JIRA_API_TOKEN is not set" in err
    code, _, err = init(tmp_path, capsys, "--source", "trello")
    assert code == 2 and "--board" in err


def test_active_work_of_no_effort_still_drafts(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for i, issue in enumerate(issues := open_issues(12)):
        issue["fields"]["labels"] = [f"area-{i % 3}"]
        issue["fields"]["customfield_10016"] = 0
    path = tmp_path / "z.json"
    path.write_text(json.dumps({"issues": issues}))
    code, out, err = init(tmp_path, capsys, "--path", str(path))
    assert code == 0, err
    assert "proposal maps -% of active effort (12 of 12 active tickets)" in out


def test_small_levers_are_kept_when_six_labels_alone_would_map_more(tmp_path, capsys, monkeypatch):
    """Eight labels of under 1% of the effort each, the rest unlabelled: dropping
    the small tail would map less than the best six labels do."""
    monkeypatch.chdir(tmp_path)
    for i, issue in enumerate(issues := open_issues(1000)):
        issue["fields"]["labels"] = [f"small-{i % 8}"] if i < 64 else []
        issue["fields"]["components"] = []
        issue["fields"]["customfield_10016"] = 1
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"issues": issues}))
    code, out, err = init(tmp_path, capsys, "--path", str(path))
    assert code == 0, err
    assert float(SHARE.search(out)[1]) >= 4.8          # six labels of 8 tickets of 1000
