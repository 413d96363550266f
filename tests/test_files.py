"""The file source on real payload samples (tests/fixtures/, origins in its README)."""
from __future__ import annotations

import json
import shutil

import pytest

from connectors.files.source import FileSource
from connectors.files.source import FileSourceConfig
from sync.core.errors import ConfigError

from .conftest import FIXTURES


def source(path, **kw) -> FileSource:
    return FileSource(FileSourceConfig(type="file", path=str(path), **kw), "file")


def test_enhanced_search_pages_as_a_list(tmp_path):
    pages = [json.loads((FIXTURES / f"jira_search_jql_page{i}.json").read_text()) for i in (1, 2)]
    path = tmp_path / "pages.json"
    path.write_text(json.dumps(pages))
    tickets = {t.key: t for t in source(path, fields={"estimate": "customfield_10016"}).fetch()}
    assert sorted(tickets) == ["SCRUM-4", "SCRUM-5", "SCRUM-6"]
    t = tickets["SCRUM-4"]
    assert t.title.startswith("=IMPORTXML(")                  # kept as text, never evaluated
    assert (t.labels, t.components, t.owner, t.estimate) == (("backend", "auth"), ("API",), "Gil Itzhaky", 5.0)
    assert t.epic == ("SCRUM-2", "epic issue")
    assert t.url == "https://acme.atlassian.net/browse/SCRUM-4"
    assert "Success metric: zero redirect loops" in t.description
    assert t.updated.isoformat() == "2024-12-13T20:51:23.858000+00:00"   # +0200 → UTC
    assert tickets["SCRUM-5"].done and tickets["SCRUM-5"].owner is None
    assert tickets["SCRUM-5"].estimate is None
    assert tickets["SCRUM-6"].estimate == 3.0                  # numeric text


def test_airbyte_v3_issue_adf_description():
    (t,) = source(FIXTURES / "airbyte_source-jira_issues_v3.json").fetch()
    assert (t.key, t.title, t.type, t.status, t.done) == ("TESTKEY13-1", "My Summary", "Epic", "To Do", False)
    assert t.description == "Test issue"
    assert t.components == ("Component 0",) and t.labels == ("test",)
    assert t.project == "TESTKEY13"


def test_legacy_search_page_with_agile_epic_and_server_user():
    (t,) = source(FIXTURES / "go-jira_issues_in_sprint_with_changelog.json",
                  fields={"estimate": "customfield_10105"}).fetch()
    assert t.key == "AR-86" and t.title == ""                 # the sample has no summary
    assert t.estimate == 13.0
    assert "AR-37" in t.epic and "Moderation: Design" in t.epic
    assert t.owner == "mister Morris"                         # displayName, not the login


def test_unknown_field_name_lists_what_exists(tmp_path):
    with pytest.raises(ConfigError, match=r"fields.estimate 'Story Pointz' is not a field"):
        source(FIXTURES / "jira_search_jql_page1.json", fields={"estimate": "Story Pointz"}).fetch()


def test_field_name_resolved_through_names(tmp_path):
    page = json.loads((FIXTURES / "jira_search_jql_page1.json").read_text())
    page["names"] = {"customfield_10016": "Story point estimate"}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(page))
    tickets = source(path, fields={"estimate": "story point estimate"}).fetch()
    assert tickets[0].estimate == 5.0


def test_trello_board_export():
    tickets = {t.key: t for t in source(FIXTURES / "trello_board_export.json",
                                        done_lists=["Shipped"], estimate_field="Points").fetch()}
    assert sorted(tickets) == ["Sh000001", "Sh000002", "Sh000003", "Sh000006"]   # archived dropped
    news = tickets["Sh000001"]
    assert (news.estimate, news.owner, news.list, news.status) == (3.0, "Ben Sample", "Doing", "Doing")
    assert news.labels == ("lever:newsletter",) and news.board == "Growth Q3"
    assert news.url == "https://trello.com/c/Sh000001"
    assert tickets["Sh000002"].estimate == 5.0                # custom field beats no title estimate
    assert tickets["Sh000003"].done and tickets["Sh000003"].labels == ("purple",)
    assert tickets["Sh000006"].done and tickets["Sh000006"].estimate == 8.0   # text field, due complete


