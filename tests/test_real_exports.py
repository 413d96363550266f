"""Exports as other teams write them (issue 25): a real Jira Server v2 page in
Portuguese, a Jira Cloud CSV in Portuguese, a Jira Cloud v3 page in Spanish,
Trello boards in Spanish and Japanese (tests/fixtures/README.md says which are
copied and which written by us), and adversarial variants made from them.

Every expected fact is computed here from the raw file, the way a person
would check it by hand, never taken from align-sync's own reading."""
from __future__ import annotations

import copy
import csv
import io
import json
import re
from collections import Counter
from urllib.parse import urlsplit

import pytest
import stopwordsiso
import yaml

from sync.cli import main as cli
from sync.core.assess.assessment import assess
from sync.drafting import suggestions
from sync.worker import configfile
from sync.worker.intake import fetch_all
from sync.worker.state import State
from sync.worker.workspace import Workspace

from .conftest import FIXTURES, NOW

SHARE = re.compile(r"^proposal maps ([\d.]+)% of active effort \((\d+) of (\d+) active tickets\)$", re.M)
CSV_PT = FIXTURES / "jira_cloud_export_pt.csv"
V3_ES = FIXTURES / "jira_cloud_v3_search_es.json"
TRELLO_ES = FIXTURES / "trello_board_es.json"
TRELLO_JA = FIXTURES / "trello_board_ja.json"
V2_PT = FIXTURES / "jirareport_v2_search_stub_pt.json"


