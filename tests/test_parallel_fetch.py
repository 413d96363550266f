"""Fetching in parallel (issue 28): Jira Cloud's ids listed then fetched by
bulk fetch on a bounded pool, Data Center's pages by `startAt` at once,
Trello's boards at once.  The real `jira` and py-trello clients against the
fakes with a round-trip time, so requests really overlap; what is checked
is what a user relies on: the same tickets in the same order as one request
at a time, never more requests in flight than `workers`, the host's rate
limit kept, and a `Retry-After` told to one worker holding them all.
"""
from __future__ import annotations

import collections
import copy
import itertools
import json
import threading
import time
from datetime import timedelta

import pytest
import responses

from connectors import retry
from connectors.jira.source import BURST, JiraSource
from connectors.sheets.sink import SheetsSink
from connectors.trello.source import TrelloSource, TrelloSourceConfig
from sync.core.errors import RemoteError
from sync.worker.runtime import Runtime
from sync.worker.state import PackedTexts, State

from .conftest import FIXTURES, NOW, make_config, sync_over
from .fakes import URL, FakeJira, make_issues
from .fakes_sheets import FakeSheets
from .test_jira import START, TOKEN, cloud_config, dc_config, rsps  # noqa: F401 (rsps: a fixture)
from .test_kill import visible
from .test_sheets import key_file, private_key  # noqa: F401 (fixtures)

def fetch(config, tmp_path, name="s", runtime=None, now=NOW):
    state = State(tmp_path / f"{name}.db")
    try:
        tickets = JiraSource(config, "jira", runtime).fetch(state, now)
        state.commit(now, now, len(tickets))
        return tickets
    finally:
        state.close()


def slow_first_batches(request) -> float:
    """Earlier bulk fetches answer last, so finishing order is the reverse of the query's."""
    if "bulkfetch" not in request.url:
        return 0.0
    first = json.loads(request.body)["issueIdsOrKeys"][0]
    return 0.05 + max(0.0, 0.12 - (int(first) - 20000) / 10_000)


def bulk_starts(fake: FakeJira) -> list[float]:
    return sorted(t for t, path in fake.started if path.endswith("/bulkfetch"))


@pytest.mark.slow
def test_cloud_parallel_equals_one_at_a_time(rsps, tmp_path):
    fake = FakeJira(rsps, make_issues(1234, START), latency=slow_first_batches)
    parallel = fetch(cloud_config(workers=6), tmp_path, "p")
    assert fake.peak == 6
    fake.peak = 0
    sequential = fetch(cloud_config(workers=1), tmp_path, "s")
    assert fake.peak == 1
    assert parallel == sequential                   # every ticket, every field, the same order
    assert [t.key for t in parallel] == [f"GROW-{100 + i}" for i in range(1234)]
    # The budget: the first page, one id page, 12 bulk fetches (1234 - 100 ids), per sync.
    assert fake.calls() == {"2/serverInfo": 2, "2/field": 2, "3/search/jql": 4, "3/issue/bulkfetch": 24}


def test_parallel_sheet_equals_one_at_a_time_cell_for_cell(rsps, tmp_path, key_file):  # noqa: F811
    """The whole first sync into Google Sheets, parallel and one request at
    a time: every visible tab the same, values and formats (the side-by-side
    bench, tests/bench/bench_side_by_side.py, checks the same at 10,000)."""
    FakeJira(rsps, make_issues(1234, START), latency=slow_first_batches)
    seen = []
    for workers in (6, 1):
        fake = FakeSheets(rsps, sheet_id=f"1sheet{workers}")
        config = make_config(source=cloud_config(workers=workers).model_dump(mode="json"),
                             sink={"type": "google_sheets", "credentials": str(key_file),
                                   "spreadsheet": fake.id})
        state = State(tmp_path / f"{workers}.db")
        sources = [JiraSource(config.source, "jira")]
        assert sync_over(config, sources, SheetsSink(config.sink), state, NOW).tickets == 1234
        state.close()
        seen.append(visible(fake))
    assert seen[0] == seen[1] and len(seen[0]["Tickets"][0]) == 1235