def test_trello_unknown_estimate_field_is_a_config_error():
    with pytest.raises(ConfigError, match="its custom fields: Points, Priority, Votes"):
        source(FIXTURES / "trello_board_export.json", estimate_field="Story points").fetch()


def test_toucan_cards_with_every_custom_field_type(tmp_path):
    raw = json.loads((FIXTURES / "toucan_trello_board_fixture.json").read_text())
    board = {"name": "Toucan", "lists": raw["lists"], "cards": raw["cards_1"], "members": raw["members"],
             "labels": raw["labels"], "customFields": raw["customFields"]}
    path = tmp_path / "board.json"
    path.write_text(json.dumps(board))
    tickets = source(path, done_lists=["bernardo"], estimate_field="Nombre test").fetch()
    assert len(tickets) == 4
    by_title = {t.title: t for t in tickets}
    assert by_title["Carte 2"].estimate == 2.0 and by_title["Carte 2"].owner == "Jean-Jacques Goldman"
    assert by_title["carte 4"].done and not by_title["Carte 1"].done


def test_jira_csv_export():
    tickets = {t.key: t for t in source(FIXTURES / "jira_export.csv", url="https://growthco.atlassian.net",
                                        fields={"estimate": "Story point estimate"}).fetch()}
    t = tickets["GROW-7"]
    assert t.labels == ("pricing", "experiment") and t.components == ("Pricing", "Web")
    assert (t.estimate, t.owner, t.done) == (5.0, "Dana Whitfield", False)
    assert t.epic == ("GROW-2", "Pricing epic")
    assert "Success metric" in t.description
    assert t.url == "https://growthco.atlassian.net/browse/GROW-7"
    assert t.updated.isoformat() == "2026-11-24T15:15:00+00:00"
    assert tickets["GROW-8"].done and tickets["GROW-8"].owner is None
    assert tickets["GROW-9"].title == "=cmd|' /C calc'!A0"


def test_csv_unknown_column_is_a_config_error():
    with pytest.raises(ConfigError, match=r"custom field columns: Custom field \(Story point estimate\)"):
        source(FIXTURES / "jira_export.csv", fields={"estimate": "Points"}).fetch()


@pytest.mark.parametrize("content,message", [
    ("{\"hello\": 1}", "not a Jira search response"),
    ("{broken", "not valid JSON"),
    ("a,b\n1,2\n", "not a Jira CSV export"),
])
def test_unrecognised_files(tmp_path, content, message):
    path = tmp_path / "x.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        source(path).fetch()


def test_missing_file_names_the_source(tmp_path):
    with pytest.raises(ConfigError, match=r"source file \(file .*nope.json\): file not found"):
        source(tmp_path / "nope.json").fetch()


def test_missing_file_beside_a_config_in_the_working_directory_is_named_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    missing = FileSource(FileSourceConfig(type="file", path="nope.json"), "f", base_dir=tmp_path)
    with pytest.raises(ConfigError) as caught:
        missing.fetch()
    assert str(caught.value).count(str(tmp_path / "nope.json")) == 1
    assert " nor " not in str(caught.value)


def test_relative_path_falls_back_to_the_config_folder(tmp_path, monkeypatch):
    shutil.copy(FIXTURES / "jira_search_jql_page2.json", tmp_path / "data.json")
    monkeypatch.chdir(FIXTURES)
    found = FileSource(FileSourceConfig(type="file", path="data.json"), "f", base_dir=tmp_path).fetch()
    assert [t.key for t in found] == ["SCRUM-6"]


# -- the export read one issue at a time (connectors/jira/export.py) -------------------

def _pages():
    return [json.loads((FIXTURES / f"jira_search_jql_page{i}.json").read_text()) for i in (1, 2)]


def _reference(pages, estimate_id):
    """What reading the whole file with json.loads gives (the plain way)."""
    from connectors.jira.issue import JiraFieldIds, to_ticket
    ids = JiraFieldIds(estimate_id, None, None)
    return {t.key: t for p in pages for t in (to_ticket(i, "file", ids) for i in p["issues"])}


