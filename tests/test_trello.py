"""The Trello source with the real py-trello client against HTTP mocked by `responses`."""
from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from sync.worker import ratelimit
from sync.worker.runtime import Runtime
from sync.worker.workspace import build_sources
from connectors.memory import MemorySink
from connectors.trello.source import TrelloSource
from connectors.trello.source import TrelloSourceConfig
from sync.core.errors import ConfigError, RemoteError, TransientError
from sync.worker.state import State

from .conftest import FIXTURES, NOW, make_config, sync_over
from .fakes import FakeJira, make_issues

API = "https://api.trello.com/1"
BOARD = json.loads((FIXTURES / "trello_board_export.json").read_text())
BOARD_ID = BOARD["id"]
TOKEN = "ATTAa1b2c3d4e5-trello-token-secret"


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
        r.add(responses.GET, f"{API}/members/me/boards", json=[
            {"id": BOARD_ID, "name": "Growth Q3", "shortLink": "hKKRg4wu", "closed": False},
            {"id": "5b2775500401ad42967638a5", "name": "Content calendar", "shortLink": "Xy12Ab34",
             "closed": False},
            {"id": "5b2775500401ad42967638ff", "name": "Old board", "shortLink": "Qq99Zz00", "closed": True}])
        r.add(responses.GET, f"{API}/members/me", json={"id": "m9", "fullName": "Sync Bot", "username": "syncbot"})
        r.add(responses.GET, f"{API}/boards/{BOARD_ID}", json=BOARD)
        yield r