@pytest.mark.slow
def test_pool_never_exceeds_its_size_nor_the_hosts_rate(rsps, tmp_path):
    fake = FakeJira(rsps, make_issues(1500, START), latency=0.1)
    runtime = Runtime()
    # The host's limiter is the process's: make it tight, 4 per 0.3 s.
    limiter = runtime.limiters.get("jira", URL, "ops@acme.test", TOKEN, limit=4, window=0.3)
    assert BURST[0] > 4

    class Granted(collections.deque):
        """The limiter's window, keeping every grant it ever made."""
        every: list[float] = []

        def append(self, stamp):
            self.every.append(stamp)
            super().append(stamp)
    limiter.stamps = Granted(limiter.stamps)
    tickets = fetch(cloud_config(workers=3), tmp_path, runtime=runtime)
    assert len(tickets) == 1500 and fake.peak == 3
    starts = sorted(t for t, _ in fake.started)
    assert len(starts) == 2 + 14                    # first page, ids, bulk fetches (metadata aside)
    # Every request the fake saw was granted by the host's limiter (metadata too),
    # and no 5 grants fall within one window.  Grants, not arrivals: under a
    # loaded machine the hop from grant to fake varies, the grant time does not.
    granted = Granted.every
    assert len(granted) >= len(starts)
    assert all(granted[i + 4] - granted[i] >= limiter.window for i in range(len(granted) - 4))


@pytest.mark.slow
def test_a_retry_after_told_to_one_worker_holds_them_all(rsps, tmp_path, monkeypatch):
    monkeypatch.setattr(retry, "sleep", lambda s, stop=None: time.sleep(s))   # real waits: the point is when requests go
    bulk_seen = itertools.count()

    def latency(request) -> float:
        """The first bulk fetch is told at once to retry after 1 s; the others take 0.3 s."""
        return 0.3 if "bulkfetch" not in request.url or next(bulk_seen) else 0.0
    fake = FakeJira(rsps, make_issues(2000, START), latency=latency)
    fake.bulk_failures.append((429, {"Retry-After": "1", "RateLimit-Reason": "jira-burst-based"},
                               {"errorMessages": ["Rate limit exceeded."], "errors": {}}))
    tickets = fetch(cloud_config(workers=4), tmp_path)
    assert len(tickets) == 2000
    bulk = [t for t, path in fake.started if path.endswith("/bulkfetch")]
    assert len(bulk) == 19 + 1                      # 1900 ids, one batch asked again
    told = bulk[0]                                  # the first to arrive, answered 429 at once
    # The other three were in flight and are answered 0.3 s later.  Without
    # the hold they would go on at once; with it none starts before the
    # second is over.
    assert not [t for t in bulk if told + 0.15 < t < told + 0.95]
    assert max(bulk) >= told + 0.95


@pytest.mark.slow
def test_a_failure_in_one_worker_stops_the_pool_and_says_why(rsps, tmp_path):
    fake = FakeJira(rsps, make_issues(1200, START), latency=0.02)
    fake.bulk_failures += [(403, {}, {"errorMessages": ["You do not have permission."], "errors": {}})]
    threads = threading.active_count()
    with pytest.raises(RemoteError, match="HTTP 403"):
        fetch(cloud_config(workers=4), tmp_path)
    assert threading.active_count() == threads       # no worker outlives the sync
    assert len(bulk_starts(fake)) < 11               # what had not started was not asked for


@pytest.mark.slow
def test_data_center_pages_by_start_at_in_parallel(rsps, tmp_path):
    issues = make_issues(480, START, url=dc_config().url, v3=False)
    fake = FakeJira(rsps, issues, cloud=False, latency=0.08)
    parallel = fetch(dc_config(workers=4), tmp_path, "p")
    assert fake.peak == 4
    sequential = fetch(dc_config(workers=1), tmp_path, "s")
    assert parallel == sequential and len(parallel) == 480
    # The server caps pages at 50: the first tells the total, nine more at once.
    starts = sorted(q for c in rsps.calls for q in [c.request.url] if "/2/search" in q)
    assert len(starts) == 2 * 10
    assert fake.calls()["2/search"] == 20


