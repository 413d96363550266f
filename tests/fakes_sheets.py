"""A stateful Google Sheets fake on `responses`, for the real gspread and
google-auth clients.

It serves the service-account token endpoint, spreadsheet metadata,
`values:batchGet` (FORMULA or UNFORMATTED_VALUE) and `spreadsheets:batchUpdate`,
keeping cells per tab.
A batchUpdate is applied to a copy and committed only if every request in
it is valid, as the real API does; `failures` makes the next calls fail.
Response shapes follow the recorded gspread cassettes in tests/fixtures/.
"""
from __future__ import annotations

import copy
import json
import re
import threading
import time
from urllib.parse import parse_qs, urlparse

import responses

from .conftest import fixture

TOKEN_URL = "https://oauth2.googleapis.com/token"
BASE = "https://sheets.googleapis.com/v4/spreadsheets"
_A1 = re.compile(r"^'?(?P<tab>.+?)'?!(?P<a>[A-Z]*)(?P<ra>\d*):(?P<b>[A-Z]*)(?P<rb>\d*)$")


def _col(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


class BadRequest(Exception):
    pass


def _raw_value(value):
    """A RAW value as Sheets stores it: "" is an empty cell, "=1+2" stays text."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, (int, float)):
        return {"numberValue": value}
    return {"stringValue": str(value)}


def _set_path(data: dict, path: str, source: dict) -> None:
    """Apply one field mask path (`userEnteredFormat.backgroundColor`) from `source`."""
    parts = path.split(".")
    src, dst = source, data
    for part in parts[:-1]:
        src = src.get(part, {}) if isinstance(src, dict) else {}
        dst[part] = dict(dst.get(part) or {})      # copied: the last good state shares it
        dst = dst[part]
    if isinstance(src, dict) and parts[-1] in src:
        dst[parts[-1]] = copy.deepcopy(src[parts[-1]])
    else:
        dst.pop(parts[-1], None)
    if not data.get(parts[0]) and parts[0] in data:
        del data[parts[0]]


class Killed(BaseException):
    """Stands in for SIGKILL in-process: a BaseException passes every
    `except Exception`, so no code of ours runs after it (as after a kill -9)."""


MAX_BODY = 10_485_760              # Google refuses a request body over 10 MiB
MAX_CELLS = 10_000_000             # cells per spreadsheet, empty ones included


class FakeSheets:
    def __init__(self, rsps: responses.RequestsMock, sheet_id: str = "1sheetFAKEid", latency: float = 0.0):
        self.rsps = rsps
        self.latency = latency           # a round trip in seconds, slept before each answer
        self.id = sheet_id
        cassette = fixture("gspread_cassette_WorksheetTest.test_batch_update.json")
        meta = json.loads(cassette["interactions"][1]["response"]["body"]["string"])
        self.properties = meta["properties"]
        self.properties["title"] = "Growth alignment"
        self.tabs: dict[str, dict] = {"Sheet1": self._tab(0, "Sheet1", 0, 1000, 26)}
        # (status, body) served instead of the next calls, per endpoint: token, meta, get, update
        self.failures: dict[str, list[tuple[int, dict]]] = {"token": [], "meta": [], "get": [], "update": [],
                                                            "values": []}
        self.batches: list[dict] = []                  # bodies of batchUpdates that were applied
        self.tokens = 0
        # kill = (k, "before" | "after" | "down"): the k-th request (token
        # included) kills the client before the fake handles it, or after it
        # was applied but before its answer arrives; "down": it and every
        # request after it get a 503 (the sync fails after its retries).
        self.kill: tuple[int, str] | None = None
        self.requests = 0
        self.largest_body = 0
        self.seconds = 0.0                 # time spent in the fake itself (benchmarks subtract it)
        # One request applied at a time, as Google applies a spreadsheet's
        # writes; the round trips (latency) still overlap.  `peak`: the most
        # requests in flight at once.
        self._lock = threading.Lock()
        self.inflight = self.peak = 0
        rsps.add_callback(responses.POST, TOKEN_URL, callback=self._guarded(self._token))
        rsps.add_callback(responses.GET, f"{BASE}/{sheet_id}", callback=self._guarded(self._meta))
        rsps.add_callback(responses.GET, f"{BASE}/{sheet_id}/values:batchGet",
                          callback=self._guarded(self._batch_get))
        rsps.add_callback(responses.POST, f"{BASE}/{sheet_id}:batchUpdate",
                          callback=self._guarded(self._batch_update))
        rsps.add_callback(responses.POST, f"{BASE}/{sheet_id}/values:batchUpdate",
                          callback=self._guarded(self._values_update))
        self.value_writes: list[dict] = []             # bodies of values.batchUpdates applied
        # Who a bearer token is, and (when not None) the only principals the
        # sheet is shared with as Editor: anyone else's token gets a 403.
        self.principals: dict[str, str] = {"ya29.fake-access-token": "key-file-account"}
        self.editors: set[str] | None = None
        # refresh token → (access token it is exchanged for, the person's email)
        self.users: dict[str, tuple[str, str]] = {}

    def _guarded(self, handler):
        def callback(request):
            with self._lock:
                self.inflight += 1
                self.peak = max(self.peak, self.inflight)
            try:
                if self.latency:
                    time.sleep(self.latency)
                with self._lock:
                    started = time.perf_counter()
                    try:
                        return handle(request)
                    finally:
                        self.seconds += time.perf_counter() - started
            finally:
                with self._lock:
                    self.inflight -= 1

        def handle(request):
            self.requests += 1
            body = request.body or b""
            size = len(body.encode() if isinstance(body, str) else body)
            self.largest_body = max(self.largest_body, size)
            if self.kill and self.kill == (self.requests, "before"):
                raise Killed(f"killed before request {self.requests}")
            if self.kill and self.kill[1] == "down" and self.requests >= self.kill[0]:
                return 503, {"Content-Type": "application/json"}, json.dumps({"error": {
                    "code": 503, "message": "The service is currently unavailable.", "status": "UNAVAILABLE"}})
            if size > MAX_BODY:
                return 400, {"Content-Type": "application/json"}, json.dumps({"error": {
                    "code": 400, "message": f"Request payload size exceeds the limit: {MAX_BODY} bytes.",
                    "status": "INVALID_ARGUMENT"}})
            answer = handler(request)
            if self.kill and self.kill == (self.requests, "after"):
                raise Killed(f"killed after request {self.requests} was applied")
            return answer
        return callback

    @staticmethod
    def _tab(sheet_id: int, title: str, index: int, rows: int, cols: int) -> dict:
        return {"sheetId": sheet_id, "title": title, "index": index, "rows": rows, "cols": cols,
                "frozen": 0, "cells": {}, "charts": [], "hidden": False, "validation": {}}

    # -- what tests read ---------------------------------------------------

    def sheet_calls(self) -> list[str]:
        return [f"{c.request.method} {urlparse(c.request.url).path.rsplit('/', 1)[-1]}"
                for c in self.rsps.calls if c.request.url.startswith(BASE)]

    def values(self, title: str, computed: bool = False) -> list[list]:
        """The tab as Python values, trailing blanks trimmed: formulas as their
        text, or (computed) as the result a test gave in `effectiveValue`."""
        tab = self.tabs[title]
        grid = [[None] * tab["cols"] for _ in range(tab["rows"])]
        for (r, c), data in tab["cells"].items():
            v = data.get("userEnteredValue")
            if computed and v and "formulaValue" in v:
                v = data.get("effectiveValue")
            if v:
                grid[r][c] = next(iter(v.values()))
        rows = [self._trim(row) for row in grid]
        while rows and not rows[-1]:
            rows.pop()
        return rows

    def cell(self, title: str, r: int, c: int) -> dict:
        return self.tabs[title]["cells"].get((r, c), {})

    def cells_total(self) -> int:
        return sum(t["rows"] * t["cols"] for t in self.tabs.values())

    @staticmethod
    def _trim(row: list) -> list:
        row = list(row)
        while row and row[-1] in (None, ""):
            row.pop()
        return row

    # -- endpoints ---------------------------------------------------------

    def _fail(self, endpoint: str):
        if self.failures[endpoint]:
            status, body = self.failures[endpoint].pop(0)
            return status, {"Content-Type": "application/json", **body.pop("_headers", {})}, json.dumps(body)
        return None

    def _token(self, request):
        self.tokens += 1
        failed = self._fail("token")
        if failed:
            return failed
        form = parse_qs(request.body if isinstance(request.body, str) else (request.body or b"").decode())
        if form.get("grant_type") == ["refresh_token"]:
            # A person's OAuth credential (authorized_user) being refreshed.
            user = self.users.get((form.get("refresh_token") or [""])[0])
            if user is None or not form.get("client_secret"):
                return 400, {}, json.dumps({"error": "invalid_grant", "error_description": "Bad Request"})
            return 200, {}, json.dumps({"access_token": user[0], "expires_in": 3599,
                                        "scope": "https://www.googleapis.com/auth/spreadsheets",
                                        "token_type": "Bearer"})
        return 200, {}, json.dumps({"access_token": "ya29.fake-access-token", "expires_in": 3599,
                                    "token_type": "Bearer"})

    def _refused(self, request):
        """401 for a token nobody issued, 403 for a principal the sheet is not shared with."""
        token = (request.headers.get("Authorization") or "").removeprefix("Bearer ")
        if token not in self.principals:
            return 401, {}, json.dumps({"error": {"code": 401, "message": "no token",
                                                  "status": "UNAUTHENTICATED"}})
        if self.editors is not None and self.principals[token] not in self.editors:
            return 403, {}, json.dumps({"error": {"code": 403, "message": "The caller does not have "
                                                  "permission", "status": "PERMISSION_DENIED"}})
        return None

    def _meta(self, request):
        stopped = self._refused(request) or self._fail("meta")
        if stopped:
            return stopped
        sheets = []
        for t in sorted(self.tabs.values(), key=lambda t: t["index"]):
            props = {"sheetId": t["sheetId"], "title": t["title"], "index": t["index"],
                     **({"hidden": True} if t.get("hidden") else {}), "sheetType": "GRID", "gridProperties": {"rowCount": t["rows"], "columnCount": t["cols"],
                                                             **({"frozenRowCount": t["frozen"]}
                                                                if t["frozen"] else {})}}
            entry = {"properties": props}
            if t["charts"]:
                entry["charts"] = copy.deepcopy(t["charts"])
            sheets.append(entry)
        return 200, {}, json.dumps({"spreadsheetId": self.id, "properties": self.properties,
                                    "sheets": sheets,
                                    "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{self.id}/edit"})

    def _range(self, a1: str, computed: bool = False) -> list[list]:
        m = _A1.match(a1)
        if not m or m["tab"] not in self.tabs:
            raise BadRequest(f"Unable to parse range: {a1}")
        tab = self.tabs[m["tab"]]
        c0 = _col(m["a"]) - 1 if m["a"] else 0
        c1 = _col(m["b"]) if m["b"] else tab["cols"]
        r0 = int(m["ra"]) - 1 if m["ra"] else 0
        r1 = int(m["rb"]) if m["rb"] else tab["rows"]
        if c1 > tab["cols"] or r1 > tab["rows"]:
            raise BadRequest(f"Range ({a1}) exceeds grid limits. Max rows: {tab['rows']}, "
                             f"max columns: {tab['cols']}")
        full = self.values(m["tab"], computed)
        rows = [self._trim((row + [None] * c1)[c0:c1]) for row in full[r0:r1]]
        while rows and not rows[-1]:
            rows.pop()
        return [[("" if v is None else v) for v in row] for row in rows]

    def _batch_get(self, request):
        failed = self._fail("get")
        if failed:
            return failed
        q = parse_qs(urlparse(request.url).query)
        computed = q.get("valueRenderOption") == ["UNFORMATTED_VALUE"]
        try:
            ranges = [{"range": r, "majorDimension": "ROWS",
                       **({"values": v} if (v := self._range(r, computed)) else {})}
                      for r in q.get("ranges", [])]
        except BadRequest as exc:
            return 400, {}, json.dumps({"error": {"code": 400, "message": str(exc),
                                                  "status": "INVALID_ARGUMENT"}})
        return 200, {}, json.dumps({"spreadsheetId": self.id, "valueRanges": ranges})

    def _batch_update(self, request):
        stopped = self._refused(request) or self._fail("update")
        if stopped:
            return stopped
        body = json.loads(request.body)
        # Applied to a copy, committed whole (atomic).  Cell dicts are never
        # changed in place, only replaced, so a copy of each tab's dict of
        # cells is enough (a deep copy of 100k-ticket tabs took seconds).
        tabs = {name: dict(t, cells=dict(t["cells"]), charts=copy.deepcopy(t["charts"]),
                           validation=dict(t["validation"]))
                for name, t in self.tabs.items()}
        title = self.properties["title"]
        try:
            if not body.get("requests"):
                raise BadRequest("Must specify at least one request.")
            replies = []
            for req in body["requests"]:
                (kind, arg), = req.items()
                title = self._apply(tabs, kind, arg, title, replies)
            total = sum(t["rows"] * t["cols"] for t in tabs.values())
            if total > MAX_CELLS and total > self.cells_total():
                raise BadRequest(f"This action would increase the number of cells in the workbook "
                                 f"above the limit of {MAX_CELLS} cells.")
        except BadRequest as exc:
            return 400, {}, json.dumps({"error": {"code": 400, "message": f"Invalid requests: {exc}",
                                                  "status": "INVALID_ARGUMENT"}})
        self.tabs = tabs
        self.properties["title"] = title
        self.batches.append(body)
        return 200, {}, json.dumps({"spreadsheetId": self.id, "replies": replies})

    def _values_update(self, request):
        """`values.batchUpdate`: not atomic across ranges (each applies in turn,
        as Google's is not documented to be); writes past a grid are refused."""
        failed = self._fail("values")
        if failed:
            return failed
        body = json.loads(request.body)
        if body.get("valueInputOption") not in ("RAW", "USER_ENTERED"):
            return 400, {}, json.dumps({"error": {"code": 400, "message": "Invalid valueInputOption",
                                                  "status": "INVALID_ARGUMENT"}})
        for item in body.get("data") or []:
            m = _A1.match(item["range"].replace("''", "'"))
            if not m or m["tab"] not in self.tabs:
                return 400, {}, json.dumps({"error": {"code": 400, "status": "INVALID_ARGUMENT",
                                                      "message": f"Unable to parse range: {item['range']}"}})
            tab = self.tabs[m["tab"]]
            r0, c0 = int(m["ra"]) - 1, _col(m["a"]) - 1
            rows = item.get("values") or []
            last_row = r0 + len(rows)
            last_col = c0 + max((len(r) for r in rows), default=0)
            if last_row > tab["rows"] or last_col > tab["cols"]:
                return 400, {}, json.dumps({"error": {"code": 400, "status": "INVALID_ARGUMENT",
                                                      "message": f"Range ({item['range']}) exceeds grid limits. "
                                                                 f"Max rows: {tab['rows']}, max columns: {tab['cols']}"}})
            for i, row in enumerate(rows):
                for j, value in enumerate(row):
                    if isinstance(value, str) and len(value) > 50_000:
                        return 400, {}, json.dumps({"error": {"code": 400, "status": "INVALID_ARGUMENT",
                                                              "message": "Your input contains more than the maximum "
                                                                         "of 50000 characters in a single cell."}})
                    data = dict(tab["cells"].get((r0 + i, c0 + j), {}))
                    typed = _raw_value(value)
                    if typed is None:
                        data.pop("userEnteredValue", None)
                    else:
                        data["userEnteredValue"] = typed
                    tab["cells"][(r0 + i, c0 + j)] = data
        self.value_writes.append(body)
        return 200, {}, json.dumps({"spreadsheetId": self.id, "totalUpdatedRows": 0,
                                    "responses": [{"spreadsheetId": self.id, "updatedRange": d["range"]}
                                                  for d in body.get("data") or []]})

    @staticmethod
    def _by_id(tabs: dict, sheet_id) -> dict:
        for t in tabs.values():
            if t["sheetId"] == sheet_id:
                return t
        raise BadRequest(f"No grid with id: {sheet_id}")

    def _apply(self, tabs: dict, kind: str, arg: dict, title: str, replies: list) -> str:
        reply: dict = {}
        if kind == "addSheet":
            p = arg["properties"]
            if p["title"] in tabs:
                raise BadRequest(f"A sheet with the name \"{p['title']}\" already exists.")
            sid = p.get("sheetId", 10_000 + len(tabs))
            if any(t["sheetId"] == sid for t in tabs.values()):
                raise BadRequest(f"sheetId {sid} is already in use")
            for t in tabs.values():
                if t["index"] >= p.get("index", len(tabs)):
                    t["index"] += 1
            grid = p.get("gridProperties") or {}
            tabs[p["title"]] = self._tab(sid, p["title"], p.get("index", len(tabs)),
                                         grid.get("rowCount", 1000), grid.get("columnCount", 26))
            tabs[p["title"]]["hidden"] = bool(p.get("hidden"))
            reply = {"addSheet": {"properties": {"sheetId": sid, "title": p["title"]}}}
        elif kind == "deleteSheet":
            tab = self._by_id(tabs, arg["sheetId"])
            del tabs[tab["title"]]
        elif kind == "updateSheetProperties":
            tab = self._by_id(tabs, arg["properties"]["sheetId"])
            grid = arg["properties"].get("gridProperties", {})
            rows, cols = grid.get("rowCount", tab["rows"]), grid.get("columnCount", tab["cols"])
            if grid.get("frozenRowCount", 0) >= rows:
                raise BadRequest("You can't freeze all visible rows on the sheet.")
            tab.update(rows=rows, cols=cols, frozen=grid.get("frozenRowCount", tab["frozen"]))
            if "hidden" in arg["properties"]:
                tab["hidden"] = bool(arg["properties"]["hidden"])
            tab["cells"] = {k: v for k, v in tab["cells"].items() if k[0] < rows and k[1] < cols}
            tab["validation"] = {k: v for k, v in tab["validation"].items() if k[0] < rows and k[1] < cols}
        elif kind == "updateCells":
            rng = arg["range"]
            tab = self._by_id(tabs, rng["sheetId"])
            r0, c0 = rng.get("startRowIndex", 0), rng.get("startColumnIndex", 0)
            r1, c1 = rng.get("endRowIndex", tab["rows"]), rng.get("endColumnIndex", tab["cols"])
            fields = [f.strip() for f in arg["fields"].split(",")]
            for (r, c) in [k for k in tab["cells"] if r0 <= k[0] < r1 and c0 <= k[1] < c1]:
                kept = {f: v for f, v in tab["cells"][(r, c)].items() if f not in fields}
                tab["cells"][(r, c)] = kept
            for i, row in enumerate(arg.get("rows", [])):
                for j, data in enumerate(row.get("values", [])):
                    r, c = r0 + i, c0 + j
                    if r >= tab["rows"]:
                        raise BadRequest(f"Attempting to write row: {r}, beyond the last requested "
                                         f"row of: {tab['rows'] - 1}")
                    if c >= tab["cols"]:
                        raise BadRequest(f"Attempting to write column: {c}, beyond the last "
                                         f"requested column of: {tab['cols'] - 1}")
                    self._check_cell(data)
                    tab["cells"][(r, c)] = {**tab["cells"].get((r, c), {}),
                                            **{f: data[f] for f in fields if f in data}}
        elif kind == "appendCells":
            tab = self._by_id(tabs, arg["sheetId"])
            used = [r for (r, _), d in tab["cells"].items() if d.get("userEnteredValue")]
            start = max(used) + 1 if used else 0
            for i, row in enumerate(arg["rows"]):
                for j, data in enumerate(row.get("values", [])):
                    self._check_cell(data)
                    tab["cells"][(start + i, j)] = dict(data)
            tab["rows"] = max(tab["rows"], start + len(arg["rows"]))
        elif kind == "updateDimensionProperties":
            self._by_id(tabs, arg["range"]["sheetId"])
        elif kind == "addChart":
            anchor = arg["chart"]["position"]["overlayPosition"]["anchorCell"]
            tab = self._by_id(tabs, anchor["sheetId"])
            if anchor.get("rowIndex", 0) >= tab["rows"] or anchor.get("columnIndex", 0) >= tab["cols"]:
                raise BadRequest("Invalid anchor cell: outside the grid")
            chart_id = 5000 + sum(len(t["charts"]) for t in tabs.values())
            tab["charts"].append({"chartId": chart_id, "spec": arg["chart"]["spec"]})
            reply = {"addChart": {"chart": {"chartId": chart_id}}}
        elif kind == "updateChartSpec":
            found = [c for t in tabs.values() for c in t["charts"] if c["chartId"] == arg["chartId"]]
            if not found:
                raise BadRequest(f"No chart with id: {arg['chartId']}")
            found[0]["spec"] = arg["spec"]
        elif kind == "copyPaste":
            self._copy_paste(tabs, arg)
        elif kind == "repeatCell":
            rng = arg["range"]
            tab = self._by_id(tabs, rng["sheetId"])
            r0, r1, c0, c1 = self._bounds(tab, rng)
            for r in range(r0, r1):
                for c in range(c0, c1):
                    data = dict(tab["cells"].get((r, c), {}))
                    for path in (f.strip() for f in arg["fields"].split(",")):
                        _set_path(data, path, arg["cell"])
                    tab["cells"][(r, c)] = data
        elif kind == "setDataValidation":
            self._validation(tabs, arg)
        elif kind == "updateSpreadsheetProperties":
            title = arg["properties"].get("title", title)
        else:
            raise BadRequest(f"unsupported request {kind}")
        replies.append(reply)
        return title

    @staticmethod
    def _bounds(tab: dict, rng: dict) -> tuple[int, int, int, int]:
        r0, c0 = rng.get("startRowIndex", 0), rng.get("startColumnIndex", 0)
        r1, c1 = rng.get("endRowIndex", tab["rows"]), rng.get("endColumnIndex", tab["cols"])
        if r1 > tab["rows"] or c1 > tab["cols"]:
            raise BadRequest(f"Attempting to write row: {r1 - 1}, beyond the last requested row of: "
                             f"{tab['rows'] - 1}" if r1 > tab["rows"] else
                             f"Attempting to write column: {c1 - 1}, beyond the last requested column "
                             f"of: {tab['cols'] - 1}")
        return r0, r1, c0, c1

    def _copy_paste(self, tabs: dict, arg: dict) -> None:
        src_tab = self._by_id(tabs, arg["source"]["sheetId"])
        dst_tab = self._by_id(tabs, arg["destination"]["sheetId"])
        s0, s1, sc0, sc1 = self._bounds(src_tab, arg["source"])
        d0, d1, dc0, dc1 = self._bounds(dst_tab, arg["destination"])
        if (d1 - d0, dc1 - dc0) != (s1 - s0, sc1 - sc0):
            raise BadRequest("The source and destination ranges must be the same size")
        kind = arg.get("pasteType", "PASTE_NORMAL")
        keys = {"PASTE_VALUES": ("userEnteredValue",), "PASTE_FORMAT": ("userEnteredFormat",),
                "PASTE_NORMAL": ("userEnteredValue", "userEnteredFormat")}[kind]
        source = src_tab["cells"]
        copied = {(r, c): source.get((s0 + r, sc0 + c), {})
                  for r in range(s1 - s0) for c in range(sc1 - sc0)}
        for (r, c), data in copied.items():
            target = dict(dst_tab["cells"].get((d0 + r, dc0 + c), {}))
            for key in keys:
                if key in data:
                    target[key] = data[key]
                else:
                    target.pop(key, None)
            dst_tab["cells"][(d0 + r, dc0 + c)] = target

    # Condition types a data validation rule may use (BooleanCondition.type).
    VALIDATION_TYPES = {"ONE_OF_LIST", "ONE_OF_RANGE", "BOOLEAN", "BLANK", "NOT_BLANK", "CUSTOM_FORMULA",
                        "NUMBER_BETWEEN", "NUMBER_GREATER", "NUMBER_LESS", "TEXT_CONTAINS", "TEXT_EQ",
                        "DATE_IS_VALID", "TEXT_IS_EMAIL", "TEXT_IS_URL"}

    def _validation(self, tabs: dict, arg: dict) -> None:
        """`setDataValidation`: the rule on every cell of the range (within the
        grid), or no rule when `rule` is absent.  A list's values are plain
        values: ONE_OF_LIST takes no formulas and needs at least one value."""
        rng = arg["range"]
        tab = self._by_id(tabs, rng["sheetId"])
        r0, r1, c0, c1 = self._bounds(tab, rng)
        rule = arg.get("rule")
        if rule is not None:
            cond = rule.get("condition") or {}
            if cond.get("type") not in self.VALIDATION_TYPES:
                raise BadRequest(f"Invalid value at 'requests.set_data_validation.rule.condition.type' "
                                 f"({cond.get('type')!r})")
            if cond["type"] == "ONE_OF_LIST":
                values = cond.get("values") or []
                if not values:
                    raise BadRequest("ONE_OF_LIST condition requires at least one value")
                for v in values:
                    text = v.get("userEnteredValue")
                    if not isinstance(text, str) or text.startswith("="):
                        raise BadRequest(f"Invalid ConditionValue {v!r}: ONE_OF_LIST takes plain values")
        rule = copy.deepcopy(rule)            # one copy shared by the range's cells (never changed)
        for r in range(r0, r1):
            for c in range(c0, c1):
                if rule is None:
                    tab["validation"].pop((r, c), None)
                else:
                    tab["validation"][(r, c)] = rule

    def validation(self, title: str, r: int, c: int) -> dict | None:
        """The data validation rule on one cell, as a test reads it."""
        return self.tabs[title]["validation"].get((r, c))

    @staticmethod
    def _check_cell(data: dict) -> None:
        value = data.get("userEnteredValue") or {}
        for v in value.values():
            if isinstance(v, str) and len(v) > 50_000:
                raise BadRequest("Your input contains more than the maximum of 50000 characters "
                                 "in a single cell.")
