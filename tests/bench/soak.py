"""Soak: the daemon at `every: 1s` for a while against in-process fakes (Jira
Cloud → Google Sheets, the real jira / gspread / google-auth clients on
`responses`), with a share of requests faulted: 429, 500, connection reset,
read timeout.  Prints syncs, failed syncs, faults injected, and RSS, open fds
and threads at the start and the end (they must stay flat).

    python tests/bench/soak.py              # 600 s, 5% faults
    python tests/bench/soak.py 60 0.05      # seconds, fault rate

Retry waits are skipped (the fakes answer at once), so a second holds many
requests; a sync fails only when one request draws a fault on every attempt.
"""
from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import requests  # noqa: E402
import responses  # noqa: E402
import yaml  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sample() -> dict:
    return {"rss_mb": round(rss_mb(), 1), "fds": len(os.listdir("/proc/self/fd")),
            "threads": threading.active_count()}


class Faults:
    """Wraps every registered callback: `rate` of the calls get a fault."""

    def __init__(self, rate: float, seed: int = 7):
        self.rate = rate
        self.random = random.Random(seed)
        self.injected: dict[str, int] = {}

    def wrap(self, callback):
        def faulty(request):
            if self.random.random() < self.rate:
                kind = self.random.choice(["429", "500", "reset", "timeout"])
                self.injected[kind] = self.injected.get(kind, 0) + 1
                if kind == "429":
                    return 429, {"Retry-After": "1"}, json.dumps({"error": {"code": 429, "message": "slow down"}})
                if kind == "500":
                    return 500, {}, json.dumps({"error": {"code": 500, "message": "Internal error"}})
                if kind == "reset":
                    raise requests.exceptions.ConnectionError("Connection reset by peer")
                raise requests.exceptions.ReadTimeout("Read timed out. (read timeout=30)")
            return callback(request)
        return faulty


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 600.0
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 0.05
    from connectors import retry
    from sync.core.redact import Redactor
    from sync.worker import log as logsetup
    from sync.worker.serve.fleet import Fleet
    from sync.worker.serve.roster import Roster
    from sync.worker.workspace import Workspace
    from tests.conftest import NOW, base_config
    from tests.fakes import FakeJira, make_issues
    from tests.fakes_sheets import FakeSheets

    # The fakes answer at once: retry waits are cut short, but real, so the
    # shared write pacing (50 a minute per account) sleeps rather than spins.
    retry.sleep = lambda s, stop=None: time.sleep(min(s, 0.05))
    real_stdout = sys.stdout
    sys.stdout = open(os.devnull, "w")           # the daemon's JSON lines
    logsetup.configure(Redactor(), json_lines=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    faults = Faults(rate)
    with tempfile.TemporaryDirectory() as tmp, \
            responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        key_file = Path(tmp) / "sa.json"
        key_file.write_text(json.dumps({"type": "service_account", "private_key": key,
                                        "client_email": "soak@p.iam.gserviceaccount.com",
                                        "token_uri": "https://oauth2.googleapis.com/token"}))
        jira = FakeJira(rsps, make_issues(300, NOW))
        sheets = FakeSheets(rsps)
        for match in rsps.registered():
            if isinstance(match, responses.CallbackResponse):
                match.callback = faults.wrap(match.callback)
        config = yaml.safe_dump(base_config(
            source={"type": "jira", "url": "https://acme.atlassian.net",
                    "auth": {"email": "ops@acme.test", "token": "soak-token"}, "jql": "project = GROW",
                    "fields": {"estimate": "Story point estimate"}, "full_refresh": "1m"},
            sink={"type": "google_sheets", "spreadsheet": sheets.id, "credentials": str(key_file)},
            schedule={"every": "1s"}, state=str(Path(tmp) / "state.db")))
        (Path(tmp) / "soak.yaml").write_text(config)
        ws = Workspace(Path(tmp) / "soak.yaml")
        daemon = Fleet(Roster([ws]))          # `run --config`: a fleet of one
        failures = []
        seen = 0
        deadline = time.monotonic() + seconds

        def observed(fleet) -> bool:
            """Between two syncs (the loop turns when one ends): note the last one."""
            nonlocal seen
            if daemon.syncs == seen:
                return time.monotonic() > deadline
            seen = daemon.syncs
            (member,) = daemon.members.values()
            if member.last_error:
                failures.append(member.last_error)
            # The mock's and the fakes' own records of every call grow without
            # end; they are the harness, not align-sync, so they are dropped.
            rsps.calls.reset()
            for match in rsps.registered():      # responses also records calls per mock
                match.calls.reset()
            sheets.batches.clear(), sheets.value_writes.clear(), jira.jqls.clear()
            if daemon.syncs == 5:
                samples["start"] = sample()
            elif daemon.syncs % 100 == 0:
                samples[f"sync {daemon.syncs}"] = sample()
            return time.monotonic() > deadline
        samples: dict[str, dict] = {}
        started = time.monotonic()
        daemon.loop(until=observed)
        elapsed = time.monotonic() - started
        samples["end"] = sample()
        samples = {k: samples[k] for k in ["start"] + [k for k in samples if k not in ("start", "end")] + ["end"]
                   if k in samples}
    sys.stdout.close()
    sys.stdout = real_stdout
    print(f"soak: {elapsed:.0f}s at every: 1s, fault rate {rate:.0%}")
    print(f"  syncs {daemon.syncs}, failed {len(failures)}, faults injected "
          f"{sum(faults.injected.values())} {dict(sorted(faults.injected.items()))}")
    for when, s in samples.items():
        print(f"  {when:9}: RSS {s.get('rss_mb')} MB, open fds {s.get('fds')}, threads {s.get('threads')}")
    for reason in sorted(set(failures))[:5]:
        print(f"  failed: {reason[:160]}")


if __name__ == "__main__":
    main()
