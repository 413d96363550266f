"""Jira Cloud → Google Sheets end to end (issue 15): N issues served by the
Jira fake to the real `jira` client, written by the real gspread and
google-auth clients to the strict Sheets fake.  A first sync into a new
spreadsheet, then a quiet re-sync 15 minutes later (incremental Jira
search, nothing changed).

The fakes run in a process of their own (tests/bench/fake_server.py, over
HTTP on loopback), so the peak RSS printed is align-sync's process alone
(interpreter, libraries, the sync), and client time is wall time minus the
time the server spent answering.

    python tests/bench/bench_jira_sheets.py            # 10k
    python tests/bench/bench_jira_sheets.py 50000
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import requests  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from sync.worker.engine import run_once  # noqa: E402
from sync.worker.intake import Setup  # noqa: E402
from sync.core.redact import Redactor  # noqa: E402
from sync.worker.log import configure  # noqa: E402
from sync.worker.runtime import Runtime  # noqa: E402
from sync.worker.state import State  # noqa: E402
from sync.worker.workspace import build_sink, build_sources  # noqa: E402
from tests.bench.bench_core import NOW, make_config  # noqa: E402
from tests.bench.fake_server import route_google_here  # noqa: E402

HERE = Path(__file__).resolve().parent


def start_server(n: int, tmp: Path, jira_ms: float = 0, sheets_ms: float = 0) -> tuple[subprocess.Popen, int]:
    port_file = tmp / "port"
    server = subprocess.Popen([sys.executable, str(HERE / "fake_server.py"), str(n), str(port_file),
                               str(jira_ms), str(sheets_ms)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ends = time.monotonic() + 120
    while time.monotonic() < ends:
        if port_file.exists() and port_file.read_text().strip():
            return server, int(port_file.read_text())
        if server.poll() is not None:
            raise SystemExit(f"fake server exited: {server.stderr.read().decode()[-2000:]}")
        time.sleep(0.1)
    server.kill()
    raise SystemExit("fake server did not start within 120 s")


def main() -> None:
    n = int(next((a for a in sys.argv[1:] if a.isdigit()), 10_000))
    configure(Redactor(), level=30)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        server, port = start_server(n, tmp)
        try:
            run(n, tmp, port)
        finally:
            server.kill()
            server.wait(timeout=30)


def bench_config(tmp: Path, base: str, sheet_id: str):
    """Jira Cloud at the fake server into its spreadsheet, with a fresh
    service-account key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    key_file = tmp / "sa.json"
    key_file.write_text(json.dumps({"type": "service_account", "private_key": key,
                                    "client_email": "bench@p.iam.gserviceaccount.com",
                                    "token_uri": "https://oauth2.googleapis.com/token"}))
    data = make_config().model_dump(mode="json")
    data["source"] = {"type": "jira", "url": f"{base}/jira", "jql": "project = GROW",
                      "auth": {"email": "bench@acme.test", "token": "t0k3n-bench"},
                      "fields": {"estimate": "Story point estimate"}}
    data["sink"] = {"type": "google_sheets", "spreadsheet": sheet_id, "credentials": str(key_file)}
    return type(make_config()).model_validate(data)


def run(n: int, tmp: Path, port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    route_google_here(port)
    stats = lambda: requests.get(f"{base}/_stats", timeout=30).json()  # noqa: E731
    config = bench_config(tmp, base, stats()["sheet_id"])
    state = State(tmp / "state.db")
    print(f"{n:>6} before a sync: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
          "(interpreter and libraries)", flush=True)
    for label, now in (("first sync", NOW), ("quiet re-sync", NOW + timedelta(minutes=15))):
        requests.post(f"{base}/_reset", timeout=30)
        runtime = Runtime()
        sources, sink = build_sources(config, runtime), build_sink(config, runtime)
        t0 = time.perf_counter()
        run_once(Setup(config, sources, sink), state, now)
        wall = time.perf_counter() - t0
        got = stats()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{n:>6} {label:>13}: client {wall - got['seconds']:.2f}s (wall {wall:.2f}s, fakes "
              f"{got['seconds']:.2f}s), Jira {got['jira']} requests, Sheets {got['sheets']} requests, "
              f"peak RSS {rss:.0f} MB", flush=True)
    state.close()


if __name__ == "__main__":
    main()
