"""One sync through the memory fakes: guards, failing sources, dry runs."""
from __future__ import annotations

import threading
import weakref
from datetime import timedelta

import pytest

from connectors.memory import MemorySink, MemorySource
from sync.core.errors import GuardError, RemoteError, TransientError
from sync.worker.state import State

from .conftest import NOW, make_config, sync_over, ticket


@pytest.fixture
def state(tmp_path):
    s = State(tmp_path / "state.db")
    yield s
    s.close()


def tickets(n: int, prefix: str = "T"):
    return [ticket(f"{prefix}-{i}", labels=("onboarding-email",)) for i in range(n)]


def test_a_good_sync_writes_and_records(state):
    sink = MemorySink()
    result = sync_over(make_config(), [MemorySource("jira", tickets(4))], sink, state, NOW)
    assert result.tickets == 4 and len(sink.reports) == 1
    assert state.last_count() == 4
    assert sink.reports[0].table("Summary").rows[-1] == ["Last error", None]


@pytest.mark.parametrize("previous,now_count,fails", [(None, 0, True), (10, 4, True), (10, 5, False),
                                                       (10, 11, False)])
def test_drop_guard(state, previous, now_count, fails):
    sink = MemorySink()
    if previous:
        sync_over(make_config(), [MemorySource("jira", tickets(previous))], sink, state, NOW)
    source = MemorySource("jira", tickets(now_count))
    if fails:
        with pytest.raises(GuardError):
            sync_over(make_config(), [source], sink, state, NOW + timedelta(hours=1))
        assert len(sink.reports) == (1 if previous else 0)
        assert sink.errors and "left as it was" in sink.errors[0]
        # --force writes anyway
        sync_over(make_config(), [source], sink, state, NOW + timedelta(hours=2), force=True)
        assert state.last_count() == now_count
    else:
        sync_over(make_config(), [source], sink, state, NOW + timedelta(hours=1))
        assert state.last_count() == now_count


def test_one_failing_source_fails_the_sync_and_is_named(state):
    sink = MemorySink()
    good = MemorySource("eng", tickets(3))
    bad = MemorySource("marketing", [], error=TransientError("HTTP 503 from Trello"))
    cfg = make_config(source=None, sources=[{"name": "eng", "type": "file", "path": "a"},
                                            {"name": "marketing", "type": "file", "path": "b"}])
    with pytest.raises(TransientError):
        sync_over(cfg, [good, bad], sink, state, NOW)
    assert sink.reports == []
    assert sink.errors == ["source marketing: HTTP 503 from Trello"]
    assert state.last_count() is None and state.runs()[0][2] == 0


def test_a_failure_under_a_pinned_as_of_is_stamped_with_the_real_clock(state):
    stamped = []

    class Stamping(MemorySink):
        def write_error(self, message, when, basis=None):
            stamped.append(when)

    cfg = make_config(as_of="2026-11-01T09:00:00Z")
    bad = MemorySource("file", [], error=TransientError("disk gone"))
    with pytest.raises(TransientError):
        sync_over(cfg, [bad], Stamping(), state, NOW)
    # The figures are as of the pinned day; the failure happened now.
    assert stamped == [NOW]
    assert state.runs()[0][0] == NOW.isoformat()


def test_several_sources_one_view(state):
    sink = MemorySink()
    cfg = make_config(source=None, sources=[{"name": "eng", "type": "file", "path": "a"},
                                            {"name": "mkt", "type": "file", "path": "b"}])
    eng = [ticket(f"GROW-{i}", source="eng", labels=("onboarding-email",)) for i in range(2)]
    sync_over(cfg, [MemorySource("eng", eng),
                    MemorySource("mkt", [ticket("aB3dE9xY", source="mkt", labels=("seo",))])],
              sink, state, NOW)
    report = sink.reports[0]
    assert [r[1] for r in report.table("Tickets").rows] == ["eng", "eng", "mkt"]
    summary = dict(report.table("Summary").rows)
    assert summary["Source"] == "eng, mkt" and summary["Unmapped tickets"] == 1


