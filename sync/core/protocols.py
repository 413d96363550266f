"""The two seams of the engine: where tickets come from and where tables go.

A source yields `Ticket`s; a sink reads back the team's own data (Metrics,
people's columns, the History tail) and writes a finished `Report` in one go.
Both are Protocols: connectors share no behaviour, only a shape.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol

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
    name: str

    def fetch(self, state: Store, now: datetime) -> Iterable[Ticket]:
        """Every ticket of the source's query, now. Raise an AlignSyncError on failure.

        A source may read its cursor and cache from `state` and stage new
        ones there; the engine commits them only after the sink wrote."""


class Sink(Protocol):
    def read(self) -> SheetInputs:
        """The team's data the next write must keep or build on."""

    def write(self, report: "Report") -> None:
        """Replace the owned tabs with the report, all or nothing."""

    def write_error(self, message: str, when: datetime) -> None:
        """Set Summary's `Last error` only; leave every data tab as it is."""

    # Optional: `done()`, called after every sync, drops what the sync read
    # (a long-running process serving many workspaces keeps no tickets).
    # Optional: `check() -> str`, the probe of `align-sync check`.
