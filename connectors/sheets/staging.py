"""Writing a big sheet under Google's 10 MiB request wall, still in one atomic
publish (docs/operations.md).  Pure: plans and bodies, no I/O.

When the one `spreadsheets.batchUpdate` that a sync would send is over
`PUBLISH_MAX`, the rows of Tickets and Warnings that changed go first, as RAW
values (a few bytes a cell instead of ~40 of typed JSON; RAW keeps `=…` as
text and numbers as numbers), into a hidden tab align-sync owns.  Then one
small publish sizes the visible grids, copies each staged block onto its
rows (`copyPaste`, `PASTE_VALUES`), clears and sets their formats by range
(severity colours by runs; key links copied from the staging tab as
formats), writes people's formula cells, and shrinks the staging tab to one
cell.  People only ever see the publish: a sync that fails or is killed
while staging leaves the visible tabs as they were, and the next sync
resizes and overwrites the staging tab (absolute ranges: a retried write
is harmless).

Requests, in order: `prep` (add or size the staging tab, and write the key
links into it as formats: one batchUpdate, more only past 4 MB of links),
`values` (one `values.batchUpdate` per 4 MB of RAW rows), `publish`.  Once
the first prep has made the tab, the other staging writes touch disjoint
ranges of it, so they go `STAGE_WORKERS` at once (`send`); each is still
paced by the account's writes-per-minute window, and the publish waits for
all of them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import chain
from typing import Callable, Iterator

from sync.core.present.report import Table, cell_text

from sync.core.present.report import SEVERITY_COLOURS
from connectors.parallel import ordered
from connectors.sheets.diff import MAX_CELL, rgb

STAGING = "align-sync staging"
PUBLISH_MAX = 4_000_000           # bytes per request body: well under Google's 10,485,760
STAGE_CHUNK = PUBLISH_MAX         # bytes per staging request (tests make it small)
# Staging writes in flight at once: Google limits writes per minute (paced
# by the sink), not in flight; 4 × 4 MB keeps a 100k sync's bodies in memory
# few at a time.
STAGE_WORKERS = 4


def encode(body: dict) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class Block:
    """Data rows [start, end) of one table, staged from staging row `offset`."""
    table: Table
    sheet_id: int
    start: int
    end: int
    offset: int


@dataclass
class Plan:
    sheet_id: int                 # the staging tab's
    exists: bool                  # found in the metadata (left by an earlier sync)
    blocks: list[Block] = field(default_factory=list)
    rows: int = 0
    cols: int = 1

    def add(self, table: Table, sheet_id: int, start: int, end: int) -> Block:
        block = Block(table, sheet_id, start, end, self.rows)
        self.blocks.append(block)
        self.rows += end - start
        self.cols = max(self.cols, len(table.headers))
        return block

    @property
    def cells(self) -> int:
        return max(self.rows, 1) * self.cols


def _raw(value, formula_ok: bool):
    """One RAW value; people's formulas are written by the publish instead."""
    if value is None:
        return ""
    if isinstance(value, (bool, int, float)):
        return value
    text = cell_text(str(value), MAX_CELL)
    if formula_ok and text.startswith("="):
        return ""
    return text


def _range(sheet_id: int, r0: int, r1: int, c0: int, c1: int) -> dict:
    return {"sheetId": sheet_id, "startRowIndex": r0, "endRowIndex": r1,
            "startColumnIndex": c0, "endColumnIndex": c1}


def _a1(row: int, col: int) -> str:
    name = ""
    while col:
        col, rest = divmod(col - 1, 26)
        name = chr(65 + rest) + name
    return f"{name}{row}"


def send(plan: Plan, index: int, batch: Callable[[bytes], int], values: Callable[[bytes], int],
         workers: int = STAGE_WORKERS) -> Iterator[int]:
    """Every staging write, by `batch` (a spreadsheets.batchUpdate) or
    `values` (a values.batchUpdate), each returning the bytes it sent; yields
    those sizes in order.  The first prep makes or sizes the tab, alone; the
    others (links, values) go `workers` at once, each body made only when
    its turn nears.  The first failure is raised once the writes in flight
    end: the visible tabs are untouched either way."""
    preps = iter(prep_bodies(plan, index))
    yield batch(encode(next(preps)))
    rest = chain(((batch, encode(body)) for body in preps),
                 ((values, data) for data in value_bodies(plan)))
    # No body waits made in advance: each is 4 MB, and made in well under a round trip.
    yield from ordered(lambda job: job[0](job[1]), rest, workers, "sheets-staging", window=workers)


def value_bodies(plan: Plan) -> Iterator[bytes]:
    """`values.batchUpdate` bodies, each under STAGE_CHUNK: every staged row,
    at its absolute place in the staging tab; made one at a time, as asked for."""
    data: list[dict] = []
    size = 0
    overhead = len(encode({"valueInputOption": "RAW", "data": []}))
    quoted = STAGING.replace("'", "''")
    for block in plan.blocks:
        table, owned, width = block.table, block.table.owned_columns, len(block.table.headers)
        rows: list[list] = []
        first = block.offset
        for i in range(block.start, block.end):
            row = table.rows[i]
            values = [_raw(v, c >= owned) for c, v in enumerate(row[:width])]
            cost = len(encode(values)) + 1
            if rows and size + cost + overhead + 200 > STAGE_CHUNK:
                data.append(_values_range(quoted, first, width, rows))
                yield encode({"valueInputOption": "RAW", "data": data})
                data, size = [], 0
                first, rows = block.offset + (i - block.start), []
            rows.append(values + [""] * (width - len(values)))
            size += cost
        if rows:
            data.append(_values_range(quoted, first, width, rows))
            size += 100
    if data:
        yield encode({"valueInputOption": "RAW", "data": data})


