"""One sync: fetch every source, read the sheet's inputs, assess, guard, write.

`run_once` is the unit of work the CLI and the daemon call.  Nothing is
written until every source was fetched and everything scored; a failure at
any step leaves the data tabs as they were and, where the sink is reachable,
puts the reason in Summary's `Last error`.  State is committed last.
"""
from __future__ import annotations

import contextvars
import gc
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Sequence

import structlog

from sync.core.assess import choices as sheet_choices
from sync.core.assess import metric_feed
from sync.core.assess.assessment import Assessment, assess
from sync.core.assess.rules import RuleSet
from sync.core.config import Config
from sync.core.errors import AlignSyncError, GuardError, describe
from sync.core.model import Ticket
from sync.core.present import report as report_mod
from sync.core.present import review
from sync.core.protocols import Sink, Source
from sync.core.redact import Redactor
from sync.worker import done_stamps, writeback
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


def fetch_all(sources: Sequence[Source], state: State,
              now: datetime) -> tuple[list[Ticket], dict[str, int]]:
    """Every source's tickets; one failing source fails the whole fetch, named."""
    tickets: list[Ticket] = []
    counts: dict[str, int] = {}
    for source in sources:
        started = time.monotonic()
        try:
            got = list(source.fetch(state, now))
        except AlignSyncError as exc:
            exc.source = exc.source or source.name
            log.error("source.failed", source=source.name, error=describe(exc))
            raise
        counts[source.name] = len(got)
        tickets.extend(got)
        log.info("source.fetched", source=source.name, tickets=len(got),
                 seconds=round(time.monotonic() - started, 3))
    return tickets, counts


def read_metrics(metric_sources: Sequence, config: Config,
                 redact: Callable[[str], str] | None = None) -> list[metric_feed.Fetched]:
    """Every metric source's rows, or why it could not be read: a failing
    source is named in a warning and the sync goes on without it."""
    since = metric_feed.since(config) if metric_sources else None
    out = []
    for source in metric_sources:
        started = time.monotonic()
        try:
            rows = list(source.read(since))
        except AlignSyncError as exc:
            reason = describe(exc)
        except Exception as exc:     # a database driver's own error type: still only this source
            reason = f"unexpected {type(exc).__name__}"
        else:
            out.append(metric_feed.Fetched(source.name, rows))
            log.info("metrics.read", source=source.name, rows=len(rows),
                     seconds=round(time.monotonic() - started, 3))
            continue
        reason = (redact or Redactor())(reason)
        log.warning("metrics.failed", source=source.name, error=reason)
        out.append(metric_feed.Fetched(source.name, error=reason))
    return out


def source_notices(sources: Sequence[Source]) -> list[str]:
    """What the sources' last fetch found incomplete (a saved first page of a
    longer search), one line each, named by source."""
    return [f"source {s.name}: {line}" for s in sources for line in s.notices]


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


