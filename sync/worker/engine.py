"""One sync: take in (sync.worker.intake: fetch every source, read the sheet's
inputs, feed the metric sources, assess), guard, write, then what follows a
write (label write-backs, the review's delivery).

`run_once` is that unit of work, on a workspace's `Setup`.  `run --once`,
the daemon and the fleet reach it by one road, `Workspace.sync_once` →
`service.observed_sync`.  Nothing is written until every source was fetched
and everything scored; a failure at any step leaves the data tabs as they
were and, where the sink is reachable, puts the reason in Summary's `Last
error`.  State is committed last.
"""
from __future__ import annotations

import gc
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Sequence

import structlog

from sync.core.assess.assessment import Assessment
from sync.core.errors import AlignSyncError, GuardError, describe
from sync.core.model import SheetInputs
from sync.core.present import report as report_mod
from sync.core.present import review
from sync.core.protocols import Notifier, Sink
from sync.worker import writeback
from sync.worker.intake import Intake, Setup, take_in
from sync.worker.state import State

log = structlog.get_logger("align_sync.engine")


@dataclass
class RunResult:
    assessment: Assessment
    report: report_mod.Report
    tickets: int
    seconds: float
    written: bool
    per_source: dict[str, int] = field(default_factory=dict)
    label_writes: list = field(default_factory=list)    # planned (a dry run lists them)


