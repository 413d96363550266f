"""Google Sheets sink on gspread + a service account: three requests a sync.

1. metadata (tabs, grid sizes, our charts), 2. one `values:batchGet`
(Metrics, History, Tickets with people's columns and Warnings whole, the
other owned header rows) with formulas as written, so people's formulas go
back as formulas (a Metrics value that is itself a formula costs one more
read, for its result), 3. one `spreadsheets:batchUpdate` with everything,
Tickets and Warnings by changed rows (see `layout`, `diff`).  A failed
sync costs at most one more small batchUpdate: Summary's `Last error`.
Requests go through `client.Connection`: retries are ours, per request.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import structlog
from pydantic import model_validator

from connectors import retry
from connectors.sheets.auth import MODES, GoogleAuth, Identity
from connectors.sheets.client import Connection
from connectors.sheets.diff import header_edited
from connectors.sheets.layout import CELL_LIMIT, SheetInfo, build, cell, parse_metadata, staged_bytes
from connectors.sheets.staging import PUBLISH_MAX, STAGING, Plan, encode
from connectors.sheets.staging import send as stage
from sync.core.config import FilePath
from sync.core.strict import SinkBlock
from sync.core.errors import RemoteError
from sync.core.inputs import computed, gather
from sync.core.model import SheetInputs
from sync.core.present.report import HEADERS, OWNED, SUMMARY_FIELDS, Report, column_letter, iso
from sync.core.values import serial_date
from sync.worker.runtime import Runtime

log = structlog.get_logger("align_sync.sheets")
WRITES_PER_MINUTE = 50     # of Google's 60 per user: room for the Last error note and a retry
_ID = re.compile(r"/spreadsheets/d/([a-zA-Z0-9_-]+)")
_META_FIELDS = ("properties(title),sheets(properties(sheetId,title,index,hidden,gridProperties),"
                "charts(chartId,spec(title)))")
DIFFED = ("Tickets", "Warnings")       # the big tabs: read back whole, written by changed rows


def spreadsheet_id(value: str) -> str:
    found = _ID.search(value)
    return found[1] if found else value.strip()


@dataclass(frozen=True)
class Basis:
    """What a read saw that its write builds on: the tabs' metadata (ids,
    grid sizes, charts) and the tabs as read (DIFFED ones, History, Owners'
    header), so the write sends only the rows that changed."""
    sheets: dict[str, SheetInfo]
    previous: dict[str, list[list]]


class SheetsSinkConfig(SinkBlock):
    type: Literal["google_sheets"]
    spreadsheet: str
    credentials: FilePath | None = None      # a service-account key: the same as auth.key_file
    auth: GoogleAuth | None = None

    @model_validator(mode="after")
    def _one_identity(self) -> "SheetsSinkConfig":
        if (self.credentials is None) == (self.auth is None):
            raise ValueError("give one of `auth:` (key_file, adc, adc + impersonate, or "
                             "authorized_user) or `credentials:` (a service-account key file)")
        return self


class SheetsSink:
    def __init__(self, config: SheetsSinkConfig, runtime: Runtime | None = None):
        self.config = config
        self.runtime = runtime or Runtime()
        self.id = spreadsheet_id(config.spreadsheet)
        self.url = f"https://docs.google.com/spreadsheets/d/{self.id}"
        self.location = self.url
        self.connection = Connection(config, self.runtime, self.id)   # made on first use

    # -- plumbing ---------------------------------------------------------

    def http(self):
        """gspread's HTTP client, authorised (also the `metrics:` google_sheets source's)."""
        return self.connection.open()

    @property
    def identity(self) -> Identity | None:
        """Whom the sink signs in as: known from its first request."""
        return self.connection.identity

    def request(self, what: str, fn, attempts: int | None = None):
        return self.connection.request(what, fn, attempts)

    def _metadata(self) -> tuple[dict[str, SheetInfo], str]:
        """The tabs by name, and the spreadsheet's title."""
        http = self.http()
        meta = self.request("metadata read", lambda: http.fetch_sheet_metadata(
            self.id, params={"includeGridData": "false", "fields": _META_FIELDS}))
        return parse_metadata(meta), (meta.get("properties") or {}).get("title", "")

    # -- the sink protocol ------------------------------------------------

    def read(self) -> SheetInputs:
        sheets, _title = self._metadata()
        # Metrics and History whole; Tickets (with people's columns) and
        # Warnings whole too: people's cells go back on their ticket's row,
        # and only rows that changed are written.  Other owned tabs: the
        # header row.  Each range is clipped to its grid: one past a grid's
        # edge (someone deleted a column) is a 400 for the whole read.
        widths = {name: len(HEADERS[name]) for name in ("Metrics", "History", "Review")}
        widths.update({name: sheets[name].cols for name in DIFFED if name in sheets})
        ranges = {name: f"'{name}'!A:{column_letter(min(width, sheets[name].cols))}"
                  for name, width in widths.items() if name in sheets and sheets[name].cols}
        heads = [name for name in OWNED if name in sheets and name in HEADERS and name not in ranges
                 and sheets[name].cols]
        ranges.update({name: f"'{name}'!A1:{column_letter(min(len(HEADERS[name]), sheets[name].cols))}1"
                       for name in heads})
        # FORMULA: people's formulas come back as formulas, to be written back.
        got = self._values(list(ranges.values()), "FORMULA")
        tabs = {name: got.get(a1, []) for name, a1 in ranges.items()}
        metrics = tabs.get("Metrics", [])
        if computed(metrics):
            # A computed metric: its result needs one more read (only then).
            metrics = self._values([ranges["Metrics"]], "UNFORMATTED_VALUE")[ranges["Metrics"]]
        for name in heads + [n for n in (*DIFFED, "History") if n in tabs]:
            row = (tabs[name] or [[]])[0]
            if header_edited(row, HEADERS[name]):
                log.warning("sheet.header_restored", tab=name, found=row[:len(HEADERS[name])])
        # Owners' header too: a tab of that name is removed only if it is ours.
        previous = {name: tabs[name] for name in (*DIFFED, "History", "Owners") if name in tabs}
        inputs = gather([[serial_date(r[0]) if r else None] + list(r[1:]) for r in metrics[1:]],
                        tabs.get("Tickets", []), tabs.get("History", [])[1:], tabs.get("Review", [])[1:])
        inputs.basis = Basis(sheets, previous)
        return inputs

    def _values(self, ranges: list[str], render: str) -> dict[str, list]:
        """One `values:batchGet`; dates as serial numbers, rows by range."""
        if not ranges:
            return {}
        http = self.http()
        body = self.request("read", lambda: http.values_batch_get(self.id, ranges, params={
            "valueRenderOption": render, "dateTimeRenderOption": "SERIAL_NUMBER"}))
        return {name: vr.get("values") or []
                for name, vr in zip(ranges, body.get("valueRanges") or [])}

    def write(self, report: Report, basis: Basis | None) -> None:
        """`basis`: the `read` this report was built from, whose tabs the
        write diffs against (None: the metadata is read here, every row sent)."""
        # lazy: gspread (about 0.15 s to import) loads only when a Google Sheets sink opens the sheet; a process writing only to xlsx never needs it
        from gspread.urls import SPREADSHEET_BATCH_UPDATE_URL, SPREADSHEET_VALUES_BATCH_UPDATE_URL
        before = copy.deepcopy(basis.sheets if basis is not None else self._metadata()[0])
        previous = basis.previous if basis is not None else None
        plan = None
        body = data = None
        if staged_bytes(report, previous) <= PUBLISH_MAX:
            sheets = copy.deepcopy(before)
            body, cells = build(report, sheets, previous)
            data = encode(body)
        if data is None or len(data) > PUBLISH_MAX:
            # Too big for one request: stage the bulk, publish a small batch.
            plan = Plan(*_staging_id(before))
            sheets = copy.deepcopy(before)
            body, cells = build(report, sheets, previous, plan)
            data = encode(body)
            if len(data) > PUBLISH_MAX:
                raise RemoteError(f"Google Sheets write: the publish is {len(data):,} bytes even with "
                                  f"staging (limit {PUBLISH_MAX:,}); nothing was written",
                                  hint="report this: a tab other than Tickets and Warnings is too large")
        self._check_cells(before, sheets, plan)
        if cells > 0.8 * CELL_LIMIT:
            log.warning("sheet.cells_high", cells=cells, limit=CELL_LIMIT)
        sent = [len(data)]
        step = self.runtime.progress.step("sink google_sheets: writing")
        if plan is not None:
            for size in stage(plan, len(before),
                              lambda data: self._post("staging", data, SPREADSHEET_BATCH_UPDATE_URL),
                              lambda data: self._post("staging", data, SPREADSHEET_VALUES_BATCH_UPDATE_URL)):
                sent.append(size)
                step.update(requests=len(sent) - 1)
        self._post("write", data, SPREADSHEET_BATCH_UPDATE_URL)
        step.update(requests=len(sent))
        step.done()
        rows = sum(len(r["updateCells"]["rows"]) for r in body["requests"] if "updateCells" in r) + \
            (sum(b.end - b.start for b in plan.blocks) if plan else 0)
        log.info("sheet.written", requests=len(body["requests"]), bytes=sum(sent), largest=max(sent),
                 staged_rows=plan.rows if plan else 0, writes=len(sent), rows=rows, cells=cells)

    def _check_cells(self, before: dict[str, SheetInfo], after: dict[str, SheetInfo],
                     plan: Plan | None) -> None:
        """Google's limit: over 10M cells at any moment of the write fails before any write.
        A tab holds the larger of its old and new grid until the publish ends."""
        sizes = {name: max(info.rows * info.cols,
                           before[name].rows * before[name].cols if name in before else 0)
                 for name, info in after.items()}
        if plan is not None:
            sizes[STAGING] = max(sizes.get(STAGING, 0), plan.cells)
        peak = sum(sizes.values())
        if peak <= CELL_LIMIT:
            return
        big = sorted(((n, c) for n, c in sizes.items() if c), key=lambda x: -x[1])[:5]
        tabs = ", ".join(f"{n} {c:,}" for n, c in big)
        raise RemoteError(f"Google Sheets write: the spreadsheet would hold {peak:,} cells, over "
                          f"Google's limit of {CELL_LIMIT:,} (empty cells count; {tabs}); nothing "
                          "was written",
                          hint="set sink.owners_tab: false, narrow the JQL or boards, or use the "
                               "xlsx sink")

    def _post(self, what: str, data: bytes, url: str) -> int:
        """One write (a batchUpdate or a values.batchUpdate), paced to stay
        under Google's 60 writes a minute per user."""
        self._pace()
        http = self.http()
        self.request(what, lambda: http.request(
            "post", url % self.id, data=data,
            headers={"Content-Type": "application/json; charset=utf-8"}))
        return len(data)

    def _pace(self) -> None:
        """Google counts writes per user (the service account), so every
        workspace writing as the same account shares one window."""
        self.http()                              # the account's email is known from here
        account = self.identity.share_with()
        window = self.runtime.limiters.get("sheets-writes", account, limit=WRITES_PER_MINUTE,
                                           window=60.0)
        waited = window.wait(retry.sleep, self.runtime.stop)
        if waited:
            log.info("sheet.paced", seconds=round(waited, 1), account=account)

    def write_error(self, message: str, when: datetime, basis: Basis | None = None) -> None:
        """`basis`: this sync's read, when nothing was written since (Summary's
        id from it spares a metadata read); None: the metadata is read here."""
        sheets = basis.sheets if basis is not None else self._metadata()[0]
        summary = sheets.get("Summary")
        if summary is None:
            return
        row = SUMMARY_FIELDS.index("Last error") + 1
        body = {"requests": [{"updateCells": {
            "range": {"sheetId": summary.sheet_id, "startRowIndex": row, "endRowIndex": row + 1,
                      "startColumnIndex": 1, "endColumnIndex": 2},
            "rows": [{"values": [cell(f"{iso(when)}: {message}")]}], "fields": "userEnteredValue"}}]}
        http = self.http()
        # Best effort, after a sync that already failed: one retry, not five.
        self.request("error note", lambda: http.batch_update(self.id, body), attempts=2)

    def check(self) -> str:
        sheets, title = self._metadata()
        # A write that changes nothing proves Editor access: set the title to itself.
        body = {"requests": [{"updateSpreadsheetProperties": {
            "properties": {"title": title}, "fields": "title"}}]}
        http = self.http()
        self.request("write check", lambda: http.batch_update(self.id, body))
        return (f"spreadsheet {title!r} opens ({len(sheets)} tabs) and {self.identity.share_with()} "
                f"({MODES[self.identity.mode]}) can write to it; the sheet stays shared with that "
                "identity as Editor")


def _staging_id(sheets: dict[str, SheetInfo]) -> tuple[int, bool]:
    """The staging tab's id, and whether it exists (a killed sync may leave it)."""
    if STAGING in sheets:
        return sheets[STAGING].sheet_id, True
    taken = {s.sheet_id for s in sheets.values()}
    sheet_id = 900_000
    while sheet_id in taken:
        sheet_id += 1
    return sheet_id, False


def register(registry) -> None:
    registry.add("sink", "google_sheets", SheetsSinkConfig, lambda config, runtime: SheetsSink(config, runtime))