@contextmanager
def read_ahead(read: Callable):
    """The sink's read (two round trips to a sheet) on a thread while the
    sources are fetched; yields a call that hands it over once.  Leaving the
    block waits for it: a failed fetch is raised as before and what was read
    is dropped with it; a failed read is raised by the call, unchanged."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sink-read")
    ahead = [pool.submit(contextvars.copy_context().run, read)]     # the log's run id too
    try:
        yield lambda: ahead.pop().result()
    except BaseException:
        ahead.clear()
        raise
    finally:
        pool.shutdown(wait=True)


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


def run_once(config: Config, sources: Sequence[Source], sink: Sink, state: State,
             now: datetime, *, dry_run: bool = False, force: bool = False,
             next_sync: datetime | None = None, rules: RuleSet | None = None,
             redact: Callable[[str], str] | None = None,
             notifiers: Sequence = (), telemetry=None, workspace: str = "",
             metric_sources: Sequence = ()) -> RunResult:
    """`redact`: the process's Redactor; the sheet is shared, so `Last error`
    goes through it (a bare engine, in tests, uses an empty one).
    `notifiers`: the review's targets (built by the workspace from the registry).
    `telemetry`: counts label write-backs (`source.writeback`).
    `workspace`: its name seeds Flow's forecast.
    `metric_sources`: `metrics:` (connectors/metrics); a failing one is a warning, not a failure."""
    started = time.monotonic()
    wall = now                          # when a failure happened is always the real clock
    now = config.scoring_time(now)      # a pinned `as_of` (a saved export's day) wins
    inputs = None
    try:
        with paused_gc():
            with read_ahead(sink.read) as reading:
                tickets, counts = fetch_all(sources, state, now)
            inputs = reading()
            log.info("sink.read", readings=len(inputs.readings), user_columns=len(inputs.extra_headers),
                     history_rows=len(inputs.history), unreadable_metrics=inputs.unreadable_metrics)
            tickets = done_stamps.stamp(tickets, state, now)
            fed = metric_feed.merge(inputs.readings, read_metrics(metric_sources, config, redact),
                                    config, now)
            chosen = choices_of(inputs, state)
            assessment = assess(tickets, config, fed.readings, now, rules,
                                inputs.metric_problems + fed.problems, chosen, source_notices(sources),
                                workspace=workspace, source_failures=fed.failures)
            log.info("assessed", tickets=len(tickets), in_scope=len(assessment.in_scope),
                     active=len(assessment.active), unmapped=len(assessment.unmapped_active()),
                     warnings=len(assessment.warnings))
            built, due = _tables(assessment, inputs, fed, config, sources, state, now, next_sync,
                                 dry_run)
            guard(len(tickets), state.last_count(), force, dry_run)
            writes = writeback.plan(assessment, config, sources, state)
            if dry_run:
                for w in writes:
                    log.info("writeback.planned", source=w.source, ticket=w.key, label=w.label)
            else:
                sink.write(built, inputs.basis)
                # The sheet as read (in a big one, 100k rows of Tickets) is not
                # kept past its write: nothing of it serves the next sync.
                inputs = None
                log.info("sink.written", tabs=len(built.tables) + 1, history_rows=len(built.history),
                         **({"review": due.id} if due else {}))    # no `review=None` to puzzle over
                state.stage_choices(chosen.chosen)
                state.commit(now, now, len(tickets))
    except Exception as exc:     # a bug too: the sheet and the run history must say so
        if not dry_run:
            # With what this sync read, unless it wrote since (a failed write
            # changed nothing; a successful one left `inputs` None).
            _report_failure(sink, state, exc, wall, redact or Redactor(),
                            inputs.basis if inputs is not None else None)
        inputs = None        # nor is it kept by the traceback the caller gets
        raise
    if not dry_run:
        _after_write(assessment, writes, sources, sink, state, notifiers, telemetry, now,
                     redact or Redactor())
    return RunResult(assessment, built, len(tickets), time.monotonic() - started, not dry_run, counts,
                     writes)


def _tables(assessment, inputs, fed, config: Config, sources: Sequence[Source], state: State,
            now: datetime, next_sync: datetime | None, dry_run: bool):
    """The report to write, and the review it carries (if one falls due)."""
    names = [s.name for s in sources]
    if dry_run:
        # Only Summary is shown; the other tabs (100k Tickets rows) would be thrown away.
        return report_mod.summary_only(assessment, names, next_sync), None
    due = review.plan(state, assessment, config, now, inputs.history)
    built = report_mod.build(assessment, inputs, sources=names,
                             history_every=config.review.history_every,
                             owners_tab=config.sink.owners_tab, next_sync=next_sync,
                             review_rows=review.merge_blocks(due.table_rows() if due else [],
                                                             inputs.review),
                             metric_rows=fed.rows or None)
    return built, due


def _after_write(assessment, writes, sources: Sequence[Source], sink: Sink, state: State,
                 notifiers: Sequence, telemetry, now: datetime, redact) -> None:
    """Only now, with the sheet written: label write-backs and the review's
    delivery.  A refusal never blocks the sheet; Summary's Last error says
    what did not happen (the sync itself succeeded)."""
    notes = []
    writeback.settle(assessment, sources, state)
    refused = writeback.execute(writes, sources, state, telemetry)
    if refused:
        notes.append(f"label write-back refused for {'; '.join(refused)}; retried at the next sync")
    failed = deliver(state, notifiers, sink) if notifiers else []
    if failed:
        notes.append(f"review not delivered to {'; '.join(failed)}")
    if notes:
        _note(sink, "; ".join(notes), now, redact)


def choices_of(inputs, state: State) -> sheet_choices.Choices:
    """The sheet's `Set lever` cells over the choices kept in state."""
    chosen = sheet_choices.merge(inputs.choices, state.kept_choices())
    if chosen.chosen or chosen.refused:
        log.info("sheet.choices", chosen=len(chosen.chosen), restored=chosen.restored,
                 refused=len(chosen.refused))
    return chosen


def deliver(state: State, notifiers: Sequence, sink: Sink) -> list[str]:
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
