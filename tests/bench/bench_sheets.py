"""Benchmark of the Google Sheets sink: N tickets (default 10k) written by
the real gspread + google-auth clients to a mocked Sheets API (responses).
Four syncs: a new spreadsheet; 15 minutes later with no ticket changed; 1%
of tickets done and 20 new; 20 tickets gone from the top of the table (the
worst case: every row below moves).  Prints requests, payload bytes, wall time and
peak RSS.

    python tests/bench/bench_sheets.py [N]
"""
from __future__ import annotations

import json
import random
import resource
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import responses  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from connectors.memory import MemorySource  # noqa: E402
from connectors.sheets import SheetsSink  # noqa: E402
from sync.engine import run_once  # noqa: E402
from sync.log import configure  # noqa: E402
from sync.state import State  # noqa: E402
from tests.bench.bench_core import NOW, make_config, make_tickets  # noqa: E402
from tests.fakes_sheets import FakeSheets  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    configure(level=30)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    with tempfile.TemporaryDirectory() as tmp, \
            responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeSheets(rsps)
        key_file = Path(tmp) / "sa.json"
        key_file.write_text(json.dumps({"type": "service_account", "private_key": key,
                                        "client_email": "bench@p.iam.gserviceaccount.com",
                                        "token_uri": "https://oauth2.googleapis.com/token"}))
        base = make_config().model_dump(mode="json")
        base["sink"] = {"type": "google_sheets", "spreadsheet": fake.id, "credentials": str(key_file)}
        config = type(make_config()).model_validate(base)
        # Real tickets link to themselves (the URL column and the key's link),
        # and were updated at any minute, not all on the hour.
        rnd = random.Random(7)
        tickets = [replace(t, url=f"https://acme.atlassian.net/browse/{t.key}",
                           updated=t.updated - timedelta(minutes=rnd.randrange(1440)))
                   for t in make_tickets(n)]
        moved = [replace(t, status="Done", done=True) if i % 100 == 7 else t for i, t in enumerate(tickets)]
        moved += [replace(t, key=f"P-{n + i}", url=f"https://acme.atlassian.net/browse/P-{n + i}")
                  for i, t in enumerate(tickets[:20])]
        state = State(Path(tmp) / "state.db")
        tokens = 0
        for label, now, batch in (("new spreadsheet", NOW, tickets),
                                  ("15 min later", NOW + timedelta(minutes=15), tickets),
                                  ("1% done, 20 new", NOW + timedelta(minutes=30), moved),
                                  ("20 left the top", NOW + timedelta(minutes=45), moved[20:])):
            rsps.calls.reset()
            t0 = time.perf_counter()
            run_once(config, [MemorySource("jira", batch)], SheetsSink(config.sink), state, now)
            seconds = time.perf_counter() - t0
            sent = sum(len(c.request.body or b"") for c in rsps.calls)
            received = sum(len(c.response.content or b"") for c in rsps.calls)
            calls = fake.sheet_calls()
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{label:>16}: {len(batch)} tickets, {len(calls)} Sheets requests {calls} (+{fake.tokens - tokens} token), "
                  f"sent {sent / 1e6:.2f} MB, received {received / 1e6:.2f} MB, {seconds:.2f}s, "
                  f"peak RSS {rss:.0f} MB, sheet cells {fake.cells_total()}")
            tokens = fake.tokens
        state.close()


if __name__ == "__main__":
    main()