def _values_range(quoted: str, first: int, width: int, rows: list[list]) -> dict:
    return {"range": f"'{quoted}'!A{first + 1}:{_a1(first + len(rows), width)}",
            "majorDimension": "ROWS", "values": rows}


def prep_bodies(plan: Plan, index: int) -> Iterator[dict]:
    """Make the staging tab fit the plan (hidden), then write each staged key's
    link into it as a format, for the publish to copy (a link costs ~150
    bytes of JSON a cell: at 100k tickets, 15 MB that cannot ride in the publish).
    Made one body at a time, as asked for: 100k links as dicts at once held
    about 100 MB."""
    grid = {"rowCount": max(plan.rows, 1), "columnCount": plan.cols}
    if plan.exists:
        first = [{"updateSheetProperties": {
            "properties": {"sheetId": plan.sheet_id, "hidden": True, "gridProperties": grid},
            "fields": "hidden,gridProperties.rowCount,gridProperties.columnCount"}}]
    else:
        first = [{"addSheet": {"properties": {"sheetId": plan.sheet_id, "title": STAGING, "index": index,
                                              "hidden": True, "gridProperties": grid}}}]
    body = {"requests": first}
    size = len(encode(body))
    for block in plan.blocks:
        links = block.table.links
        if not links:
            continue
        start, n = 0, block.end - block.start
        while start < n:
            rows, cost = [], 0
            while start + len(rows) < n and (not rows or size + cost < STAGE_CHUNK - 1000):
                rows.append(_link_row(links[block.start + start + len(rows)]))
                cost += len(encode(rows[-1])) + 1
            take = len(rows)
            request = {"updateCells": {
                "range": _range(plan.sheet_id, block.offset + start, block.offset + start + take, 0, 1),
                "rows": rows, "fields": "userEnteredFormat"}}
            if size + cost >= STAGE_CHUNK - 1000 and body["requests"]:
                yield body
                body, size = {"requests": []}, 20
            body["requests"].append(request)
            size += cost + 200
            start += take
    yield body


def _link_row(link: str | None) -> dict:
    return {"values": [{"userEnteredFormat": {"textFormat": {"link": {"uri": link}}}} if link else {}]}


def publish_requests(block: Block, staging_id: int) -> list[dict]:
    """What the publish does for one staged block: values, formats, formulas."""
    table = block.table
    n = block.end - block.start
    width, owned = len(table.headers), table.owned_columns
    dest0 = block.start + 1                     # below the header
    out = [{"copyPaste": {"source": _range(staging_id, block.offset, block.offset + n, 0, width),
                          "destination": _range(block.sheet_id, dest0, dest0 + n, 0, width),
                          "pasteType": "PASTE_VALUES", "pasteOrientation": "NORMAL"}},
           # The unstaged write replaces the owned cells' formats too: clear them.
           {"repeatCell": {"range": _range(block.sheet_id, dest0, dest0 + n, 0, owned),
                           "cell": {}, "fields": "userEnteredFormat"}}]
    if table.links:
        out.append({"copyPaste": {"source": _range(staging_id, block.offset, block.offset + n, 0, 1),
                                  "destination": _range(block.sheet_id, dest0, dest0 + n, 0, 1),
                                  "pasteType": "PASTE_FORMAT", "pasteOrientation": "NORMAL"}})
    if table.name == "Warnings":
        out += _severity_runs(block)
    for i in range(block.start, block.end):
        for c in range(owned, width):
            v = table.rows[i][c] if c < len(table.rows[i]) else None
            if isinstance(v, str) and v.startswith("="):
                out.append({"updateCells": {"range": _range(block.sheet_id, i + 1, i + 2, c, c + 1),
                                            "rows": [{"values": [{"userEnteredValue": {"formulaValue": v}}]}],
                                            "fields": "userEnteredValue"}})
    return out


def _severity_runs(block: Block) -> list[dict]:
    """Warnings are sorted by severity, so their colours are a few runs."""
    out = []
    rows = block.table.rows
    i = block.start
    while i < block.end:
        colour = SEVERITY_COLOURS.get(rows[i][0])
        j = i
        while j < block.end and rows[j][0] == rows[i][0]:
            j += 1
        if colour:
            out.append({"repeatCell": {"range": _range(block.sheet_id, i + 1, j + 1, 0, 1),
                                       "cell": {"userEnteredFormat": {"backgroundColor": rgb(colour)}},
                                       "fields": "userEnteredFormat.backgroundColor"}})
        i = j
    return out


def shrink(plan: Plan) -> dict:
    """The last request of the publish: the staging tab back to one cell
    (staged cells count toward the 10M-cell wall while they exist)."""
    return {"updateSheetProperties": {
        "properties": {"sheetId": plan.sheet_id, "hidden": True,
                       "gridProperties": {"rowCount": 1, "columnCount": 1}},
        "fields": "hidden,gridProperties.rowCount,gridProperties.columnCount"}}


def shrink_staging(staging, plan: Plan | None) -> list[dict]:
    """The publish leaves the staging tab (a SheetInfo, or None) at one cell,
    a killed sync's too."""
    if plan is None and (staging is None or staging.rows * staging.cols <= 1):
        return []
    if staging is not None:
        staging.rows, staging.cols = 1, 1
    return [shrink(plan or Plan(staging.sheet_id, True))]