def test_dry_run_writes_nothing(tmp_path):
    path = tmp_path / "never.db"
    state = State(path, readonly=True)
    sink = MemorySink()
    result = sync_over(make_config(), [MemorySource("jira", tickets(2))], sink, state, NOW,
                       dry_run=True)
    assert result.tickets == 2 and not result.written
    assert sink.reports == [] and sink.errors == []
    assert not path.exists()


def test_sink_failure_is_recorded_not_masked(state):
    class BrokenSink(MemorySink):
        def write(self, report, basis):
            raise RemoteError("403 from Sheets")

        def write_error(self, message, when, basis=None):
            raise RemoteError("still 403")
    with pytest.raises(RemoteError, match="403 from Sheets"):
        sync_over(make_config(), [MemorySource("jira", tickets(1))], BrokenSink(), state, NOW)
    assert state.last_count() is None


class _Gate(MemorySource):
    """A source whose fetch waits (with a deadline) until the sink's read has
    begun: a sync only gets past it when the read overlaps the fetch."""
    def __init__(self, name, found, started, error=None):
        super().__init__(name, found, error=error)
        self.started = started

    def fetch(self, state, now):
        assert self.started.wait(timeout=10), "the sink's read did not start during the fetch"
        return super().fetch(state, now)


class _ReadingSink(MemorySink):
    def __init__(self, started, error=None):
        super().__init__()
        self.started, self.error, self.reads = started, error, 0

    def read(self):
        self.reads += 1
        self.started.set()
        if self.error:
            raise self.error
        return super().read()


def test_the_sheet_is_read_while_the_sources_are_fetched(state):
    started = threading.Event()
    sink = _ReadingSink(started)
    result = sync_over(make_config(), [_Gate("jira", tickets(3), started)], sink, state, NOW)
    assert result.tickets == 3 and sink.reads == 1 and len(sink.reports) == 1


def test_a_failed_read_fails_the_sync_with_its_own_message(state):
    started = threading.Event()
    sink = _ReadingSink(started, error=RemoteError("Google Sheets read: HTTP 403"))
    before = threading.active_count()
    with pytest.raises(RemoteError, match="^Google Sheets read: HTTP 403$"):
        sync_over(make_config(), [_Gate("jira", tickets(3), started)], sink, state, NOW)
    assert sink.reports == [] and sink.errors == ["Google Sheets read: HTTP 403"]
    assert state.last_count() is None and threading.active_count() == before


def test_a_failed_fetch_wins_over_the_read_and_leaves_the_sheet_alone(state):
    started = threading.Event()
    # The read fails too: the fetch's error is still the one raised and noted.
    sink = _ReadingSink(started, error=RemoteError("Google Sheets read: HTTP 500"))
    source = _Gate("jira", [], started, error=TransientError("HTTP 503 from Jira"))
    before = threading.active_count()
    with pytest.raises(TransientError, match="HTTP 503 from Jira"):
        sync_over(make_config(), [source], sink, state, NOW)
    assert sink.reports == [] and sink.errors == ["source jira: HTTP 503 from Jira"]
    assert state.last_count() is None and threading.active_count() == before


def test_a_read_made_during_a_failed_fetch_is_not_kept(state):
    """The sheet read alongside a fetch that then fails is dropped with the
    sync: the error handed back does not keep it alive (a big sheet's rows)."""
    started = threading.Event()
    seen = []

    class Rows:          # stands for what a sheet's read holds (SheetInputs has slots: no weakref)
        pass

    class Kept(_ReadingSink):
        def read(self):
            inputs = super().read()
            inputs.basis = Rows()
            seen.append(weakref.ref(inputs.basis))
            return inputs
    source = _Gate("jira", [], started, error=TransientError("HTTP 503 from Jira"))
    with pytest.raises(TransientError) as failed:
        sync_over(make_config(), [source], Kept(started), state, NOW)
    assert failed.value and len(seen) == 1 and seen[0]() is None
