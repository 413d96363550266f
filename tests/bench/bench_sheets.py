"""Benchmark of the Google Sheets sink: N tickets written by the real gspread
+ google-auth clients to the strict Sheets fake (10 MiB bodies, 10M cells:
tests/fakes_sheets.py) on `responses`.  Syncs: a new spreadsheet; 15 minutes
later with no ticket changed; at 10k also 1% of tickets done and 20 new, and
20 tickets gone from the top of the table (every row below moves).  Prints
Sheets requests (which ones), the largest and the total request body, wall
time and peak RSS (each size in its own process; RSS includes the fake and
`responses`' copies of every body).

    python tests/bench/bench_sheets.py              # 10k, 50k, 100k
    python tests/bench/bench_sheets.py 15000        # one size
"""
from __future__ import annotations

import json
import random
import resource
import subprocess
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
from connectors.sheets.sink import SheetsSink  # noqa: E402
from sync.worker.engine import run_once  # noqa: E402
from sync.worker.intake import Setup  # noqa: E402
from sync.core.redact import Redactor  # noqa: E402
from sync.worker.log import configure  # noqa: E402
from sync.worker.state import State  # noqa: E402
from tests.bench.bench_core import NOW, make_config, make_tickets  # noqa: E402
from tests.fakes_sheets import FakeSheets  # noqa: E402


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        run(int(sys.argv[2]))
        return
    for n in [int(a) for a in sys.argv[1:]] or [10_000, 50_000, 100_000]:
        subprocess.run([sys.executable, __file__, "--child", str(n)], check=True)


def run(n: int) -> None:
    configure(Redactor(), level=30)
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
        syncs = [("new spreadsheet", NOW, tickets), ("15 min later", NOW + timedelta(minutes=15), tickets)]
        if n <= 10_000:
            syncs += [("1% done, 20 new", NOW + timedelta(minutes=30), moved),
                      ("20 left the top", NOW + timedelta(minutes=45), moved[20:])]
        for label, now, batch in syncs:
            rsps.calls.reset()
            fake_before = fake.seconds
            t0 = time.perf_counter()
            run_once(Setup(config, [MemorySource("jira", batch)], SheetsSink(config.sink)), state, now)
            seconds = time.perf_counter() - t0
            in_fake = fake.seconds - fake_before
            bodies = [len(c.request.body or b"") for c in rsps.calls]
            received = sum(len(c.response.content or b"") for c in rsps.calls if c.response is not None)
            calls = fake.sheet_calls()
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            kinds = ", ".join(f"{calls.count(k)}x {k.split(' ')[1].replace(fake.id, '') or 'metadata'}"
                              for k in dict.fromkeys(calls))
            print(f"{n:>6} {label:>16}: {len(calls)} Sheets requests ({kinds}; +{fake.tokens - tokens} token), "
                  f"largest {max(bodies) / 1e6:.2f} MB, sent {sum(bodies) / 1e6:.2f} MB, "
                  f"received {received / 1e6:.2f} MB, client {seconds - in_fake:.2f}s (+{in_fake:.2f}s in the fake), "
                  f"peak RSS {rss:.0f} MB, "
                  f"sheet cells {fake.cells_total()}")
            tokens = fake.tokens
        state.close()


if __name__ == "__main__":
    main()