def config(**kw) -> TrelloSourceConfig:
    data = dict(type="trello", auth={"key": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6", "token": TOKEN},
                boards=["Growth Q3"], done_lists=["Shipped"], estimate_field="Points")
    data.update(kw)
    return TrelloSourceConfig.model_validate(data)


@pytest.fixture
def state(tmp_path):
    s = State(tmp_path / "s.db")
    yield s
    s.close()


def test_one_board_in_at_most_two_requests(rsps, state):
    tickets = {t.key: t for t in TrelloSource(config(), "trello").fetch(state, NOW)}
    paths = [urlparse(c.request.url).path for c in rsps.calls]
    assert paths == ["/1/members/me/boards", f"/1/boards/{BOARD_ID}"]
    query = parse_qs(urlparse(rsps.calls[1].request.url).query)
    assert query["cards"] == ["open"] and query["card_customFieldItems"] == ["true"]
    assert query["customFields"] == ["true"] and query["lists"] == ["all"]
    assert sorted(tickets) == ["Sh000001", "Sh000002", "Sh000003", "Sh000006"]
    assert tickets["Sh000001"].estimate == 3.0 and tickets["Sh000002"].estimate == 5.0
    assert tickets["Sh000003"].done and tickets["Sh000003"].labels == ("purple",)
    assert tickets["Sh000006"].done                                  # due marked complete
    assert tickets["Sh000001"].source == "trello" and tickets["Sh000001"].board == "Growth Q3"


def test_token_never_in_a_url(rsps, state):
    TrelloSource(config(), "trello").fetch(state, NOW)
    assert all(TOKEN not in c.request.url for c in rsps.calls)
    headers = [c.request.headers["Authorization"] for c in rsps.calls]
    assert all((h.decode() if isinstance(h, bytes) else h).startswith("OAuth ") for h in headers)


def test_board_names_are_cached_a_day(rsps, state):
    TrelloSource(config(), "trello").fetch(state, NOW)
    state.commit(NOW, NOW, 4)
    rsps.calls.reset()
    TrelloSource(config(), "trello").fetch(state, NOW + timedelta(hours=1))
    assert [urlparse(c.request.url).path for c in rsps.calls] == [f"/1/boards/{BOARD_ID}"]


def test_board_by_id_needs_one_request(rsps, state):
    TrelloSource(config(boards=[BOARD_ID]), "trello").fetch(state, NOW)
    assert len(rsps.calls) == 1


def test_unknown_board_lists_what_the_token_sees(rsps, state):
    with pytest.raises(ConfigError) as err:
        TrelloSource(config(boards=["Growth Q4"]), "trello").fetch(state, NOW)
    assert "no board named 'Growth Q4'" in err.value.message
    assert "Content calendar, Growth Q3" in err.value.message and "Old board" not in err.value.message
    assert "did you mean 'Growth Q3'" in err.value.hint


def test_unknown_estimate_field_is_a_config_error(rsps, state):
    with pytest.raises(ConfigError, match="its custom fields: Points, Priority, Votes"):
        TrelloSource(config(estimate_field="Story points"), "trello").fetch(state, NOW)


def test_429_waits_past_the_window_then_succeeds(rsps, state, no_sleep):
    rsps.replace(responses.GET, f"{API}/boards/{BOARD_ID}", status=429,
                 json={"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"})
    rsps.add(responses.GET, f"{API}/boards/{BOARD_ID}", json=BOARD)
    tickets = TrelloSource(config(), "trello").fetch(state, NOW)
    assert len(tickets) == 4 and no_sleep == [11.0]


def test_5xx_is_retried(rsps, state, no_sleep):
    rsps.replace(responses.GET, f"{API}/boards/{BOARD_ID}", status=502, body="Bad Gateway")
    rsps.add(responses.GET, f"{API}/boards/{BOARD_ID}", json=BOARD)
    assert len(TrelloSource(config(), "trello").fetch(state, NOW)) == 4
    assert len(no_sleep) == 1


@pytest.mark.parametrize("body,which", [("invalid key", "API key"), ("invalid token", "token")])
def test_401_says_which_credential(rsps, state, body, which):
    rsps.replace(responses.GET, f"{API}/members/me/boards", status=401, body=body)
    with pytest.raises(RemoteError) as err:
        TrelloSource(config(), "trello").fetch(state, NOW)
    assert err.value.message.startswith(f"Trello rejected the {which}")
    assert TOKEN not in str(err.value) + err.value.hint


def test_unknown_custom_field_type_does_not_crash(rsps, state):
    board = json.loads(json.dumps(BOARD))
    board["cards"][1]["customFieldItems"].append(
        {"id": "x", "value": {"sparkle": "9"}, "idCustomField": "deleted-field", "idModel": "c", "modelType": "card"})
    rsps.replace(responses.GET, f"{API}/boards/{BOARD_ID}", json=board)
    assert len(TrelloSource(config(), "trello").fetch(state, NOW)) == 4


def test_big_boards_page_their_cards(rsps, state):
    board = json.loads(json.dumps(BOARD))
    card = board["cards"][1]
    many = [dict(card, id=f"{i:024x}", shortLink=f"Bg{i:06d}") for i in range(1, 1501)]
    board["cards"] = many[-1000:]
    rsps.replace(responses.GET, f"{API}/boards/{BOARD_ID}", json=board)
    rsps.add(responses.GET, f"{API}/boards/{BOARD_ID}/cards", json=list(reversed(many[-1000:])))
    rsps.add(responses.GET, f"{API}/boards/{BOARD_ID}/cards", json=list(reversed(many[:500])))
    tickets = TrelloSource(config(boards=[BOARD_ID]), "trello").fetch(state, NOW)
    assert len(tickets) == 1500
    assert "before=" in rsps.calls[-1].request.url


def test_limiter_waits_past_the_window():
    clock = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        clock[0] += s
    window = ratelimit.SlidingWindow(3, 10.0, clock=lambda: clock[0])
    for _ in range(3):
        assert window.wait(sleep) == 0.0
    clock[0] = 4.0
    assert window.wait(sleep) == 6.0 and clock[0] == 10.0


def mixed_config():
    return make_config(source=None, sources=[
        {"name": "eng", "type": "jira", "url": "https://acme.atlassian.net",
         "auth": {"email": "ops@acme.test", "token": "jira-token-123"}, "jql": "project = GROW"},
        {"name": "marketing", **config().model_dump(mode="json", exclude={"name"})}])


def test_jira_and_trello_in_one_sync(rsps, tmp_path):
    FakeJira(rsps, make_issues(6, NOW - timedelta(days=2)))
    cfg = mixed_config()
    state = State(tmp_path / "s.db")
    sink = MemorySink()
    result = sync_over(cfg, build_sources(cfg, Runtime()), sink, state, NOW)
    rows = sink.reports[0].table("Tickets").rows
    assert result.per_source == {"eng": 6, "marketing": 4}
    assert sorted({r[1] for r in rows}) == ["eng", "marketing"]
    assert dict(sink.reports[0].table("Summary").rows)["Source"] == "eng, marketing"
    state.close()


def test_a_failing_trello_source_fails_the_mixed_sync(rsps, tmp_path, no_sleep):
    FakeJira(rsps, make_issues(6, NOW - timedelta(days=2)))
    rsps.replace(responses.GET, f"{API}/boards/{BOARD_ID}", status=503, body="down")
    cfg = mixed_config()
    state = State(tmp_path / "s.db")
    sink = MemorySink()
    with pytest.raises(TransientError):
        sync_over(cfg, build_sources(cfg, Runtime()), sink, state, NOW)
    assert sink.reports == [] and sink.errors[0].startswith("source marketing: Trello board: HTTP 503")
    state.close()


def test_check(rsps):
    out = TrelloSource(config(), "trello").check()
    assert "Sync Bot" in out and "Growth Q3" in out


def test_init_on_live_trello_finds_the_points_field_and_done_lists(rsps, tmp_path, capsys,
                                                                   monkeypatch):
    from sync.cli import main as cli
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRELLO_API_KEY", "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6")
    monkeypatch.setenv("TRELLO_TOKEN", TOKEN)
    assert cli.main(["init", "--source", "trello", "--board", "Growth Q3"]) == 0
    out = capsys.readouterr().out
    text = (tmp_path / "align-sync.yaml").read_text()
    assert 'estimate_field: "Points"' in text and 'done_lists: ["Shipped"]' in text
    assert '"${TRELLO_TOKEN}"' in text and TOKEN not in text + out
    assert "proposal maps " in out
