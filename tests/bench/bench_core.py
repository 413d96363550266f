"""Benchmark of the offline core: synthetic tickets × 50 levers through
map + score + warnings + tables.  Prints seconds per phase and peak RSS.

    python tests/bench/bench_core.py            # 1k, 10k, 100k
    python tests/bench/bench_core.py 100000     # one size

Each size runs in a child process, so peak RSS is that size's own.
Target (issue 2): 100k tickets in ≤ 3 s and ≤ 400 MB on a 2-core machine.
"""
from __future__ import annotations

import random
import resource
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)


def make_config():
    from sync.core.config import Config
    outcomes = []
    for o in range(10):
        levers = []
        for i in range(5):
            n = o * 5 + i
            # A realistic mix: mostly exact labels/components, some globs and regexes.
            match = [{"labels": [f"lever-{n}", f"alt-{n}"]}]
            if n % 5 == 1:
                match = [{"components": [f"Comp {n}"]}, {"labels": [f"fam{n}-*"]}]
            if n % 10 == 7:
                match.append({"title": f"(?i)initiative {n}\\b"})
            levers.append({"id": f"l{n}", "name": f"Lever {n}", "impact": 5, "effort": 3,
                           "match": match})
        outcomes.append({"id": f"o{o}", "name": f"Outcome {o}", "metric": f"m{o}", "baseline": 0,
                         "target": 10, "start": "2026-10-01", "deadline": "2026-12-31",
                         "owner": "Owner", "levers": levers})
    return Config.model_validate({
        "source": {"type": "file", "path": "x"}, "sink": {"type": "xlsx", "path": "x.xlsx"},
        "outcomes": outcomes, "ignore": [{"type": ["Sub-task"]}, {"labels": ["ktlo"]}]})


def make_tickets(n: int):
    from sync.core.model import Ticket
    rnd = random.Random(n)
    people = [f"Person {i}" for i in range(200)]
    out = []
    for i in range(n):
        pick = rnd.random()
        lever = rnd.randrange(50)
        labels = (f"lever-{lever}",) if pick < 0.6 else (f"fam{lever}-x",) if pick < 0.7 else ("misc",)
        out.append(Ticket(
            key=f"P-{i}", source="jira", title=f"Work item {i} initiative {lever}",
            type="Sub-task" if pick > 0.97 else "Task", status="In Progress", done=rnd.random() < 0.3,
            owner=rnd.choice(people) if rnd.random() < 0.9 else None,
            estimate=float(rnd.choice([1, 2, 3, 5])) if rnd.random() < 0.8 else None,
            labels=labels, components=(f"Comp {lever}",) if pick > 0.9 else (),
            description="Success metric: +5%" if rnd.random() < 0.5 else "",
            updated=NOW - timedelta(days=rnd.randrange(30)),
        ))
    return out


def run(n: int) -> None:
    from sync.core.assess.assessment import assess
    from sync.core.model import SheetInputs
    from sync.core.present.report import build
    from sync.core.assess.rules import RuleSet
    config = make_config()
    tickets = make_tickets(n)
    t0 = time.perf_counter()
    rules = RuleSet.compile(config)
    t1 = time.perf_counter()
    a = assess(tickets, config, [], NOW, rules)
    t2 = time.perf_counter()
    report = build(a, SheetInputs(), sources=["jira"], history_every=config.review.history_every)
    t3 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cells = sum(len(t.rows) * len(t.headers) for t in report.tables)
    print(f"{n:>7} tickets x {len(config.levers())} levers: compile {t1 - t0:.3f}s  "
          f"map+score+warnings {t2 - t1:.3f}s  tables {t3 - t2:.3f}s  total {t3 - t0:.3f}s  "
          f"peak RSS {rss:.0f} MB  ({len(a.warnings)} warnings, {cells} cells)")


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        run(int(sys.argv[2]))
        return
    sizes = [int(a) for a in sys.argv[1:]] or [1_000, 10_000, 100_000]
    for n in sizes:
        subprocess.run([sys.executable, __file__, "--child", str(n)], check=True)


if __name__ == "__main__":
    main()
