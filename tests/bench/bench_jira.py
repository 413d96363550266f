"""Benchmark of the Jira source: 10k issues through the real `jira` client
against a mocked Cloud (responses).  A full sync, then an incremental sync
with nothing changed.  Prints wall time, peak RSS and requests per endpoint.

    python tests/bench/bench_jira.py [N]

Budget: full = ceil(N/100) field requests (the first page, then bulk
fetches) + ceil(N/5000) id pages + ≤ 2 metadata; no-change incremental =
1 search + the id census.
"""
from __future__ import annotations

import math
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import responses  # noqa: E402

from connectors.jira.source import JiraSource  # noqa: E402
from connectors.jira.settings import JiraSourceConfig  # noqa: E402
from sync.worker.state import State  # noqa: E402
from tests.fakes import URL, FakeJira, make_issues  # noqa: E402

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    config = JiraSourceConfig.model_validate(dict(
        type="jira", url=URL, auth={"email": "bench@acme.test", "token": "t0k3n"},
        jql="project = GROW", fields={"estimate": "Story point estimate"}))
    with tempfile.TemporaryDirectory() as tmp, \
            responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeJira(rsps, make_issues(n, NOW - timedelta(days=30)))
        state = State(Path(tmp) / "state.db")
        for label, now in (("full", NOW), ("zone lookup", NOW + timedelta(minutes=15)),
                           ("no-change incremental", NOW + timedelta(minutes=30))):
            rsps.calls.reset()
            t0 = time.perf_counter()
            tickets = JiraSource(config, "jira").fetch(state, now)
            state.commit(now, now, len(tickets))
            seconds = time.perf_counter() - t0
            calls = dict(sorted(fake.calls().items()))
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{label:>22}: {len(tickets)} tickets in {seconds:.2f}s, peak RSS {rss:.0f} MB, "
                  f"requests {sum(calls.values())} {calls}")
        print(f"budget: full = {math.ceil(n / 100)} field requests + {math.ceil(n / 5000)} id page(s) "
              "+ <= 2 metadata; "
              f"no-change incremental = 1 search + ceil(N/5000) = {math.ceil(n / 5000)} census page(s)")
        state.close()


if __name__ == "__main__":
    main()
