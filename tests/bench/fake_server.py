"""The Jira and Sheets fakes served over HTTP from a process of their own,
so a benchmark's peak RSS and time are align-sync's, not the fakes'.

The server keeps the `responses`-based fakes of tests/ (FakeJira,
FakeSheets) and answers each HTTP request by replaying it, inside this
process, through `requests` into those mocks.  `/jira/...` is the Jira
site; `/google/<host>/...` is sheets.googleapis.com or oauth2.googleapis.com
(the client process rewrites those hosts, which gspread and google-auth
hard-code, to this server: `route_google_here`).  `/_stats` reports the
time the fakes spent answering (round trips aside), the requests per service and the most Jira requests
in flight at once; `/_reset` zeroes them.

A real Jira or Google answers in hundreds of milliseconds, not at once:
JIRA_MS and SHEETS_MS are a round trip slept by each request's handler
before it queues for the (single-threaded) fakes, so requests sent in
parallel wait in parallel, as they would against the real services.

    python tests/bench/fake_server.py N PORT_FILE [JIRA_MS SHEETS_MS]   # started by the benchmark
"""
from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import requests  # noqa: E402
import responses  # noqa: E402

from tests.bench.bench_core import NOW  # noqa: E402
from tests.fakes import URL, FakeJira, make_issues  # noqa: E402
from tests.fakes_sheets import FakeSheets  # noqa: E402
from tests.test_kill import visible  # noqa: E402

GOOGLE = ("sheets.googleapis.com", "oauth2.googleapis.com")


def route_google_here(port: int) -> None:
    """In the client process: send Google's hosts to the fake server."""
    from requests.adapters import HTTPAdapter
    real = HTTPAdapter.send

    def send(self, request, *args, **kwargs):
        for host in GOOGLE:
            prefix = f"https://{host}"
            if request.url.startswith(prefix):
                request.url = f"http://127.0.0.1:{port}/google/{host}{request.url[len(prefix):]}"
        return real(self, request, *args, **kwargs)
    HTTPAdapter.send = send


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.seconds, self.jira, self.sheets, self.tokens = 0.0, 0, 0, 0
        self.inflight = self.peak = 0


def main() -> None:
    n, port_file = int(sys.argv[1]), Path(sys.argv[2])
    delay = {"jira": 0.0, "sheets": 0.0}
    if len(sys.argv) > 4:
        delay = {"jira": float(sys.argv[3]) / 1000, "sheets": float(sys.argv[4]) / 1000}
    stats = Stats()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        # One issue updated a minute, the last a day before NOW: at 100k, a
        # start 30 days back put 56k issues past tomorrow, which a sync reads
        # as bad data (issue 21), not the workload this server stands for.
        FakeJira(rsps, make_issues(n, NOW - timedelta(days=1, minutes=n)))
        sheets = FakeSheets(rsps)
        session = requests.Session()
        lock = threading.Lock()            # the fakes are not thread-safe

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status: int, body: bytes, headers=()):
                self.send_response(status)
                for k, v in headers:
                    if k.lower() not in ("content-length", "transfer-encoding", "connection",
                                         "content-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self, method: str):
                started = time.perf_counter()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if self.path == "/_stats":
                    return self._reply(200, json.dumps({
                        "seconds": stats.seconds, "jira": stats.jira, "sheets": stats.sheets,
                        "peak": stats.peak, "sheet_id": sheets.id}).encode())
                if self.path == "/_sheet":
                    # A digest of what people see (every visible tab's values
                    # and formats): two syncs' sheets compare cell for cell.
                    seen = visible(sheets)
                    here = f"127.0.0.1:{self.server.server_address[1]}"     # in ticket links: each run's own port
                    tabs = {n: hashlib.sha256(json.dumps([v, sorted(map(list, c.items()), key=str)],
                                                         sort_keys=True, default=str).replace(here, "fake-host")
                                              .encode()).hexdigest()
                            for n, (v, c) in seen.items()}
                    return self._reply(200, json.dumps({
                        "sha256": hashlib.sha256(json.dumps(tabs, sort_keys=True).encode()).hexdigest(),
                        "tabs": tabs,
                        "rows": {n: len(v) for n, (v, _) in seen.items()},
                        "cells": sum(len(c) for _, c in seen.values())}).encode())
                if self.path == "/_reset":
                    stats.reset()
                    return self._reply(200, b"{}")
                if self.path.startswith("/jira/"):
                    url, kind = URL + self.path[len("/jira"):], "jira"
                else:
                    host, rest = self.path[len("/google/"):].split("/", 1)
                    url, kind = f"https://{host}/{rest}", "sheets" if host.startswith("sheets") else "token"
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                with stats.lock:
                    stats.inflight += kind == "jira"
                    stats.peak = max(stats.peak, stats.inflight)
                time.sleep(delay.get(kind, 0.0))      # the network and the server's own work
                started = time.perf_counter()         # `seconds`: the fakes' work, not the round trip
                with lock:
                    answer = session.request(method, url, data=body, headers=headers)
                    rsps.calls.reset()      # the mock's records would grow without end
                self._reply(answer.status_code, answer.content, answer.headers.items())
                with stats.lock:
                    stats.inflight -= kind == "jira"
                    stats.seconds += time.perf_counter() - started
                    if kind == "jira":
                        stats.jira += 1
                    elif kind == "sheets":
                        stats.sheets += 1

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_PUT(self):
                self._handle("PUT")

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        port_file.write_text(str(server.server_address[1]))
        server.serve_forever()


if __name__ == "__main__":
    main()