@pytest.fixture(params=["whole", "window of 7", "window of 7, reading ahead"])
def window(request, monkeypatch):
    """The export read in the usual window, in one so small that every
    value is cut by its end, some more than once (no reading ahead), and in
    one that reads on whenever fewer than 5 characters are left before a value."""
    from connectors.jira import export, window
    if request.param != "whole":
        monkeypatch.setattr(window, "WINDOW", 7)
        monkeypatch.setattr(export, "AHEAD", 5 if request.param.endswith("ahead") else 0)


@pytest.mark.parametrize("layout", ["compact", "indented", "names first", "names last", "one page"])
def test_streamed_export_reads_as_json_loads_would(tmp_path, layout, window):
    pages = _pages()
    for p in pages:
        p.pop("names", None)
        names = {"customfield_10016": "Story point estimate", "summary": "Summary"}
        if layout == "names first":
            p.update({"names": names, "issues": p.pop("issues")})
        elif layout == "names last":
            p["names"] = names
    data = pages[0] if layout == "one page" else pages
    path = tmp_path / "x.json"
    path.write_text(json.dumps(data, indent=2 if layout == "indented" else None))
    # By name: resolved through `names` whether it comes before the issues or after.
    wanted = "Story point estimate" if "names" in layout else "customfield_10016"
    got = {t.key: t for t in source(path, fields={"estimate": wanted}).fetch()}
    assert got == _reference(pages[:1] if layout == "one page" else pages, "customfield_10016")
    assert any(t.estimate for t in got.values())


@pytest.mark.parametrize("text,line,msg", [
    ('{"issues": [\n{"id": "1"},\n{"id": 2,,}\n]}', 3, "Expecting property name"),
    ('{"issues": []}\n\n garbage', 3, "Extra data"),
    ('[{"issues": []} {"issues": []}]', 1, "delimiter"),
    ('{"issues": [{"id": "1"}]', 1, "delimiter"),
    ('{"isLast": true, "total": 12345\n\n,"issues": [\n\n{"id": "1"},\n{"id": 2e}]}', 6, "delimiter"),
])
def test_broken_json_says_where(tmp_path, text, line, msg, window):
    path = tmp_path / "x.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf"not valid JSON \(line {line}\): .*{msg}"):
        source(path).fetch()


@pytest.mark.parametrize("issues,where", [('"x"', "`issues`: expected a list"),
                                          ('[{"id": "1"}, null]', r"issues\[1\]: expected an issue")])
def test_damaged_issue_lists_name_the_entry(tmp_path, issues, where):
    from sync.core.errors import DataError
    path = tmp_path / "x.json"
    path.write_text('{"issues": ' + issues + "}")
    with pytest.raises(DataError, match=where):
        source(path).fetch()


@pytest.mark.parametrize("doc", [
    None, "wiki *text*", {"type": "doc", "content": []}, {"type": "doc"},
    {"type": "doc", "content": [{"type": "paragraph", "content": [{"type": "text", "text": " a "}]}]},
    {"type": "doc", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "a\n"}]},
                                {"type": "paragraph"},
                                {"type": "paragraph", "content": [{"type": "text", "text": "b"},
                                                                  {"type": "text", "text": "c"}]}]},
    {"type": "doc", "content": [{"type": "heading", "content": [{"type": "text", "text": "H"}]},
                                {"type": "paragraph", "content": [{"type": "text", "text": "x"},
                                                                  {"type": "hardBreak"},
                                                                  {"type": "text", "text": "y"}]}]},
    {"type": "doc", "content": [{"type": "paragraph", "content": [{"type": "mention",
                                                                   "attrs": {"text": "@Ann"}}]}]},
    {"type": "doc", "content": [{"type": "paragraph", "content": None}]},
])
def test_the_quick_description_reader_agrees_with_the_adf_walker(doc):
    from connectors.jira.issue import _description, field_text
    assert _description(doc) == field_text(doc)


@pytest.mark.parametrize("value", [3, 2.5, 0, None, "5", {"value": "8"}, -1, float("nan"),
                                   float("inf"), 2e6, True])
def test_the_quick_estimate_reader_agrees_with_the_checked_one(value):
    from sync.core.numbers import checked_estimate, estimate
    assert estimate(value) == checked_estimate(value)
