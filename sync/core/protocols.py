"""The seams between the worker and its connectors, one per role.

A source yields `Ticket`s; a sink reads back the team's own data (Metrics,
people's columns, the History tail) and writes a finished `Report` in one go,
on top of what that read returned.  A metric source reads a team's numbers
from where they already live; a notifier delivers the weekly review to one
`review.notify` target; an alert channel tells one `alerts.notify` target
that syncs keep failing (or recovered).
All are Protocols: connectors share no behaviour, only a shape.  Each says
everything the engine and the worker use of it, and nothing more.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

from sync.core.model import SheetInputs, Ticket
from sync.core.present.alerts import Message
from sync.core.present.report import Report
from sync.core.present.review import Digest


class Store(Protocol):
    """What a source may keep between syncs (the worker's state file):
    values read now, changes staged until the sink wrote."""

    def get(self, source: str, key: str) -> str | None: ...

    def get_json(self, source: str, key: str) -> Any: ...

    def stage(self, source: str, key: str, value: Any) -> None: ...

    def cached(self, source: str, key: str, now: datetime, ttl: timedelta,
               load: Callable[[], Any], accept: Callable[[Any], bool] = ...) -> Any: ...

    def fresh(self, source: str, key: str, now: datetime, ttl: timedelta) -> bool:
        """Whether `cached` would answer from the store."""

    # A source that syncs incrementally keeps each ticket's raw text (Jira):
    def cached_tickets(self, source: str) -> Mapping[str, str]: ...

    def stage_tickets(self, source: str, tickets: Mapping[str, str]) -> None:
        """Replace the whole cache at the commit (a full fetch)."""

    def stage_ticket_changes(self, source: str, changed: Mapping[str, str],
                             gone: set[str]) -> None:
        """Write these, drop those at the commit (an incremental fetch)."""


class Source(Protocol):
    """A tracker or a saved export.  Everything the core and the worker use
    of a source is here; nothing else is looked up on it."""
    name: str
    writeback: str | None          # `labels`: the sheet's choices are added as tag labels
    notices: Sequence[str]         # what the last fetch could not take whole (a partial export)
    archived: int                  # cards the last fetch left out as archived (for `init`)

    def fetch(self, state: Store, now: datetime) -> Iterable[Ticket]:
        """Every ticket of the source's query, now. Raise an AlignSyncError on failure.

        A source may read its cursor and cache from `state` and stage new
        ones there; the engine commits them only after the sink wrote."""

    def check(self) -> str:
        """`align-sync check`: one line saying what works, or raise."""

    def draft_fields(self) -> tuple[dict, list[str]]:
        """For `init`, before fetching: keys to add to the drafted `source:`
        block (the estimate field found, say) and a line of reason each."""

    def add_label(self, key: str, label: str) -> None:
        """Add one label to a ticket this sync fetched (write-back); raise an
        AlignSyncError naming the ticket when the tracker refuses."""


class Sink(Protocol):
    """Where the tables go.  A sink keeps nothing between calls (a connection
    it opens on first use is all it may hold): what one `read` saw and the
    next `write` builds on travels in `SheetInputs.basis`, passed back by the
    caller and dropped once written, so no sync can reuse another's read."""
    location: str                  # the sheet's URL or the workbook's path, for people

    def read(self) -> SheetInputs:
        """The team's data the next write must keep or build on, and in its
        `basis` (opaque to the core) what that write needs of this read."""

    def write(self, report: Report, basis: Any) -> None:
        """Replace the owned tabs with the report, all or nothing.  `basis`:
        the `basis` of the `read` this report was built from (None: the sink
        reads what it needs itself)."""

    def write_error(self, message: str, when: datetime, basis: Any = None) -> None:
        """Set Summary's `Last error` only; leave every data tab as it is.
        Works without a read; `basis`, when this sync read one and wrote
        nothing since, spares a sink reading the sheet's layout again."""

    def check(self) -> str:
        """`align-sync check`: one line saying what works, or raise."""


class MetricSource(Protocol):
    """One entry of `metrics:` (the engine's `read_metrics`).  It only reads,
    within a size and time bound; a failure is a warning naming it, and the
    sync goes on without its rows."""
    name: str                      # the config's name: its rows' Note is `from <name>`

    def read(self, since: date) -> Iterable[tuple[Any, Any, Any]]:
        """(date, metric, value) as read, from `since` on (a source may return
        earlier rows too); `sync.core.assess.metric_feed` checks each.  Raise
        an AlignSyncError saying why it cannot read, never with a secret."""


class Notifier(Protocol):
    """One `review.notify` target (the engine's `deliver`).  The state keeps
    which review went to which `id`, so a review reaches each target once."""
    id: str                        # stable across runs, without the target's secret
    label: str                     # how messages name it, without its secret

    def send(self, digest: Digest, sheet: str) -> None:
        """Deliver the review now, linking `sheet` (the sink's location).
        Raise an AlignSyncError whose message starts with `label` when it
        cannot; never with the secret (webhook URL, password) in it."""


class AlertChannel(Protocol):
    """One `alerts.notify` target (sync.worker.alerting): told that syncs
    keep failing, reminded, and told when they recover."""
    id: str                        # what an incident records as told, without a secret
    label: str                     # how messages name it, without its secret

    def send(self, message: Message) -> None:
        """Deliver one alert now (its words: sync.core.present.alerts.render).
        Raise an AlignSyncError whose message starts with `label` when it
        cannot; never with the secret in it."""
