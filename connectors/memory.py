"""In-memory source and sink: the fakes the engine's tests run against."""
from __future__ import annotations

from datetime import datetime

from sync.core.errors import AlignSyncError
from sync.core.model import SheetInputs, Ticket
from sync.core.present.report import Report


class MemorySource:
    def __init__(self, name: str, tickets: list[Ticket], error: AlignSyncError | None = None):
        self.name = name
        self.tickets = tickets
        self.error = error
        self.calls = 0

    writeback = None
    notices: tuple[str, ...] = ()
    archived = 0

    def check(self) -> str:
        return f"memory source {self.name}: {len(self.tickets)} tickets"

    def draft_fields(self) -> tuple[dict, list[str]]:
        return {}, []

    def add_label(self, key: str, label: str) -> None:
        raise AlignSyncError(f"memory source {self.name}: ticket {key}: labels cannot be written here")

    def fetch(self, state=None, now=None) -> list[Ticket]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return list(self.tickets)


class MemorySink:
    def __init__(self, inputs: SheetInputs | None = None):
        self.inputs = inputs or SheetInputs()
        self.reports: list[Report] = []
        self.errors: list[str] = []

    location = "memory"

    def check(self) -> str:
        return "memory sink"

    def done(self) -> None:
        pass

    def read(self) -> SheetInputs:
        return self.inputs

    def write(self, report: Report) -> None:
        self.reports.append(report)
        self.inputs.history += report.history
        if report.metrics:       # as a sheet would hold them: read back as rows of the tab
            from sync.core.model import Reading
            from sync.core.inputs import parse_date
            for number, cells in report.metrics.changed.items():
                self.inputs.readings = [Reading(parse_date(cells[0]), cells[1], cells[2], cells[3], r.row)
                                        if r.row == number else r for r in self.inputs.readings]
            start = max((r.row or 1 for r in self.inputs.readings), default=1) + 1
            self.inputs.readings += [Reading(parse_date(c[0]), c[1], c[2], c[3], start + i)
                                     for i, c in enumerate(report.metrics.added)]
        if report.history:
            self.inputs.last_history = report.when

    def write_error(self, message: str, when: datetime) -> None:
        self.errors.append(message)
