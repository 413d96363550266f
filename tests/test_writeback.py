"""Jira → Google Sheets through the strict fakes: a lever chosen in the
sheet's Set lever column maps the ticket, and with `source.writeback:
labels` is added to the issue as its tag label — once, after the sheet was
written, never blocking it.  Then the same for Trello (a board label)."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from connectors.jira.source import JiraSource
from connectors.jira.settings import JiraSourceConfig
from connectors.sheets.sink import SheetsSink
from connectors.trello.source import TrelloSource, TrelloSourceConfig
from sync.core.errors import RemoteError
from sync.worker import telemetry as telemetry_mod
from sync.worker.state import State
from sync.worker.telemetry import Telemetry

from .conftest import FIXTURES, NOW, make_config, sync_over
from .fakes import FakeJira, make_issues
from .fakes_sheets import FakeSheets, Killed
from .test_sheets import key_file, private_key, summary  # noqa: F401 (fixtures)

COL = 15                    # Set lever, 0-based in the fake's grid


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


class JiraToSheets:
    def __init__(self, tmp_path, key_file, rsps, writeback=None, cloud=True):  # noqa: F811
        self.jira = FakeJira(rsps, make_issues(4, NOW - timedelta(hours=2)), cloud=cloud)
        self.sheets = FakeSheets(rsps)
        self.config = make_config(sink={"type": "google_sheets", "credentials": str(key_file),
                                        "spreadsheet": self.sheets.id})
        auth = {"email": "ops@acme.test", "token": "t0ken"} if cloud else {"token": "pat-t0ken"}
        self.source = JiraSourceConfig.model_validate(dict(
            type="jira", url=self.jira.url, auth=auth, jql="project = GROW", writeback=writeback))
        self.state = State(tmp_path / "state.db")
        self.telemetry = Telemetry(f"wb-{tmp_path.name}")

    def sync(self, now=NOW, **kw):
        self.jira.now = now
        return sync_over(self.config, [JiraSource(self.source, "jira")], SheetsSink(self.config.sink),
                         self.state, now, telemetry=self.telemetry, **kw)

    def choose(self, picks: dict[str, str | None]) -> None:
        """A person picks in the dropdown (None clears the cell)."""
        tab = self.sheets.tabs["Tickets"]
        for r in range(1, tab["rows"]):
            key = self.sheets.cell("Tickets", r, 0).get("userEnteredValue", {}).get("stringValue")
            if key in picks:
                cell = dict(tab["cells"].get((r, COL), {}))
                if picks[key] is None:
                    cell.pop("userEnteredValue", None)
                else:
                    cell["userEnteredValue"] = {"stringValue": picks[key]}
                tab["cells"][(r, COL)] = cell

    def rows(self) -> dict[str, dict]:
        values = self.sheets.values("Tickets")
        return {r[0]: dict(zip(values[0], r + [None] * 20)) for r in values[1:]}

    def puts(self) -> list[str]:
        return [urlparse(c.request.url).path for c in self.jira.rsps.calls if c.request.method == "PUT"]

    def written(self, ok: bool = True) -> float:
        return telemetry_mod.LABEL_WRITES.labels(self.telemetry.workspace, "jira",
                                                 "ok" if ok else "refused")._value.get()


@pytest.fixture
def env(tmp_path, key_file, rsps):  # noqa: F811
    e = JiraToSheets(tmp_path, key_file, rsps, writeback="labels")
    yield e
    e.state.close()


def add(label: str) -> dict:
    return {"update": {"labels": [{"add": label}]}}


def test_a_choice_made_in_the_sheet_maps_the_ticket(tmp_path, key_file, rsps):  # noqa: F811
    env = JiraToSheets(tmp_path, key_file, rsps)                 # no write-back
    env.sync()
    assert env.rows()["GROW-100"]["Lever ID"] is None            # label seo: unmapped
    rule = env.sheets.validation("Tickets", 1, COL)
    assert rule["condition"]["type"] == "ONE_OF_LIST" and rule["showCustomUi"] is True
    assert [v["userEnteredValue"] for v in rule["condition"]["values"]] == \
        ["emails", "pricing", "wizard", "docs", "ignore"]
    assert env.sheets.validation("Tickets", 4, COL) is not None          # every ticket row
    assert env.sheets.validation("Tickets", 1, COL - 1) is None          # only that column
    env.choose({"GROW-100": "pricing"})
    env.sync(NOW + timedelta(minutes=15))
    row = env.rows()["GROW-100"]
    assert (row["Outcome ID"], row["Lever ID"], row["Matched by"], row["Set lever"]) == \
        ("conv", "pricing", "sheet: pricing", "pricing")
    assert env.jira.edits == [] and env.puts() == []
    env.state.close()


@pytest.mark.slow
def test_in_google_sheets_a_formula_stays_text_and_a_new_sheet_gets_the_choices_back(
        tmp_path, key_file, rsps):  # noqa: F811
    env = JiraToSheets(tmp_path, key_file, rsps)
    env.sync()
    env.choose({"GROW-100": "pricing", "GROW-101": "ignore"})
    tab = env.sheets.tabs["Tickets"]
    tab["cells"][(3, COL)] = {"userEnteredValue": {"formulaValue": '=IMPORTXML("http://x","//a")'}}
    env.sync(NOW + timedelta(minutes=15))
    assert env.sheets.cell("Tickets", 3, COL)["userEnteredValue"] == \
        {"stringValue": '=IMPORTXML("http://x","//a")'}                 # written back as text
    assert env.rows()["GROW-102"]["Matched by"] is None
    env.choose({"GROW-101": None})                                      # cleared in the sheet
    env.sync(NOW + timedelta(minutes=30))
    del env.sheets.tabs["Tickets"]                                      # someone deletes the tab
    env.sync(NOW + timedelta(minutes=45))
    rows = env.rows()
    assert (rows["GROW-100"]["Set lever"], rows["GROW-100"]["Matched by"]) == ("pricing", "sheet: pricing")
    assert rows["GROW-101"]["Set lever"] is None                        # the cleared one stays cleared
    assert env.sheets.validation("Tickets", 1, COL)["condition"]["type"] == "ONE_OF_LIST"
    env.state.close()


def test_write_back_adds_one_label_per_chosen_ticket_and_none_again(env):
    env.sync()
    env.choose({"GROW-100": "pricing", "GROW-102": "wizard", "GROW-103": "ignore"})
    before = env.written()
    sheet_calls = len(env.sheets.sheet_calls())
    env.sync(NOW + timedelta(minutes=15))
    assert env.jira.edits == [("GROW-100", add("lever:pricing")), ("GROW-102", add("lever:wizard"))]
    # The budget: the sheet's three requests, and one Jira request per label on top of the reads.
    assert len(env.sheets.sheet_calls()) - sheet_calls == 3
    assert env.puts() == ["/rest/api/2/issue/GROW-100", "/rest/api/2/issue/GROW-102"]
    assert env.written() - before == 2
    assert summary(env.sheets)["Last error"] is None
    env.sync(NOW + timedelta(minutes=30))                        # labels read back: tags now
    assert len(env.jira.edits) == 2
    rows = env.rows()
    assert (rows["GROW-100"]["Matched by"], rows["GROW-100"]["Set lever"]) == \
        ("tag lever:pricing", "pricing")
    assert rows["GROW-103"]["Matched by"] == "sheet: ignore"     # ignore is never a label
    records = env.state.label_writes("jira")
    assert {k: r["status"] for k, r in records.items()} == {"GROW-100": "done", "GROW-102": "done"}


def test_a_dry_run_lists_the_writes_and_makes_none(env):
    env.sync()
    env.choose({"GROW-100": "pricing"})
    dry = State(env.state.path, readonly=True)
    try:
        result = sync_over(env.config, [JiraSource(env.source, "jira")], SheetsSink(env.config.sink),
                           dry, NOW + timedelta(minutes=15), dry_run=True)
    finally:
        dry.close()
    assert [w.describe() for w in result.label_writes] == \
        ["add label lever:pricing to GROW-100 (source jira)"]
    assert env.jira.edits == [] and env.puts() == []
    env.sync(NOW + timedelta(minutes=30))                        # the real sync makes it
    assert env.jira.edits == [("GROW-100", add("lever:pricing"))]


def test_a_refused_write_leaves_the_sync_good_names_the_ticket_and_is_retried(env):
    env.sync()
    env.choose({"GROW-100": "pricing", "GROW-102": "wizard"})
    env.jira.refuse["GROW-102"] = (403, {"errorMessages": ["You do not have permission to edit issues "
                                                           "in this project."], "errors": {}})
    refused = env.written(ok=False)
    result = env.sync(NOW + timedelta(minutes=15))              # returns: exit 0
    assert result.written and env.jira.edits == [("GROW-100", add("lever:pricing"))]
    error = summary(env.sheets)["Last error"]
    assert "GROW-102" in error and "HTTP 403" in error and "Edit issues" in error
    assert "GROW-100" not in error and env.written(ok=False) - refused == 1
    assert env.rows()["GROW-102"]["Matched by"] == "sheet: wizard"      # the sheet was written
    assert env.state.label_writes("jira")["GROW-102"]["status"] == "failed"
    del env.jira.refuse["GROW-102"]
    env.sync(NOW + timedelta(minutes=30))
    assert env.jira.edits[1:] == [("GROW-102", add("lever:wizard"))]
    assert summary(env.sheets)["Last error"] is None


def test_a_kill_between_the_sheet_write_and_the_tracker_write_never_writes_twice(env):
    env.sync()
    env.choose({"GROW-100": "pricing"})
    applied = env.jira._edit

    def edit_then_die(request):
        applied(request)
        raise Killed("killed after Jira applied the edit, before its answer")
    for call in env.jira.rsps.registered():
        if call.method == "PUT":
            call.callback = edit_then_die
    with pytest.raises(Killed):
        env.sync(NOW + timedelta(minutes=15))
    assert env.jira.edits == [("GROW-100", add("lever:pricing"))]
    assert env.rows()["GROW-100"]["Matched by"] == "sheet: pricing"         # the sheet was written
    assert env.state.label_writes("jira")["GROW-100"]["status"] == "intent"
    env.sync(NOW + timedelta(minutes=30))                                    # restarted
    assert len(env.jira.edits) == 1
    assert env.state.label_writes("jira")["GROW-100"]["status"] == "done"


def test_data_center_gets_the_same_edit(tmp_path, key_file, rsps):  # noqa: F811
    env = JiraToSheets(tmp_path, key_file, rsps, writeback="labels", cloud=False)
    env.sync()
    env.choose({"GROW-101": "docs"})
    env.sync(NOW + timedelta(minutes=15))
    assert env.puts() == ["/rest/api/2/issue/GROW-101"]
    put = next(c.request for c in rsps.calls if c.request.method == "PUT")
    assert put.headers["Authorization"] == "Bearer pat-t0ken"
    assert json.loads(put.body) == add("lever:docs")
    env.state.close()


def test_check_probes_the_permission_to_edit(env):
    line = JiraSource(env.source, "jira").check()
    assert line.endswith("; may edit issues (label write-back)")
    probe = [c.request.url for c in env.jira.rsps.calls if "mypermissions" in c.request.url]
    assert parse_qs(urlparse(probe[0]).query)["permissions"] == ["EDIT_ISSUES"]
    env.jira.can_edit = False
    with pytest.raises(RemoteError, match="may not edit issues"):
        JiraSource(env.source, "jira").check()
    plain = env.source.model_copy(update={"writeback": None})
    assert "may edit" not in JiraSource(plain, "jira").check()


# -- Trello ----------------------------------------------------------------

API = "https://api.trello.com/1"
BOARD = json.loads((FIXTURES / "trello_board_export.json").read_text())


class TrelloBoard:
    """The board of the fixture, served whole, with labels added by POST."""

    def __init__(self, rsps):
        self.board = json.loads(json.dumps(BOARD))
        self.created: list[dict] = []
        self.added: list[tuple[str, str]] = []
        self.refuse: set[str] = set()
        rsps.add(responses.GET, f"{API}/members/me/boards", json=[
            {"id": BOARD["id"], "name": "Growth Q3", "shortLink": "hKKRg4wu", "closed": False}])
        rsps.add(responses.GET, f"{API}/members/me", json={"id": "m9", "fullName": "Sync Bot",
                                                           "username": "syncbot"})
        rsps.add_callback(responses.GET, f"{API}/boards/{BOARD['id']}",
                          callback=lambda r: (200, {}, json.dumps(self.board)))
        rsps.add_callback(responses.POST, f"{API}/labels", callback=self._label)
        rsps.add_callback(responses.POST, re.compile(rf"{API}/cards/[^/]+/idLabels"),
                          callback=self._add)
        rsps.add(responses.GET, f"{API}/boards/{BOARD['id']}/memberships",
                 json=[{"id": "ms1", "idMember": "m9", "memberType": "normal", "unconfirmed": False}])

    def _label(self, request):
        body = json.loads(request.body)
        if body.get("idBoard") != self.board["id"] or not body.get("name"):
            return 400, {}, "invalid value for idBoard"
        label = {"id": f"6a{len(self.created):022d}", "idBoard": body["idBoard"], "name": body["name"],
                 "color": body.get("color")}
        self.created.append(label)
        self.board["labels"].append(label)
        return 200, {}, json.dumps(label)

    def _add(self, request):
        short = urlparse(request.url).path.split("/")[3]
        if short in self.refuse:
            return 401, {}, "unauthorized permission requested"
        card = next(c for c in self.board["cards"] if c.get("shortLink") == short)
        value = json.loads(request.body)["value"]
        if value in card.get("idLabels", []):
            return 400, {}, "that label is already on the card"
        label = next(lb for lb in self.board["labels"] if lb["id"] == value)
        card.setdefault("idLabels", []).append(value)
        card.setdefault("labels", []).append(label)
        self.added.append((short, label["name"]))
        return 200, {}, json.dumps(card["idLabels"])


@pytest.mark.slow
def test_trello_write_back_creates_the_board_label_once_and_adds_it(tmp_path):
    config = make_config(sink={"type": "xlsx", "path": str(tmp_path / "b.xlsx")})
    source = TrelloSourceConfig.model_validate(dict(
        type="trello", auth={"key": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6", "token": "ATTA-secret"},
        boards=["Growth Q3"], done_lists=["Shipped"], estimate_field="Points", writeback="labels"))
    state = State(tmp_path / "s.db")
    from connectors.xlsx.sink import XlsxSink
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        board = TrelloBoard(rsps)

        def sync(now, chosen=None):
            sink = XlsxSink(config.sink)
            if chosen:
                import openpyxl
                wb = openpyxl.load_workbook(config.sink.path)
                for row in wb["Tickets"].iter_rows(min_row=2):
                    if row[0].value in chosen:
                        row[COL].value = chosen[row[0].value]
                wb.save(config.sink.path)
            return sync_over(config, [TrelloSource(source, "trello")], sink, state, now)

        sync(NOW)
        board.refuse.add("Sh000006")
        result = sync(NOW + timedelta(minutes=15),
                      {"Sh000001": "pricing", "Sh000002": "pricing", "Sh000006": "docs"})
        assert [lb["name"] for lb in board.created] == ["lever:pricing", "lever:docs"]
        assert board.added == [("Sh000001", "lever:pricing"), ("Sh000002", "lever:pricing")]
        assert result.written
        assert state.label_writes("trello")["Sh000006"]["status"] == "failed"
        assert "write access" in state.label_writes("trello")["Sh000006"]["reason"]
        board.refuse.clear()
        sync(NOW + timedelta(minutes=30))
        assert board.added[2:] == [("Sh000006", "lever:docs")]              # retried; label reused
        assert len(board.created) == 2
        sync(NOW + timedelta(minutes=45))
        assert len(board.added) == 3 and len(board.created) == 2
        assert "may add labels" in TrelloSource(source, "trello").check()
    state.close()


@pytest.mark.slow
def test_the_command_line_lists_in_a_dry_run_and_exits_0_on_a_refusal(tmp_path, rsps, capsys):
    import openpyxl
    import yaml

    from sync.cli import main as cli
    from .conftest import base_config
    jira = FakeJira(rsps, make_issues(3, NOW - timedelta(hours=2)))
    data = base_config(source={"type": "jira", "url": jira.url, "jql": "project = GROW",
                               "auth": {"email": "ops@acme.test", "token": "t0ken"}, "writeback": "labels"},
                       sink={"type": "xlsx", "path": str(tmp_path / "b.xlsx")},
                       state=str(tmp_path / "s.db"))
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(data))
    run = ["run", "--once", "--config", str(config)]
    assert cli.main(run) == 0
    wb = openpyxl.load_workbook(tmp_path / "b.xlsx")
    for row in wb["Tickets"].iter_rows(min_row=2):
        row[COL].value = {"GROW-100": "pricing", "GROW-102": "wizard"}.get(row[0].value)
    wb.save(tmp_path / "b.xlsx")
    capsys.readouterr()
    assert cli.main(run + ["--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would add label lever:pricing to GROW-100 (source jira)" in out
    assert "would add label lever:wizard to GROW-102 (source jira)" in out
    assert jira.edits == []
    jira.refuse["GROW-102"] = (403, {"errorMessages": ["You do not have permission to edit issues."],
                                     "errors": {}})
    assert cli.main(run) == 0                                       # a refusal is no failure
    assert jira.edits == [("GROW-100", add("lever:pricing"))]
    last = dict(openpyxl.load_workbook(tmp_path / "b.xlsx")["Summary"].iter_rows(values_only=True))
    assert "label write-back refused for GROW-102" in last["Last error"]
    assert "retried at the next sync" in last["Last error"]
    written = {r: telemetry_mod.LABEL_WRITES.labels("c", "jira", r)._value.get() for r in ("ok", "refused")}
    assert written == {"ok": 1, "refused": 1}


def test_the_sheets_fake_refuses_a_dropdown_the_api_would(rsps):
    import requests
    fake = FakeSheets(rsps)
    url = f"https://sheets.googleapis.com/v4/spreadsheets/{fake.id}:batchUpdate"

    def send(rule, end_row=3):
        body = {"requests": [{"setDataValidation": {"range": {
            "sheetId": 0, "startRowIndex": 1, "endRowIndex": end_row, "startColumnIndex": 2,
            "endColumnIndex": 3}, **({"rule": rule} if rule is not None else {})}}]}
        return requests.post(url, json=body, timeout=5,
                             headers={"Authorization": "Bearer ya29.fake-access-token"})

    good = {"condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": "a"}]}, "strict": False}
    assert send(good).status_code == 200 and fake.validation("Sheet1", 2, 2) == good
    assert send({"condition": {"type": "ONE_OF_LIST", "values": []}}).status_code == 400
    assert send({"condition": {"type": "ONE_OF_LIST",
                               "values": [{"userEnteredValue": "=A1"}]}}).status_code == 400
    assert send({"condition": {"type": "LIST"}}).status_code == 400
    assert send(good, end_row=1001).status_code == 400                  # past the grid's 1000 rows
    assert fake.validation("Sheet1", 2, 2) == good                      # a refused batch changes nothing
    assert send(None).status_code == 200 and fake.validation("Sheet1", 2, 2) is None   # no rule: cleared
