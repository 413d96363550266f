"""A Google Sheets metric source: a range of another spreadsheet (Date,
Metric, Value in its first three columns), read with the sink's own
service account, so the team shares that spreadsheet with the same address
it already shared the sink with.  Needs a `google_sheets` sink.
"""
from __future__ import annotations

from datetime import date
from typing import Literal

from sync.core.config import Strict
from sync.core.errors import AlignSyncError, ConfigError
from sync.core.values import serial_date

from connectors import http as remote
from connectors.sheets.sink import SheetsSink, spreadsheet_id


class SheetsMetricsConfig(Strict):
    type: Literal["google_sheets"]
    name: str
    spreadsheet: str                  # its id or URL
    range: str = "A:C"                # e.g. "KPIs!A:C": Date, Metric, Value


class SheetsMetrics:
    def __init__(self, config: SheetsMetricsConfig, sink, runtime):
        if not isinstance(sink, SheetsSink):
            raise ConfigError(f"metrics {config.name}: type google_sheets reads with the sink's "
                              "service account, and the sink is not google_sheets",
                              hint="export that range as CSV and use type: csv instead")
        self.config = config
        self.name = config.name
        self.sink = sink
        self.runtime = runtime
        self.id = spreadsheet_id(config.spreadsheet)

    def read(self, since: date) -> list[tuple]:
        http = self.sink.http()
        body = remote.call("sheets", lambda: http.values_batch_get(self.id, [self.config.range], params={
            "valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"}),
            runtime=self.runtime, translate=self._translate)
        ranges = body.get("valueRanges") or [{}]
        rows = ranges[0].get("values") or []
        out = []
        for i, row in enumerate(rows):
            row = list(row) + [None] * 3
            if i == 0 and isinstance(row[0], str) and row[0].strip().lower() == "date":
                continue                                     # a header row
            if all(v in (None, "") for v in row[:3]):
                continue
            # A serial past year 9999 stays a number: the reader names that row.
            out.append((serial_date(row[0]), row[1], row[2]))
        return out

    def _translate(self, exc: Exception) -> AlignSyncError:
        # lazy: gspread (0.15 s to import) loads only when a Google Sheets sink opens the sheet
        from gspread.exceptions import APIError
        what = f"read of {self.id} range {self.config.range!r}"
        if not isinstance(exc, APIError):
            return remote.network_error("sheets", what, exc, redact=self.runtime.redactor)
        # variant "source": not the sink's advice (Editor, sink.spreadsheet) for another sheet's read.
        return remote.status_error("sheets", exc.response.status_code, what=what, variant="source",
                                   text=str((exc.error or {}).get("message", "")),
                                   retry_after=remote.retry_after(exc.response.headers.get("Retry-After")),
                                   redact=self.runtime.redactor, id=self.id,
                                   email=self._who())

    def _who(self) -> str:
        """Whom to share the spreadsheet with: the sink's identity, as `check` names it."""
        who = getattr(self.sink, "identity", None)
        return who.share_with() if who is not None else "the sink's service account"

    def check(self) -> str:
        return f"{len(self.read(date.today()))} rows"


def register(registry) -> None:
    registry.add("metric", "google_sheets", SheetsMetricsConfig,
                 lambda config, runtime, sink: SheetsMetrics(config, sink, runtime), secrets=())
