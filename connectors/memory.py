"""In-memory source and sink: the fakes the engine's tests run against."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sync.core.errors import AlignSyncError
from sync.core.inputs import parse_date
from sync.core.model import Reading, SheetInputs, Ticket
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


class MemorySheet:
    """What a memory sink writes to, as a workbook on disk is an xlsx sink's:
    the team's data (read back as `SheetInputs`), and every report and
    `Last error` written, for tests to look at."""

    def __init__(self, inputs: SheetInputs | None = None):
        self.inputs = inputs or SheetInputs()
        self.reports: list[Report] = []
        self.errors: list[str] = []


class MemorySink:
    """Keeps nothing between calls, like every sink: what it holds is the
    sheet it writes to (`sheet`), never what a read saw."""

    def __init__(self, inputs: SheetInputs | None = None):
        self.sheet = MemorySheet(inputs)

    location = "memory"

    @property
    def inputs(self) -> SheetInputs:
        return self.sheet.inputs

    @property
    def reports(self) -> list[Report]:
        return self.sheet.reports

    @property
    def errors(self) -> list[str]:
        return self.sheet.errors

    def check(self) -> str:
        return "memory sink"

    def read(self) -> SheetInputs:
        # A copy, as a real sink's read is: the next write changes the sheet,
        # never what this read returned.
        held = self.sheet.inputs
        return replace(held, readings=list(held.readings), extra_headers=list(held.extra_headers),
                       extra_cells=dict(held.extra_cells), history=list(held.history),
                       review=list(held.review), metric_problems=list(held.metric_problems),
                       choices=None if held.choices is None else dict(held.choices))

    def write(self, report: Report, basis) -> None:
        """`basis`: none needed, the sheet is in memory."""
        sheet = self.sheet
        sheet.reports.append(report)
        sheet.inputs.history += report.history
        if report.metrics:       # as a sheet would hold them: read back as rows of the tab
            for number, cells in report.metrics.changed.items():
                sheet.inputs.readings = [Reading(parse_date(cells[0]), cells[1], cells[2], cells[3], r.row)
                                         if r.row == number else r for r in sheet.inputs.readings]
            start = max((r.row or 1 for r in sheet.inputs.readings), default=1) + 1
            sheet.inputs.readings += [Reading(parse_date(c[0]), c[1], c[2], c[3], start + i)
                                      for i, c in enumerate(report.metrics.added)]
        if report.history:
            sheet.inputs.last_history = report.when

    def write_error(self, message: str, when: datetime, basis=None) -> None:
        self.sheet.errors.append(message)