def init(tmp_path, capsys, path) -> tuple[str, dict, str]:
    """init on `path`, then a dry run of the written file: (init's output,
    the drafted YAML, the dry run's output); both exit 0."""
    out_file = tmp_path / "align-sync.yaml"
    code = cli.main(["init", "--path", str(path), "--out", str(out_file), "--force"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert cli.main(["run", "--once", "--dry-run", "--config", str(out_file)]) == 0
    dry = capsys.readouterr().out
    share = SHARE.search(out)
    assert share, out
    # init's figure is the figure of the first sync, on every export.
    assert re.search(rf"Aligned effort %\s+{re.escape(share[1])}\n", dry), (out, dry)
    assert re.search(rf"Active tickets\s+{share[3]}\n", dry), (out, dry)
    return out, yaml.safe_load(out_file.read_text(encoding="utf-8")), out_file.read_text(encoding="utf-8")


def tickets_of(config_path):
    ws = Workspace(config_path)
    return fetch_all(ws.sources, State(":memory:"), NOW)[0], ws


def file_config(tmp_path, path, **source) -> str:
    out = tmp_path / "c.yaml"
    out.write_text(yaml.safe_dump({
        "source": {"type": "file", "path": str(path), **source},
        "sink": {"type": "xlsx", "path": str(tmp_path / "o.xlsx")},
        "outcomes": [{"id": "o", "name": "O", "metric": "m", "baseline": 0, "target": 1,
                      "start": "2026-01-01", "deadline": "2027-01-01", "levers": []}]}),
        encoding="utf-8")
    return str(out)


def levers(draft: dict) -> list[dict]:
    return draft["outcomes"][0]["levers"]


def readable_ids(draft: dict) -> None:
    for lever in levers(draft):
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", lever["id"]), lever["id"]
        assert not re.fullmatch(r"lever(-\d+)?", lever["id"]), lever["id"]


# --- Jira Cloud CSV, Portuguese ------------------------------------------------

def csv_rows(text: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def column(header, row, name) -> list[str]:
    return [cell for h, cell in zip(header, row) if h == name and cell]


def test_csv_components_parents_and_done_as_the_raw_file_says(tmp_path):
    header, rows = csv_rows(CSV_PT.read_text(encoding="utf-8"))
    by_id = {column(header, r, "Issue id")[0]: r for r in rows}
    tickets, _ = tickets_of(file_config(tmp_path, CSV_PT))
    got = {t.key: t for t in tickets}
    # Components: both `Components` columns of every row, counted by hand.
    want = Counter(c for r in rows for c in column(header, r, "Components"))
    assert want and Counter(c for t in tickets for c in t.components) == want
    for r in rows:
        key = column(header, r, "Issue key")[0]
        parent = column(header, r, "Parent")
        if not parent:
            assert got[key].epic == () and got[key].parent == ()
            continue
        parent_row = by_id[parent[0]]
        parent_key = column(header, parent_row, "Issue key")[0]
        if column(header, parent_row, "Issue Type") == ["Epic"]:
            # An epic: found by its key and named by `Parent summary`, not by its id.
            assert got[key].epic[:2] == (parent_key, column(header, r, "Parent summary")[0])
            assert got[key].parent == ()
        else:
            # A sub-task's story is no epic; the sub-task serves the story's epic.
            assert got[key].parent[0] == parent_key
            grand = column(header, parent_row, "Parent")
            assert got[key].epic[0] == column(header, by_id[grand[0]], "Issue key")[0]
    done = {column(header, r, "Issue key")[0] for r in rows
            if column(header, r, "Status Category") == ["Done"]}
    assert done and {t.key for t in tickets if t.done} == done


def test_csv_init_drafts_real_epics_readable_names_and_what_the_file_holds(tmp_path, capsys):
    header, rows = csv_rows(CSV_PT.read_text(encoding="utf-8"))
    out, draft, text = init(tmp_path, capsys, CSV_PT)
    epic_keys = {column(header, r, "Issue key")[0] for r in rows if column(header, r, "Issue Type") == ["Epic"]}
    epic_names = {column(header, r, "Summary")[0] for r in rows if column(header, r, "Issue Type") == ["Epic"]}
    for lever in levers(draft):
        for block in lever["match"] if isinstance(lever["match"], list) else [lever["match"]]:
            if "epic" in block:
                assert block["epic"] in epic_keys | epic_names, block
    readable_ids(draft)
    assert "\\u" not in text and "Logística" in text            # names as written
    # The only estimate column with numbers in it is the one drafted.
    filled = {h for r in rows for h, cell in zip(header, r) if h.startswith("Custom field (S") and cell}
    assert filled == {"Custom field (Story Points)"}
    assert draft["source"]["fields"]["estimate"] == "Story Points"
    assert "'Story point estimate' is empty" in out
    # The site the file's own links point at is offered for `url:`.
    links = {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for r in rows for cell in r
             for u in re.findall(r"https://[^\s;,]+/rest/", cell)}
    assert [draft["source"]["url"]] == sorted(links)
    assert "titles: written in Portuguese" in out


def test_csv_with_localised_headers_reads_the_same(tmp_path):
    text = CSV_PT.read_text(encoding="utf-8")
    first, rest = text.split("\n", 1)
    names = {"Summary": "Resumo", "Issue key": "Chave do item", "Issue Type": "Tipo de item",
             "Components": "Componentes", "Status Category": "Categoria de status",
             "Custom field (Story Points)": "Campo personalizado (Story Points)"}
    copy_path = tmp_path / "exportacao.csv"
    copy_path.write_text(",".join(names.get(h, h) for h in first.split(",")) + "\n" + rest,
                         encoding="utf-8")
    points = {"fields": {"estimate": "Story Points"}}
    english, _ = tickets_of(file_config(tmp_path, CSV_PT, **points))
    localised, _ = tickets_of(file_config(tmp_path, copy_path, **points))
    assert [(t.key, t.title, t.components, t.done, t.epic, t.estimate) for t in localised] == \
           [(t.key, t.title, t.components, t.done, t.epic, t.estimate) for t in english]
    assert any(t.estimate for t in english) and any(t.components for t in english)


def test_csv_resolved_without_a_status_category_counts_done(tmp_path):
    header, rows = csv_rows(CSV_PT.read_text(encoding="utf-8"))
    keep = [i for i, h in enumerate(header) if h != "Status Category"]
    path = tmp_path / "no-category.csv"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([[r[i] for i in keep] for r in [header] + rows])
    path.write_text(buf.getvalue(), encoding="utf-8")
    tickets, _ = tickets_of(file_config(tmp_path, path))
    resolved = {column(header, r, "Issue key")[0] for r in rows if column(header, r, "Resolved")}
    assert resolved and {t.key for t in tickets if t.done} == resolved


def test_suggest_proposes_no_portuguese_function_words(tmp_path):
    tickets, ws = tickets_of(file_config(tmp_path, CSV_PT))
    a = assess(tickets, ws.config, [], NOW)
    found = suggestions.propose(a, ws.config, top=10)
    words = [p.cluster.value for p in found if p.cluster.kind == "title"]
    assert words, [p.cluster.describe() for p in found]
    function = stopwordsiso.stopwords("pt")
    for phrase in words:
        assert not set(phrase.split()) & function, phrase
    assert not {"está", "com", "não", "para"} & {w for p in words for w in p.split()}


# --- Jira Cloud v3 search page, Spanish --------------------------------------

def test_v3_epics_only_where_the_hierarchy_says_epic(tmp_path, capsys):
    page = json.loads(V3_ES.read_text(encoding="utf-8"))
    by_key = {i["key"]: i for i in page["issues"]}
    tickets, _ = tickets_of(file_config(tmp_path, V3_ES))
    got = {t.key: t for t in tickets}
    for issue in page["issues"]:
        parent = issue["fields"].get("parent")
        t = got[issue["key"]]
        if not parent:
            assert t.epic == t.parent == ()
        elif parent["fields"]["issuetype"]["hierarchyLevel"] == 1:
            assert t.epic == (parent["key"], parent["fields"]["summary"]) and t.parent == ()
        else:
            assert t.parent == (parent["key"], parent["fields"]["summary"])
            # A sub-task serves its story's epic, read from the story in the same page.
            grand = by_key[parent["key"]]["fields"].get("parent")
            assert t.epic == ((grand["key"], grand["fields"]["summary"]) if grand else ())
    out, draft, _ = init(tmp_path, capsys, V3_ES)
    epics = {i["key"] for i in page["issues"] if i["fields"]["issuetype"]["hierarchyLevel"] == 1}
    for lever in levers(draft):
        assert lever["match"].get("epic", next(iter(epics))) in epics, lever
    readable_ids(draft)


def first_page_of(page: dict, total: int, n: int) -> dict:
    """A saved first page of a longer search: `n` issues, `total` matched."""
    issues = []
    for i in range(n):
        issue = copy.deepcopy(page["issues"][i % len(page["issues"])])
        issue["key"], issue["id"] = f"RES-{500 + i}", str(20500 + i)
        issues.append(issue)
    return dict(page, startAt=0, maxResults=n, total=total, issues=issues)


def test_a_saved_first_page_is_stated_partial_by_init_and_run(tmp_path, capsys):
    page = json.loads(V3_ES.read_text(encoding="utf-8"))
    path = tmp_path / "busqueda.json"
    path.write_text(json.dumps(first_page_of(page, 262, 50)), encoding="utf-8")
    out, _, _ = init(tmp_path, capsys, path)
    block = out.split("wrote ")[0]
    assert "partial export: the search matched 262 issues and the file holds 50" in block
    assert cli.main(["run", "--once", "--dry-run", "--config", str(tmp_path / "align-sync.yaml")]) == 0
    dry = capsys.readouterr().out
    assert re.search(r"high\s+partial_export\s.*262 issues.*holds 50", dry), dry


@pytest.mark.parametrize("tail", [{"isLast": False}, {"nextPageToken": "CAEaAggD"}])
def test_an_enhanced_search_page_with_more_to_come_is_partial(tmp_path, tail):
    page = json.loads(V3_ES.read_text(encoding="utf-8"))
    for key in ("startAt", "maxResults", "total"):
        page.pop(key)
    path = tmp_path / "page.json"
    path.write_text(json.dumps(dict(page, **tail)), encoding="utf-8")
    _, ws = tickets_of(file_config(tmp_path, path))
    assert any("partial export" in n for n in ws.sources[0].notices)


def test_the_whole_search_in_one_page_is_not_partial(tmp_path):
    page = json.loads(V3_ES.read_text(encoding="utf-8"))
    assert page["total"] == len(page["issues"])
    _, ws = tickets_of(file_config(tmp_path, V3_ES))
    assert ws.sources[0].notices == []


def test_v3_resolved_without_a_status_category_counts_done(tmp_path):
    page = json.loads(V3_ES.read_text(encoding="utf-8"))
    for issue in page["issues"]:
        issue["fields"]["status"].pop("statusCategory")
    path = tmp_path / "sin-categoria.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    tickets, _ = tickets_of(file_config(tmp_path, path))
    resolved = {i["key"] for i in page["issues"] if i["fields"]["resolutiondate"]}
    assert resolved and {t.key for t in tickets if t.done} == resolved


def test_an_estimate_field_empty_on_every_issue_is_not_announced(tmp_path, capsys):
    page = json.loads(V3_ES.read_text(encoding="utf-8"))
    for issue in page["issues"]:
        issue["fields"]["customfield_10016"] = None
    path = tmp_path / "sin-puntos.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    out, draft, _ = init(tmp_path, capsys, path)
    assert "fields" not in draft["source"]
    assert "'Story point estimate' is empty on all 14 issues" in out


# --- Trello, Spanish and Japanese ----------------------------------------------

def trello_facts(board: dict) -> tuple[dict[str, int], int]:
    lists = {lst["id"]: lst for lst in board["lists"]}
    open_cards = Counter(lists[c["idList"]]["name"] for c in board["cards"]
                         if not c["closed"] and not lists[c["idList"]]["closed"])
    archived = sum(1 for c in board["cards"] if c["closed"] or lists[c["idList"]]["closed"])
    return open_cards, archived


@pytest.mark.parametrize("path, done, lang", [(TRELLO_ES, "Finalizado", "Spanish"),
                                              (TRELLO_JA, "クローズ", "Japanese")])
def test_trello_done_lists_beyond_english_and_archived_cards(tmp_path, capsys, path, done, lang):
    board = json.loads(path.read_text(encoding="utf-8"))
    per_list, archived = trello_facts(board)
    out, draft, text = init(tmp_path, capsys, path)
    assert draft["source"]["done_lists"] == [done]
    assert re.search(rf"done lists guessed: '{done}' \(the word", out)
    assert f"{archived} archived card" in out
    assert f"titles: written in {lang}" in out
    tickets, _ = tickets_of(tmp_path / "align-sync.yaml")
    assert sum(t.done for t in tickets) == per_list[done]
    assert len(tickets) == sum(per_list.values())
    for lever in levers(draft):                       # a done column is never a lever
        assert done not in lever["match"].get("list", []), lever
    readable_ids(draft)
    assert "\\u" not in text


def test_trello_last_list_is_a_hint_printed_with_its_reason(tmp_path, capsys):
    board = json.loads(TRELLO_ES.read_text(encoding="utf-8"))
    for lst in board["lists"]:
        if lst["name"] == "Finalizado":
            lst["name"] = "Publicado en la tienda"
    path = tmp_path / "tablero.json"
    path.write_text(json.dumps(board, ensure_ascii=False), encoding="utf-8")
    last = max((lst for lst in board["lists"] if not lst["closed"]), key=lambda lst: lst["pos"])
    out, draft, _ = init(tmp_path, capsys, path)
    assert draft["source"]["done_lists"] == [last["name"]]
    assert "the board's last list" in out and "correct done_lists" in out


def test_a_list_that_says_not_done_is_not_done(tmp_path, capsys):
    board = json.loads(TRELLO_JA.read_text(encoding="utf-8"))
    board["lists"][0]["name"] = "未完了"            # "not finished"
    path = tmp_path / "board.json"
    path.write_text(json.dumps(board, ensure_ascii=False), encoding="utf-8")
    _, draft, _ = init(tmp_path, capsys, path)
    assert draft["source"]["done_lists"] == ["クローズ"]


# --- A real Jira Server v2 page (jirareport, MIT), Portuguese -----------------

def test_real_v2_page_reads_every_issue_as_its_status_category_says(tmp_path):
    stub = json.loads(V2_PT.read_text(encoding="utf-8"))
    page = stub["response"]["jsonBody"]          # a WireMock stub: the body Jira sent
    path = tmp_path / "search.json"
    path.write_text(json.dumps(page, ensure_ascii=False), encoding="utf-8")
    tickets, ws = tickets_of(file_config(tmp_path, path))
    assert [t.key for t in tickets] == [i["key"] for i in page["issues"]]
    assert [t.title for t in tickets] == [i["fields"]["summary"] for i in page["issues"]]
    assert [t.done for t in tickets] == [i["fields"]["status"]["statusCategory"]["key"] == "done"
                                         for i in page["issues"]]
    assert ws.sources[0].notices == []           # no `total` beyond what it holds
    from sync.drafting import clusters
    assert clusters.title_language(tickets, range(len(tickets))) == "pt"


# --- The vocabulary and the draft's text, on their own -------------------------

@pytest.mark.parametrize("name", ["Done", "Hecho ✅", "Terminado", "Finalizado", "Concluído", "Feito",
                                  "Fertig", "Erledigt", "Terminé", "Fatto", "Klaar", "Готово", "完了",
                                  "クローズ", "已完成", "완료", "Tamamlandı", "Pronto"])
def test_done_list_names_beyond_english(name):
    from connectors.vocabulary import done_word
    assert done_word(name), name


@pytest.mark.parametrize("name", ["To Do", "Doing", "En curso", "Em andamento", "未完了", "Not done",
                                  "No terminado", "Pronto para QA", "レビュー待ち", "미완료"])
def test_names_that_are_not_done(name):
    from connectors.vocabulary import done_word
    assert done_word(name) is None, name


@pytest.mark.parametrize("value", ["Integração", "クローズ", "a\u2028b", "x\x85y", "tab\there", 'q"uote\\',
                                   "\ufeffbom", "emoji 🚀", "yes", "2024", "a: b"])
def test_draft_values_read_back_as_written(value):
    from sync.drafting.starter_yaml import q
    text = q(value)
    assert yaml.safe_load(f"k: {text}")["k"] == value
    assert "\\u" not in text or not any(c in value for c in "çãクー🚀")   # letters stay letters


def test_ids_are_transliterated_never_lever_n():
    from sync.drafting.starter_yaml import slug
    taken: set[str] = set()
    assert [slug(x, taken, "label") for x in ["クローズ", "Integração", "Integração", "🚀", "…"]] == \
           ["kurozu", "integracao", "integracao-2", "rocket", "label"]


@pytest.mark.parametrize("own, own_subtask, parent_type, level, epic", [
    ("Story", False, "Epic", 1, True),            # Cloud: the hierarchy says epic
    ("Sub-task", True, "Story", 0, False),         # a sub-task's story
    ("Subtarefa", None, "Defeito", None, False),   # a CSV: the parent's row gives its type
    ("Sub-Test Execution", None, None, None, False),
    ("Epic", False, "Initiative", 2, False),       # above epics
    ("Épica", None, None, None, False),
    ("Historia", None, None, None, True),          # a standard issue's parent is an epic
    ("Task", None, "Épico", None, True),
])
def test_a_parent_is_an_epic_only_where_the_tracker_says_so(own, own_subtask, parent_type, level, epic):
    from connectors.vocabulary import is_epic_parent
    assert is_epic_parent(own, own_subtask, parent_type, level) is epic


def test_explain_shows_the_components_and_the_parent_it_read(tmp_path, capsys):
    header, rows = csv_rows(CSV_PT.read_text(encoding="utf-8"))
    row = next(r for r in rows if len(column(header, r, "Components")) == 2)
    key = column(header, row, "Issue key")[0]
    config = file_config(tmp_path, CSV_PT)
    assert cli.main(["explain", "--config", config, key]) == 0
    out = capsys.readouterr().out
    assert f"components {', '.join(column(header, row, 'Components'))}" in out
    sub = next(r for r in rows if column(header, r, "Issue Type") == ["Subtarefa"])
    story = next(r for r in rows if column(header, r, "Issue id") == column(header, sub, "Parent"))
    assert cli.main(["explain", "--config", config, column(header, sub, "Issue key")[0]]) == 0
    shown = capsys.readouterr().out
    assert f"parent (not an epic) {column(header, story, 'Issue key')[0]}, " \
           f"{column(header, sub, 'Parent summary')[0]}" in shown