@contextmanager
def paused_gc():
    """No cyclic garbage collection while a sync builds its objects: a 100k
    export makes millions of dicts, lists and tickets that hold no cycles, and
    the collector walking them again and again took over half of the parse
    (2.9 s against 1.2 s for a 117 MB export; orjson, tried, parsed no faster),
    and 1 s of building the tabs.  The cycles a sync does make (a workbook's
    sheets and cells) are collected by the service between syncs
    (`collect_between_syncs`); a one-off command leaves them to its exit."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def collect_between_syncs() -> None:
    """After a sync in a long-running process: free the cycles it made while
    the collector was paused, now that its objects are garbage (a collection
    then walks only what is still alive)."""
    gc.collect()


def guard(count: int, last: int | None, force: bool, dry_run: bool = False) -> None:
    """Zero tickets, or under half of the last good sync, is refused unless forced."""
    if force:
        return
    # A dry run writes nothing either way: say what a real sync would do.
    left = "a real sync would leave the sheet as it is" if dry_run else "the sheet was left as it was"
    if count == 0:
        raise GuardError(f"the sources returned no tickets; {left}",
                         hint="check the query or board; run with --force if this is right")
    if last and count < last / 2:
        raise GuardError(f"the sources returned {count} tickets, under half of the last good "
                         f"sync's {last}; {left}",
                         hint="check the query, token and board; run with --force if this is right")


def run_once(setup: Setup, state: State, now: datetime, *, dry_run: bool = False,
             force: bool = False, next_sync: datetime | None = None) -> RunResult:
    """One sync of what `setup` holds (a workspace's: `Workspace.setup`).
    `now`: the real clock (a pinned `as_of` scores instead, see
    `Config.scoring_time`); `next_sync`: when Summary says the next one falls."""
    started = time.monotonic()
    wall = now                          # when a failure happened is always the real clock
    now = setup.config.scoring_time(now)
    read: list[SheetInputs] = []        # the sheet as read, for Last error should a later step fail
    seen = None
    try:
        with paused_gc():
            seen = take_in(setup, state, now, read.append)
            built, due = _tables(seen, setup, state, now, next_sync, dry_run)
            guard(len(seen.tickets), state.last_count(), force, dry_run)
            writes = writeback.plan(seen.assessment, setup.config, setup.sources, state)
            if dry_run:
                for w in writes:
                    log.info("writeback.planned", source=w.source, ticket=w.key, label=w.label)
            else:
                _write(setup.sink, built, seen, due)
                read.clear()
                state.stage_choices(seen.chosen.chosen)
                state.commit(now, now, len(seen.tickets))
    except Exception as exc:     # a bug too: the sheet and the run history must say so
        if not dry_run:
            # With what this sync read, unless it wrote since (a failed write
            # changed nothing; a successful one cleared `read`).
            _report_failure(setup.sink, state, exc, wall, setup.redact, read[0].basis if read else None)
        # Nor is what it read kept by the traceback the caller gets (here or
        # in the frames it passed through).
        seen = None
        read.clear()
        traceback.clear_frames(exc.__traceback__)
        raise
    if not dry_run:
        _after_write(setup, seen.assessment, writes, state, wall)    # its notes happen now
    return RunResult(seen.assessment, built, len(seen.tickets), time.monotonic() - started, not dry_run,
                     seen.counts, writes)


def _tables(seen: Intake, setup: Setup, state: State, now: datetime, next_sync: datetime | None,
            dry_run: bool):
    """The report to write, and the review it carries (if one falls due)."""
    names = [s.name for s in setup.sources]
    if dry_run:
        # Only Summary is shown; the other tabs (100k Tickets rows) would be thrown away.
        return report_mod.summary_only(seen.assessment, names, next_sync), None
    config, inputs = setup.config, seen.inputs
    due = review.plan(state, seen.assessment, config, now, inputs.history)
    built = report_mod.build(seen.assessment, inputs, sources=names,
                             history_every=config.review.history_every,
                             owners_tab=config.sink.owners_tab, next_sync=next_sync,
                             review_rows=review.merge_blocks(due.table_rows() if due else [],
                                                             inputs.review),
                             metric_rows=seen.fed.rows or None)
    return built, due


def _write(sink: Sink, built: report_mod.Report, seen: Intake, due) -> None:
    """The report onto the read it was built from; the sheet as read (in a
    big one, 100k rows of Tickets) is not kept past its write: nothing of it
    serves the next sync."""
    sink.write(built, seen.inputs.basis)
    seen.inputs = None
    log.info("sink.written", tabs=len(built.tables) + 1, history_rows=len(built.history),
             **({"review": due.id} if due else {}))    # no `review=None` to puzzle over


def _after_write(setup: Setup, assessment: Assessment, writes, state: State, now: datetime) -> None:
    """Only now, with the sheet written: label write-backs and the review's
    delivery.  A refusal never blocks the sheet; Summary's Last error says
    what did not happen (the sync itself succeeded)."""
    notes = []
    writeback.settle(assessment, setup.sources, state)
    refused = writeback.execute(writes, setup.sources, state, setup.telemetry)
    if refused:
        notes.append(f"label write-back refused for {'; '.join(refused)}; retried at the next sync")
    failed = deliver(state, setup.notifiers, setup.sink) if setup.notifiers else []
    if failed:
        notes.append(f"review not delivered to {'; '.join(failed)}")
    if notes:
        _note(setup.sink, "; ".join(notes), now, setup.redact)


def deliver(state: State, notifiers: Sequence[Notifier], sink: Sink) -> list[str]:
    """Send the last review to every target that has not accepted it; the
    names and reasons of those that failed (retried at the next sync)."""
    pending, todo = review.undelivered(state, [n.id for n in notifiers])
    failed = []
    for notifier in (n for n in notifiers if n.id in todo):
        try:
            notifier.send(pending, sink.location)
        except AlignSyncError as exc:
            log.error("review.failed", target=notifier.label, review=pending.id, error=describe(exc))
            text = describe(exc)            # notifiers' messages start with their label
            failed.append(text if text.startswith(notifier.label) else f"{notifier.label}: {text}")
            continue
        review.mark_delivered(state, notifier.id, pending.id)
        log.info("review.delivered", target=notifier.label, review=pending.id)
    return failed


def _note(sink: Sink, message: str, now: datetime, redact: Callable[[str], str],
          basis=None) -> None:
    """Summary's `Last error`, best effort: the sheet may be the thing that is down.
    `basis`: this sync's read, when nothing was written since (see Sink.write_error)."""
    try:
        sink.write_error(redact(message), now, basis)
    except Exception as inner:
        log.warning("sink.error_not_recorded", error=describe(inner))


def _report_failure(sink: Sink, state: State, exc: Exception, now: datetime,
                    redact: Callable[[str], str], basis=None) -> None:
    message = redact(describe(exc))     # the sheet is shared: no secret may reach it
    _note(sink, message, now, redact, basis)
    state.record_failure(now, now, message)
