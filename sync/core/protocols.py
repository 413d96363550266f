"""The two seams of the engine: where tickets come from and where tables go.

A source yields `Ticket`s; a sink reads back the team's own data (Metrics,
people's columns, the History tail) and writes a finished `Report` in one go.
Both are Protocols: connectors share no behaviour, only a shape.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Iterable, Protocol

from sync.core.model import SheetInputs, Ticket

if TYPE_CHECKING:
    from sync.core.report import Report
    from sync.worker.state import State


class Source(Protocol):
    name: str

    def fetch(self, state: "State", now: datetime) -> Iterable[Ticket]:
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
