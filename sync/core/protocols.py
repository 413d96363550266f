"""The two seams of the engine: where tickets come from and where tables go.

A source yields `Ticket`s; a sink reads back the team's own data (Metrics,
people's columns, the History tail) and writes a finished `Report` in one go.
Both are Protocols: connectors share no behaviour, only a shape.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol, Sequence

from sync.core.model import SheetInputs, Ticket

if TYPE_CHECKING:
    from sync.core.present.report import Report


class Store(Protocol):
    """What a source may keep between syncs (the worker's state file):
    values read now, changes staged until the sink wrote."""

    def get(self, source: str, key: str) -> str | None: ...

    def get_json(self, source: str, key: str) -> Any: ...

    def stage(self, source: str, key: str, value: Any) -> None: ...

    def cached(self, source: str, key: str, now: datetime, ttl: timedelta,
               load: Callable[[], Any], accept: Callable[[Any], bool] = ...) -> Any: ...


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
    """Where the tables go.  `read` gives what the next `write` builds on."""
    location: str                  # the sheet's URL or the workbook's path, for people

    def read(self) -> SheetInputs:
        """The team's data the next write must keep or build on."""

    def write(self, report: "Report") -> None:
        """Replace the owned tabs with the report, all or nothing."""

    def write_error(self, message: str, when: datetime) -> None:
        """Set Summary's `Last error` only; leave every data tab as it is."""

    def check(self) -> str:
        """`align-sync check`: one line saying what works, or raise."""

    def done(self) -> None:
        """After every sync: drop what the sync read (a process serving many
        workspaces keeps no tickets between syncs)."""
