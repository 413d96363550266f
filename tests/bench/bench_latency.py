"""Jira Cloud → Google Sheets against fakes that answer as slowly as the real
services (issue 28): each Jira request takes JIRA_MS (default 600 ms) and
each Sheets request SHEETS_MS (default 300 ms) before its answer, in the
fake server's own process (tests/bench/fake_server.py).  Two syncs into a
new spreadsheet: the first sync, then the daily full refresh (a day later:
every issue fetched again, the sheet rewritten where it changed).

Prints per sync the wall time and align-sync's CPU time, the requests per
service, the most Jira requests in flight at once, align-sync's peak RSS,
and the time the fakes spent on their own work (round trips aside: on a
busy machine, the Sheets fake applying a first sync's 10k rows takes
seconds a real spreadsheet would not charge to us).  Each size runs in
a child process of its own, so its peak RSS is that size's alone.  Between
the two syncs the benchmark does what the service does between syncs
(sync.worker.serve.daemon): it drops the first sync's result and collects
the cycles the sync made while the collector was paused, so the full
refresh's peak is that sync's own, not the first sync's leftovers as well
(`KEEP_FIRST=1` keeps them, as this benchmark did before: the figures the
first table of docs/operations.md compares against were taken that way).

    python tests/bench/bench_latency.py                 # 10k, 50k, 100k
    python tests/bench/bench_latency.py 2000 10000
    JIRA_MS=1000 python tests/bench/bench_latency.py 10000

Targets: 10k in ≤ 15 s wall, 100k in ≤ 180 s wall (a first sync).
"""
from __future__ import annotations

import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import requests  # noqa: E402

from tests.bench.bench_core import NOW  # noqa: E402
from tests.bench.bench_jira_sheets import bench_config, start_server  # noqa: E402
from tests.bench.fake_server import route_google_here  # noqa: E402

JIRA_MS = float(os.environ.get("JIRA_MS", "600"))
SHEETS_MS = float(os.environ.get("SHEETS_MS", "300"))


def one(n: int) -> None:
    from sync.worker.engine import collect_between_syncs, run_once
    from sync.worker.intake import Setup
    from sync.worker.log import Redactor, configure
    from sync.worker.runtime import Runtime
    from sync.worker.state import State
    from sync.worker.workspace import build_sink, build_sources

    configure(Redactor(), level=30)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        server, port = start_server(n, tmp, JIRA_MS, SHEETS_MS)
        try:
            base = f"http://127.0.0.1:{port}"
            route_google_here(port)
            stats = lambda: requests.get(f"{base}/_stats", timeout=30).json()  # noqa: E731
            config = bench_config(tmp, base, stats()["sheet_id"])
            state = State(tmp / "state.db")
            for label, now in (("first sync", NOW), ("full refresh", NOW + timedelta(days=1, minutes=5))):
                requests.post(f"{base}/_reset", timeout=30)
                runtime = Runtime()
                sources, sink = build_sources(config, runtime), build_sink(config, runtime)
                t0, cpu0 = time.perf_counter(), time.process_time()
                result = run_once(Setup(config, sources, sink), state, now)
                wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
                got = stats()
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(f"{n:>7} {label:>12}: wall {wall:6.1f}s (CPU {cpu:.1f}s), {result.tickets} tickets, "
                      f"Jira {got['jira']} requests (at most {got['peak']} at once), "
                      f"Sheets {got['sheets']} requests, peak RSS {rss:.0f} MB, "
                      f"fakes' own work {got['seconds']:.1f}s, "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)
                if not os.environ.get("KEEP_FIRST"):
                    result = sources = sink = None
                    collect_between_syncs()
            state.close()
        finally:
            server.kill()
            server.wait(timeout=30)


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:] if a.isdigit()]
    if os.environ.get("BENCH_CHILD"):
        return one(sizes[0])
    print(f"latency: Jira {JIRA_MS:.0f} ms, Sheets {SHEETS_MS:.0f} ms per request; "
          f"budget: first sync = ceil(N/100) field requests + ceil(N/5000) id pages + <= 2 metadata",
          flush=True)
    for n in sizes or [10_000, 50_000, 100_000]:
        print(f"{n:>7} budget: {math.ceil(n / 100) + math.ceil(n / 5000) + 2} Jira requests", flush=True)
        subprocess.run([sys.executable, __file__, str(n)], env={**os.environ, "BENCH_CHILD": "1"},
                       check=True, timeout=3600)


if __name__ == "__main__":
    main()
