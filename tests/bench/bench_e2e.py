"""End to end, as a user runs it (issue 15; issue 23 added creation dates and
Metrics readings, so Flow and the forecasts have work to do): `align-sync run --once --dry-run`
and `run --once` into xlsx (twice: a first and a second sync over the same
workbook) on a saved Jira search export of N synthetic issues × 50 levers.
Each command is its own process; prints wall time and its peak RSS.

    python tests/bench/bench_e2e.py               # 10k, 50k, 100k
    python tests/bench/bench_e2e.py 100000
    python tests/bench/bench_e2e.py --rich 10000   # every field of the fixture's issue
    REPEAT=1 python tests/bench/bench_e2e.py 10000
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


PEOPLE = [f"Person {i}" for i in range(40)]
STATUSES = [("To Do", "new"), ("In Progress", "indeterminate"), ("In Review", "indeterminate"),
            ("Done", "done")]


def lean_issue(i: int) -> dict:
    """A Cloud /search/jql issue with the fields align-sync asks for and no
    more (about 620 bytes: issue 15's 100k export is 62 MB)."""
    number = 100 + i
    pick = i % 10
    name, category = STATUSES[i % 4]
    who = PEOPLE[i % len(PEOPLE)]
    return {
        "id": str(20000 + i), "self": f"https://acme.atlassian.net/rest/api/3/issue/{20000 + i}",
        "key": f"GROW-{number}",
        "fields": {
            "summary": f"Work item {number}: improve step {i % 97}",
            "issuetype": {"name": "Story" if i % 3 else "Task"},
            "status": {"name": name, "statusCategory": {"key": category}},
            "assignee": None if i % 11 == 0 else {"displayName": who, "accountId": f"7120:{i % 40:08d}"},
            "labels": [f"lever-{i % 50}"] if pick < 7 else ["misc"],
            "components": [{"name": f"Comp {i % 50}"}] if pick == 9 else [],
            "project": {"key": "GROW", "name": "Growth"},
            "parent": {"key": f"GROW-{i % 40 + 1}", "fields": {"summary": f"Epic {i % 40}"}}
            if i % 4 == 0 else None,
            "customfield_10016": float(i % 8) if i % 6 else None,
            "updated": f"2026-11-{1 + i % 25:02d}T09:{i % 60:02d}:00.000+0000",
            "created": f"2026-10-{1 + i % 28:02d}T08:{i % 60:02d}:00.000+0000",    # Flow's lead time
            "resolutiondate": "2026-11-20T10:00:00.000+0000" if category == "done" else None,
            "description": {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
                {"type": "text", "text": "Success metric: CTR +5%" if i % 2 else "Context."}]}]},
        }}


def export(path: Path, n: int, rich: bool = False) -> None:
    """`rich`: every field of the realistic Cloud issue in tests/fixtures (2.3 kB each)."""
    if not rich:
        path.write_text(json.dumps({"issues": [lean_issue(i) for i in range(n)], "isLast": True}))
        return
    from datetime import timedelta
    from tests.conftest import NOW
    from tests.fakes import make_issues
    # One issue a minute, the last at NOW: none is dated past tomorrow (which
    # a sync reads as bad data: issue 21), as in a real export.
    issues = make_issues(n, NOW - timedelta(minutes=n))
    for i, issue in enumerate(issues):
        pick = i % 10
        issue["fields"]["labels"] = [f"lever-{i % 50}"] if pick < 7 else ["misc"]
        issue["fields"]["components"] = [{"name": f"Comp {i % 50}"}] if pick == 9 else []
    path.write_text(json.dumps({"issues": issues}))


def config(tmp: Path) -> Path:
    outcomes = []
    for o in range(10):
        levers = [{"id": f"l{o * 5 + i}", "name": f"Lever {o * 5 + i}", "impact": 5, "effort": 3,
                   "match": [{"labels": [f"lever-{o * 5 + i}"]}, {"components": [f"Comp {o * 5 + i}"]}]}
                  for i in range(5)]
        outcomes.append({"id": f"o{o}", "name": f"Outcome {o}", "metric": f"m{o}", "baseline": 0,
                         "target": 10, "start": "2026-10-01", "deadline": "2026-12-31", "owner": "Owner",
                         "levers": levers})
    # Ten weekly readings per outcome: every Scorecard row gets a forecast.
    seed = tmp / "metrics.csv"
    seed.write_text("Date,Metric,Value,Note\n" + "".join(
        f"2026-{10 + w // 5:02d}-{1 + (w % 5) * 6:02d},m{o},{o + w * 0.5 + (w % 3) * 0.2},\n"
        for o in range(10) for w in range(10)))
    data = {"source": {"type": "file", "path": str(tmp / "export.json"),
                       "fields": {"estimate": "customfield_10016"}},
            "sink": {"type": "xlsx", "path": str(tmp / "book.xlsx"), "metrics_seed": str(seed)},
            "state": str(tmp / "state.db"), "outcomes": outcomes}
    path = tmp / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def timed(args: list[str]) -> tuple[float, float]:
    """Wall seconds and the peak RSS (MB) of one align-sync command, run as
    users run it (the console script beside this interpreter)."""
    script = Path(sys.executable).parent / "align-sync"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "sync"]
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        child = subprocess.Popen(command + args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=errors)
        deadline = threading.Timer(1800, child.kill)       # a hung run ends the benchmark
        deadline.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)     # this child's own rusage
        finally:
            deadline.cancel()
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"{args}: exit {child.returncode}: {errors.read().decode()[-500:]}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    """Each command `REPEAT` times (the machine's speed wanders by a third
    from minute to minute): the best wall time, and the peak RSS of that run."""
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    rich = "--rich" in sys.argv
    if sys.argv[1:2] == ["--export"]:
        export(Path(args[0]), int(args[1]), rich)
        return
    repeat = int(os.environ.get("REPEAT", "3"))
    sizes = [int(a) for a in args] or [10_000, 50_000, 100_000]
    for n in sizes:
        with tempfile.TemporaryDirectory() as name:
            tmp = Path(name)
            # Written by a child: a parent holding 100k issues would be counted in
            # every command's peak RSS (a forked child starts with its pages).
            subprocess.run([sys.executable, __file__, "--export", str(tmp / "export.json"), str(n)]
                           + (["--rich"] if rich else []), check=True, timeout=900)
            path = str(config(tmp))
            size = os.path.getsize(tmp / "export.json") / 1e6
            dry = first = second = (float("inf"), 0.0)
            for _ in range(repeat):
                for leftover in (tmp / "book.xlsx", tmp / "state.db"):
                    leftover.unlink(missing_ok=True)
                dry = min(dry, timed(["run", "--once", "--dry-run", "--config", path]))
                first = min(first, timed(["run", "--once", "--config", path]))
                second = min(second, timed(["run", "--once", "--config", path]))
            print(f"{n:>7} issues ({size:.0f} MB export): dry run {dry[0]:.1f}s {dry[1]:.0f} MB | "
                  f"xlsx first {first[0]:.1f}s {first[1]:.0f} MB | xlsx second {second[0]:.1f}s "
                  f"{second[1]:.0f} MB  (best of {repeat})", flush=True)


if __name__ == "__main__":
    main()
