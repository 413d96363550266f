"""align-sync beside the way jira-agile-metrics reads Jira, at the same
per-request latency (issue 28).

jira-agile-metrics (its QueryManager) asks the real `jira` client for the
field list (twice) and then for the whole query at once:
`search_issues(jql, expand='changelog', maxResults=False)`, which the
client reads page after page, each page waiting for the one before (on
Cloud: `/search/jql`, 100 issues a page, by nextPageToken).  That fetch is
reproduced here with the same client against the same fake Jira; it reads
every field (the client's default) where align-sync asks for the ones it
uses, and the fake's issues carry no change history, so its pages are
smaller than a real Jira's would be: the comparison flatters it.
align-sync's figure is a whole first sync into a new Google spreadsheet
(fetch, score, write), against a fetch alone.

Then the same first sync one request at a time (`workers: 1`, no latency:
the answer cannot depend on it), and the two spreadsheets compared: every
visible tab's values and formats, digested by the fake (`/_sheet`).

Each part runs in a child process of its own, so its peak RSS is its own.

    python tests/bench/bench_side_by_side.py            # 10,000 issues
    JIRA_MS=1000 python tests/bench/bench_side_by_side.py 2000
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import requests  # noqa: E402

from tests.bench.bench_core import NOW  # noqa: E402
from tests.bench.bench_jira_sheets import bench_config, start_server  # noqa: E402
from tests.bench.fake_server import route_google_here  # noqa: E402

JIRA_MS = float(os.environ.get("JIRA_MS", "600"))
SHEETS_MS = float(os.environ.get("SHEETS_MS", "300"))


def align_sync(n: int, workers: int, latency: bool) -> dict:
    from sync.worker.engine import run_once
    from sync.worker.intake import Setup
    from sync.worker.log import Redactor, configure
    from sync.worker.runtime import Runtime
    from sync.worker.state import State
    from sync.worker.workspace import build_sink, build_sources

    configure(Redactor(), level=30)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        server, port = start_server(n, tmp, *((JIRA_MS, SHEETS_MS) if latency else (0, 0)))
        try:
            base = f"http://127.0.0.1:{port}"
            route_google_here(port)
            config = bench_config(tmp, base, requests.get(f"{base}/_stats", timeout=30).json()["sheet_id"])
            config = config.model_copy(update={"source": config.source.model_copy(update={"workers": workers})})
            state = State(tmp / "state.db")
            requests.post(f"{base}/_reset", timeout=30)
            runtime = Runtime()
            t0, cpu0 = time.perf_counter(), time.process_time()
            result = run_once(Setup(config, build_sources(config, runtime), build_sink(config, runtime)), state, NOW)
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            state.close()
            got = requests.get(f"{base}/_stats", timeout=30).json()
            sheet = requests.get(f"{base}/_sheet", timeout=300).json()
            return {"wall": wall, "cpu": cpu, "tickets": result.tickets, "jira": got["jira"],
                    "sheets": got["sheets"], "peak": got["peak"], "sheet": sheet}
        finally:
            server.kill()
            server.wait(timeout=30)


def agile_metrics(n: int) -> dict:
    """The fetch as jira-agile-metrics makes it, with the real `jira` client."""
    from jira import JIRA
    with tempfile.TemporaryDirectory() as name:
        server, port = start_server(n, Path(name), JIRA_MS, SHEETS_MS)
        try:
            base = f"http://127.0.0.1:{port}"
            requests.post(f"{base}/_reset", timeout=30)
            t0, cpu0 = time.perf_counter(), time.process_time()
            jira = JIRA(f"{base}/jira", basic_auth=("bench@acme.test", "t0k3n-bench"))
            jira.fields()                                   # once to resolve names,
            {f["id"]: f["name"] for f in jira.fields()}     # and again for their names
            issues = jira.search_issues("project = GROW", expand="changelog", maxResults=False)
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            got = requests.get(f"{base}/_stats", timeout=30).json()
            return {"wall": wall, "cpu": cpu, "tickets": len(issues), "jira": got["jira"], "peak": got["peak"]}
        finally:
            server.kill()
            server.wait(timeout=30)


def child(part: str, n: int) -> None:
    got = {"parallel": lambda: align_sync(n, 8, True), "sequential": lambda: align_sync(n, 1, False),
           "agile-metrics": lambda: agile_metrics(n)}[part]()
    got["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(got), flush=True)


def run(part: str, n: int) -> dict:
    out = subprocess.run([sys.executable, __file__, part, str(n)], env={**os.environ, "BENCH_CHILD": "1"},
                         check=True, timeout=3600, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    args = sys.argv[1:]
    if os.environ.get("BENCH_CHILD"):
        return child(args[0], int(args[1]))
    n = int(next((a for a in args if a.isdigit()), 10_000))
    print(f"side by side, {n:,} issues; latency: Jira {JIRA_MS:.0f} ms, Sheets {SHEETS_MS:.0f} ms per request",
          flush=True)
    ours = run("parallel", n)
    print(f"  align-sync first sync into Sheets (workers 8): wall {ours['wall']:.1f}s (CPU {ours['cpu']:.1f}s), "
          f"{ours['tickets']} tickets, Jira {ours['jira']} requests (at most {ours['peak']} at once), "
          f"Sheets {ours['sheets']} requests, peak RSS {ours['rss']:.0f} MB", flush=True)
    theirs = run("agile-metrics", n)
    print(f"  jira-agile-metrics' fetch alone (search_issues, maxResults=False): wall {theirs['wall']:.1f}s "
          f"(CPU {theirs['cpu']:.1f}s), {theirs['tickets']} issues, Jira {theirs['jira']} requests "
          f"(at most {theirs['peak']} at once), peak RSS {theirs['rss']:.0f} MB", flush=True)
    one = run("sequential", n)
    same = one["sheet"]["sha256"] == ours["sheet"]["sha256"] and one["tickets"] == ours["tickets"]
    print(f"  one request at a time (workers 1): {one['tickets']} tickets, Jira {one['jira']} requests; "
          f"the two spreadsheets {'are identical' if same else 'DIFFER'} "
          f"({ours['sheet']['cells']:,} formatted cells, rows {ours['sheet']['rows']})", flush=True)
    if not same:
        print("  tabs that differ:", [t for t in ours["sheet"]["tabs"] if ours["sheet"]["tabs"][t] != one["sheet"]["tabs"].get(t)])
        raise SystemExit("the parallel sync's spreadsheet differs from the sequential one's")


if __name__ == "__main__":
    main()
