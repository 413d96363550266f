"""Google Sheets at any size (issue 10): under the 10 MiB request wall with a
hidden staging tab, still one atomic publish of the visible tabs.  Real
gspread and google-auth against the strict fake (tests/fakes_sheets.py)."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import responses

from connectors.memory import MemorySource
from connectors.sheets.sink import SheetsSink
from connectors.sheets.staging import STAGE_WORKERS, STAGING
from sync.core.errors import RemoteError
from sync.worker.ratelimit import Limiters
from sync.worker.runtime import Runtime
from sync.worker.state import State

from .conftest import NOW, make_config, sync_over, ticket
from .fakes_sheets import MAX_BODY, FakeSheets
from .test_kill import visible
from .test_sheets import key_file, private_key, tickets  # noqa: F401 (fixtures)


class Run:
    def __init__(self, tmp_path, key_file, rsps, name="1sheetFAKEid"):
        self.fake = FakeSheets(rsps, sheet_id=name)
        self.config = make_config(sink={"type": "google_sheets", "credentials": str(key_file),
                                        "spreadsheet": name})
        self.state = State(tmp_path / f"{name}.db")

    def sync(self, items, now=NOW, **kw):
        self.fake.rsps.calls.reset()
        return sync_over(self.config, [MemorySource("jira", items)], SheetsSink(self.config.sink),
                         self.state, now, **kw)

    def sheet_requests(self) -> list[str]:
        return [c.request.url.split("?")[0].rsplit("/", 1)[-1] for c in self.fake.rsps.calls
                if "sheets.googleapis.com" in c.request.url]


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def small_walls(monkeypatch, publish=50_000, chunk=4_000):
    monkeypatch.setattr("connectors.sheets.sink.PUBLISH_MAX", publish)
    monkeypatch.setattr("connectors.sheets.staging.STAGE_CHUNK", chunk)


def people_columns(fake):
    """Someone adds a Notes column with a formula and a date format."""
    tab = fake.tabs["Tickets"]
    tab["cols"] = 18
    tab["cells"][(0, 16)] = {"userEnteredValue": {"stringValue": "Notes"}}
    tab["cells"][(0, 17)] = {"userEnteredValue": {"stringValue": "Twice"}}
    for r in range(1, 6):
        tab["cells"][(r, 16)] = {"userEnteredValue": {"stringValue": f"note {r}"},
                                 "userEnteredFormat": {"textFormat": {"italic": True}}}
        tab["cells"][(r, 17)] = {"userEnteredValue": {"formulaValue": f"=I{r + 1}*2"}}


@pytest.mark.slow
def test_a_staged_sync_ends_cell_for_cell_as_a_single_request_does(tmp_path, key_file, rsps,  # noqa: F811
                                                                   monkeypatch):
    plain, staged = Run(tmp_path, key_file, rsps, "1plain"), Run(tmp_path, key_file, rsps, "1staged")
    first = tickets(*[f"A-{i}" for i in range(1, 61)])
    first[7] = tickets("A-8", title="=IMPORTXML(\"http://x\",\"//a\")")[0]
    second = tickets(*[f"A-{i}" for i in range(4, 80)], owner="Bo")
    second[4] = tickets("A-8", title="=IMPORTXML(\"http://x\",\"//a\")", owner="Bo")[0]
    for run, stage in ((plain, False), (staged, True)):
        with monkeypatch.context() as m:
            if stage:
                small_walls(m)
            run.sync(first)
            people_columns(run.fake)
            run.sync(second, now=NOW + timedelta(days=1))
    assert visible(staged.fake) == visible(plain.fake)
    assert STAGING not in plain.fake.tabs
    tab = staged.fake.tabs[STAGING]
    assert tab["hidden"] and (tab["rows"], tab["cols"]) == (1, 1)      # shrunk after the publish
    assert staged.fake.value_writes and all(
        w["valueInputOption"] == "RAW" for w in staged.fake.value_writes)
    # people's formula went back as a formula, on its ticket's row (A-4 was row 4)
    cell = staged.fake.cell("Tickets", 1, 17)
    assert cell["userEnteredValue"] == {"formulaValue": "=I5*2"}
    # ticket text is never a formula, staged or not
    assert staged.fake.cell("Tickets", 5, 2)["userEnteredValue"] == \
        {"stringValue": "=IMPORTXML(\"http://x\",\"//a\")"}


def test_each_staging_request_fits_and_the_visible_tabs_change_in_one(tmp_path, key_file, rsps,  # noqa: F811
                                                                      monkeypatch):
    small_walls(monkeypatch)
    run = Run(tmp_path, key_file, rsps)
    run.sync(tickets(*[f"A-{i}" for i in range(1, 120)]))
    calls = run.sheet_requests()
    assert calls.count("values:batchUpdate") >= 3
    sizes = [len(c.request.body) for c in run.fake.rsps.calls if c.request.body]
    assert max(sizes) <= 50_000
    # Only the last batchUpdate (the publish) touches a visible tab.
    publishes = [b for b in run.fake.batches
                 if any(_touches_visible(req, run.fake) for req in b["requests"])]
    assert len(publishes) == 1 and publishes[0] is run.fake.batches[-1]


def _touches_visible(req: dict, fake) -> bool:
    staging = fake.tabs[STAGING]["sheetId"]
    ids = set()
    (kind, arg), = req.items()
    for key in ("range", "destination"):
        if isinstance(arg.get(key), dict) and "sheetId" in arg[key]:
            ids.add(arg[key]["sheetId"])
    props = arg.get("properties") or {}
    if "sheetId" in props:
        ids.add(props["sheetId"])
    if kind == "addSheet":
        return props.get("title") != STAGING
    return bool(ids - {staging}) or kind in ("addChart", "updateChartSpec", "appendCells")


@pytest.fixture(scope="module")
def big():
    """10k tickets as a real board has them: a third unowned or unestimated,
    some unmapped and stale, so Warnings is as big as Tickets (as in the benchmark)."""
    return [ticket(f"GROW-{i}", labels=("onboarding-email",) if i % 4 else ("seo",),
                   url=f"https://acme.atlassian.net/browse/GROW-{i}",
                   title=f"Work item {i}: make the onboarding email flow clearer for trial users",
                   owner=None if i % 3 == 0 else f"Person {i % 40}",
                   estimate=None if i % 3 == 1 else float(i % 8 + 1),
                   updated=NOW - timedelta(days=1 if i % 5 else 30))
            for i in range(1, 10_001)]


@pytest.mark.slow
def test_a_10k_first_sync_in_one_request_hits_the_wall(tmp_path, key_file, rsps, big, monkeypatch):  # noqa: F811
    # The write of issue 5 (everything in one batchUpdate) against the strict fake.
    monkeypatch.setattr("connectors.sheets.sink.PUBLISH_MAX", 10 ** 9)
    run = Run(tmp_path, key_file, rsps)
    with pytest.raises(RemoteError, match="Request payload size exceeds the limit: 10485760 bytes"):
        run.sync(big)
    assert run.fake.largest_body > MAX_BODY


@pytest.mark.slow
def test_a_10k_first_sync_fits_in_five_requests(tmp_path, key_file, rsps, big):  # noqa: F811
    run = Run(tmp_path, key_file, rsps)
    run.sync(big)
    calls = run.sheet_requests()
    assert len(calls) <= 5, calls
    assert run.fake.largest_body <= 4_000_000
    keys = [r[0] for r in run.fake.values("Tickets")[1:]]
    assert len(keys) == 10_000 and keys[0] == "GROW-1" and keys[-1] == "GROW-10000"
    link = run.fake.cell("Tickets", 10_000, 0)["userEnteredFormat"]["textFormat"]["link"]["uri"]
    assert link.endswith("/browse/GROW-10000")
    # a quiet re-sync: metadata, one read, one publish
    run.sync(big, now=NOW + timedelta(minutes=15))
    assert len(run.sheet_requests()) == 3


def test_over_ten_million_cells_fails_before_any_write(tmp_path, key_file, rsps):  # noqa: F811
    run = Run(tmp_path, key_file, rsps)
    run.sync(tickets("A-1"))
    run.fake.tabs["Raw export"] = run.fake._tab(77, "Raw export", 20, 498_000, 20)   # 9.96M, not ours
    batches, values = len(run.fake.batches), len(run.fake.value_writes)
    with pytest.raises(RemoteError) as err:
        run.sync(tickets(*[f"A-{i}" for i in range(1, 2001)]), now=NOW + timedelta(days=1))
    text = err.value.message
    assert "over Google's limit of 10,000,000" in text and "Raw export 9,960,000" in text
    assert "nothing was written" in text and "owners_tab" in err.value.hint
    # Nothing but the Last error note was written.
    assert len(run.fake.value_writes) == values
    assert len(run.fake.batches) == batches + 1
    assert "10,000,000" in dict((r + [None])[:2] for r in run.fake.values("Summary"))["Last error"]


def test_a_staging_tab_left_by_a_killed_sync_is_reused_and_shrunk(tmp_path, key_file, rsps,  # noqa: F811
                                                                   monkeypatch):
    run = Run(tmp_path, key_file, rsps)
    run.sync(tickets("A-1", "A-2"))
    run.fake.tabs[STAGING] = dict(run.fake._tab(900_000, STAGING, 9, 5_000, 20), hidden=True)
    run.sync(tickets("A-1", "A-2", "A-3"), now=NOW + timedelta(minutes=5))       # small: not staged
    assert (run.fake.tabs[STAGING]["rows"], run.fake.tabs[STAGING]["cols"]) == (1, 1)
    small_walls(monkeypatch)
    run.sync(tickets(*[f"A-{i}" for i in range(1, 90)]), now=NOW + timedelta(minutes=10))
    adds = [r for b in run.fake.batches for r in b["requests"] if "addSheet" in r
            and r["addSheet"]["properties"]["title"] == STAGING]
    assert adds == []                                           # reused, never added twice
    assert len([r for r in run.fake.values("Tickets")[1:]]) == 89


def test_staging_writes_overlap_within_the_pool_and_the_pace(tmp_path, key_file, rsps,  # noqa: F811
                                                            monkeypatch):
    """Staging writes after the first go STAGE_WORKERS at once (issue 28), and
    every one still waits its turn in the account's writes-per-minute window."""
    small_walls(monkeypatch, chunk=2_000)
    monkeypatch.setattr("connectors.sheets.sink.WRITES_PER_MINUTE", 3)
    clock, lock = [0.0], threading.Lock()

    def sleep(seconds, stop=None):    # the pace's waits pass on a clock of the test's own
        with lock:
            clock[0] += seconds
    monkeypatch.setattr("connectors.retry.sleep", sleep)

    class TestClock(Limiters):
        def get(self, *identity, limit, window):
            found = super().get(*identity, limit=limit, window=window)
            found.clock = lambda: clock[0]
            return found
    run = Run(tmp_path, key_file, rsps)
    run.fake.latency = 0.05           # long enough for writes sent together to overlap
    result = sync_over(run.config, [MemorySource("jira", tickets(*[f"A-{i}" for i in range(1, 160)]))],
                       SheetsSink(run.config.sink, Runtime(limiters=TestClock())), run.state, NOW)
    assert result.written
    writes = [c for c in run.sheet_requests() if c.endswith("batchUpdate")]
    assert run.sheet_requests().count("values:batchUpdate") >= 6
    assert 1 < run.fake.peak <= STAGE_WORKERS
    # 3 writes a minute: the n-th write cannot go before minute (n-1)//3.
    assert clock[0] >= 60 * ((len(writes) - 1) // 3)
    assert STAGING in run.fake.tabs and run.fake.tabs[STAGING]["rows"] == 1