def test_data_center_issues_entering_the_query_are_fetched_whole(rsps, tmp_path):
    """By id, 100 a request, on a server that caps its pages at 50."""
    issues = make_issues(420, START, url=dc_config().url, v3=False)
    late = issues[300:]
    for issue in late:
        issue["fields"]["updated"] = "2026-11-01T09:00:00.000+0200"     # the cursor query misses them
    fake = FakeJira(rsps, issues[:300], cloud=False)
    state = State(tmp_path / "s.db")
    source = JiraSource(dc_config(workers=4), "jira")
    for minutes, more in ((0, []), (15, late)):
        now = NOW + timedelta(minutes=minutes)
        fake.issues = fake.issues + more
        tickets = source.fetch(state, now)
        state.commit(now, now, len(tickets))
    state.close()
    assert sorted(t.key for t in tickets) == sorted(i["key"] for i in issues)
    assert sum(j.startswith("id in (") for j in fake.jqls) == 2 + 1     # 100 ids in 2 pages, then 20


@pytest.mark.slow
def test_incremental_with_nothing_changed_is_still_one_search_and_the_ids(rsps, tmp_path):
    fake = FakeJira(rsps, make_issues(700, START))
    state = State(tmp_path / "s.db")
    source = JiraSource(cloud_config(workers=8), "jira")
    for minutes in (0, 15, 30):        # full, then the zone lookup, then nothing changed
        now = NOW + timedelta(minutes=minutes)
        rsps.calls.reset()
        tickets = source.fetch(state, now)
        state.commit(now, now, len(tickets))
    state.close()
    assert len(tickets) == 700
    assert fake.calls() == {"3/search/jql": 2}      # the changes since the cursor, the id listing


# -- Trello: boards at once ---------------------------------------------------

BOARD = json.loads((FIXTURES / "trello_board_export.json").read_text())


@pytest.mark.slow
def test_trello_boards_in_parallel_in_the_configs_order(tmp_path):
    ids = [f"5b27755004{n:02d}ad42967638a{n % 10}" for n in range(6)]
    lock, flight = threading.Lock(), {"now": 0, "peak": 0}

    def board(request):
        with lock:
            flight["now"] += 1
            flight["peak"] = max(flight["peak"], flight["now"])
        time.sleep(0.1)
        with lock:
            flight["now"] -= 1
        board_id = request.url.split("/boards/")[1].split("?")[0]
        data = copy.deepcopy(BOARD)
        data["id"] = board_id
        for card in data["cards"]:
            card["shortLink"] = f"{board_id[-4:]}{card['shortLink'][4:]}"
        return 200, {}, json.dumps(data)

    def tickets(workers: int) -> list:
        config = TrelloSourceConfig.model_validate(dict(
            type="trello", auth={"key": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6", "token": "t-" + "x" * 30},
            boards=ids, done_lists=["Shipped"], estimate_field="Points", workers=workers))
        with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
            for b in ids:
                r.add_callback(responses.GET, f"https://api.trello.com/1/boards/{b}", callback=board)
            state = State(tmp_path / f"t{workers}.db")
            try:
                return TrelloSource(config, "trello").fetch(state, NOW)
            finally:
                state.close()

    parallel = tickets(4)
    assert flight["peak"] == 4
    flight["peak"] = 0
    sequential = tickets(1)
    assert flight["peak"] == 1
    assert parallel == sequential
    per_board = len(parallel) // 6
    assert per_board and [t.key[:4] for t in parallel[::per_board]] == [b[-4:] for b in ids]


def test_the_ticket_cache_is_held_packed_and_written_as_json(rsps, tmp_path):
    """A full fetch keeps each issue's text for the cache compressed until the
    commit (issue 28: memory), and the cache then holds the issue's JSON."""
    FakeJira(rsps, make_issues(250, START))
    state = State(tmp_path / "s.db")
    tickets = JiraSource(cloud_config(workers=4), "jira").fetch(state, NOW)
    staged = state.pending.tickets["jira"]
    assert isinstance(staged, PackedTexts) and len(staged) == 250
    assert all(len(p) < len(staged[k].encode()) for k, p in staged._packed.items())
    state.commit(NOW, NOW, len(tickets))
    cached = state.cached_tickets("jira")
    assert [json.loads(text)["key"] for text in cached.values()] == [t.key for t in tickets]
    state.close()
