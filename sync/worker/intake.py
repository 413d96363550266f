"""What a sync makes of its sources and its sheet before it writes anything:
every source fetched, the sheet's inputs read, the `metrics:` sources fed
into the readings, the sheet's `Set lever` choices merged, all assessed.

`take_in` is that one pipeline.  A sync (`engine.run_once`, a dry run too)
and the commands that show what a sync would find (`review`, `explain`,
`suggest`) all go through it, so they show the same figures.
"""
from __future__ import annotations

import contextvars
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Sequence

import structlog

from sync.core.assess import choices as sheet_choices
from sync.core.assess import metric_feed
from sync.core.assess.assessment import Assessment, assess
from sync.core.assess.rules import RuleSet
from sync.core.errors import AlignSyncError, Interrupted, describe
from sync.core.model import SheetInputs, Ticket
from sync.core.protocols import MetricSource, Notifier, Sink, Source
from sync.core.redact import Redactor
from sync.worker import done_stamps
from sync.worker.state import State

if TYPE_CHECKING:
    from sync.core.config import Config     # built from the registry on first use: not at import

log = structlog.get_logger("align_sync.engine")     # a sync's lines come from one logger


@dataclass(frozen=True)
class Setup:
    """What a sync runs on, as its workspace built it
    (`sync.worker.workspace.Workspace.setup`; tests build one over fakes)."""
    config: Config
    sources: Sequence[Source]
    sink: Sink
    name: str = ""                  # the workspace's: it seeds Flow's forecast
    rules: RuleSet | None = None    # compiled from `config` when None
    # The process's Redactor: the sheet is shared, so `Last error` goes through it.
    redact: Callable[[str], str] = field(default_factory=Redactor)
    notifiers: Sequence[Notifier] = ()        # the review's targets (built from the registry)
    telemetry: Any = None           # counts label write-backs (`source.writeback`)
    metric_sources: Sequence[MetricSource] = ()   # `metrics:`; a failing one is a warning, not a failure


@dataclass
class Intake:
    """All a sync read, and the assessment made of it."""
    tickets: list[Ticket]
    counts: dict[str, int]                 # tickets by source
    inputs: SheetInputs | None             # the sheet as read (dropped once written)
    fed: metric_feed.Merged                # the readings with the metric sources' rows
    chosen: sheet_choices.Choices
    assessment: Assessment


def take_in(setup: Setup, state: State, now: datetime,
            on_read: Callable[[SheetInputs], None] | None = None) -> Intake:
    """`now`: the scoring time (`Config.scoring_time`).  `on_read` is handed the
    sheet's inputs as soon as they are read: a sync that fails later still
    records its error on that read's basis."""
    config = setup.config
    with read_ahead(setup.sink.read) as reading:
        tickets, counts = fetch_all(setup.sources, state, now)
    inputs = reading()
    if on_read is not None:
        on_read(inputs)
    log.info("sink.read", readings=len(inputs.readings), user_columns=len(inputs.extra_headers),
             history_rows=len(inputs.history), unreadable_metrics=inputs.unreadable_metrics)
    tickets = done_stamps.stamp(tickets, state, now)
    fed = metric_feed.merge(inputs.readings, read_metrics(setup.metric_sources, config, setup.redact),
                            config, now)
    chosen = choices_of(inputs, state)
    assessment = assess(tickets, config, fed.readings, now, setup.rules,
                        inputs.metric_problems + fed.problems, chosen, source_notices(setup.sources),
                        workspace=setup.name, source_failures=fed.failures)
    log.info("assessed", tickets=len(tickets), in_scope=len(assessment.in_scope),
             active=len(assessment.active), unmapped=len(assessment.unmapped_active()),
             warnings=len(assessment.warnings))
    return Intake(tickets, counts, inputs, fed, chosen, assessment)


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


def read_metrics(metric_sources: Sequence[MetricSource], config: Config,
                 redact: Callable[[str], str]) -> list[metric_feed.Fetched]:
    """Every metric source's rows, or why it could not be read: a failing
    source is named in a warning and the sync goes on without it."""
    since = metric_feed.since(config) if metric_sources else None
    out = []
    for source in metric_sources:
        started = time.monotonic()
        try:
            rows = list(source.read(since))
        except Interrupted:
            raise                       # the worker is stopping: the sync ends here, nothing written
        except AlignSyncError as exc:
            reason = describe(exc)
        except Exception as exc:     # a database driver's own error type: still only this source
            reason = f"unexpected {type(exc).__name__}"
        else:
            out.append(metric_feed.Fetched(source.name, rows))
            log.info("metrics.read", source=source.name, rows=len(rows),
                     seconds=round(time.monotonic() - started, 3))
            continue
        # The source's own name leads the warning (metric_feed): not twice.
        reason = redact(reason).removeprefix(f"metrics {source.name}: ")
        log.warning("metrics.failed", source=source.name, error=reason)
        out.append(metric_feed.Fetched(source.name, error=reason))
    return out


def source_notices(sources: Sequence[Source]) -> list[str]:
    """What the sources' last fetch found incomplete (a saved first page of a
    longer search), one line each, named by source."""
    return [f"source {s.name}: {line}" for s in sources for line in s.notices]


def choices_of(inputs: SheetInputs, state: State) -> sheet_choices.Choices:
    """The sheet's `Set lever` cells over the choices kept in state."""
    chosen = sheet_choices.merge(inputs.choices, state.kept_choices())
    if chosen.chosen or chosen.refused:
        log.info("sheet.choices", chosen=len(chosen.chosen), restored=chosen.restored,
                 refused=len(chosen.refused))
    return chosen
