"""Scale of `--workspaces` (issue 13): W workspaces × N tickets in one
process, one full round of the fleet (every workspace synced once).

    python tests/bench/bench_workspaces.py             # 200 x 1000, both kinds
    python tests/bench/bench_workspaces.py 50 1000     # W, N

Two kinds, each in its own process (peak RSS is that kind's own):
- files: a saved Jira search export per workspace → an .xlsx per workspace;
- jira: Jira Cloud → Google Sheets through the real clients on `responses`,
  4 Jira hosts (a bot account each, shared by their workspaces) and 20
  service accounts.  Prints the round's wall time, peak RSS, RSS after the
  round (no workspace keeps its tickets; in the jira kind the in-process
  fakes hold every spreadsheet's cells, so that RSS is theirs too), and the
  busiest second per host.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import yaml  # noqa: E402

from tests.bench.soak import rss_mb  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def configs(tmp: Path, w: int, n: int, kind: str, keys: list[Path]) -> Path:
    from tests.conftest import NOW, base_config
    from tests.fakes import make_issues
    folder = tmp / "workspaces"
    folder.mkdir()
    export = tmp / "export.json"
    if kind == "files":
        export.write_text(json.dumps({"issues": make_issues(n, NOW)}))
    for i in range(w):
        if kind == "files":
            source = {"type": "file", "path": str(export), "fields": {"estimate": "customfield_10016"}}
            sink = {"type": "xlsx", "path": str(tmp / "out" / f"team{i}.xlsx")}
        else:
            source = {"type": "jira", "url": f"https://jira{i % 4}.example.net", "jql": f"project = T{i}",
                      "auth": {"email": f"bot@jira{i % 4}.example.net", "token": f"token-{i % 4}-secret"},
                      "fields": {"estimate": "Story point estimate"}}
            sink = {"type": "google_sheets", "spreadsheet": f"1sheet{i}", "credentials": str(keys[i % len(keys)])}
        data = base_config(source=source, sink=sink, state=str(tmp / "state" / f"team{i}.db"),
                           schedule={"every": "1h"})
        (folder / f"team{i}.yaml").write_text(yaml.safe_dump(data))
    return folder


class Hits:
    """Time of every request, per host: the busiest second of each."""

    def __init__(self):
        self.stamps: dict[str, list[float]] = defaultdict(list)
        self.lock = threading.Lock()

    def wrap(self, callback):
        def recorded(request):
            with self.lock:
                self.stamps[urlparse(request.url).hostname].append(time.monotonic())
            return callback(request)
        return recorded

    def busiest(self) -> dict[str, int]:
        out = {}
        for host, stamps in self.stamps.items():
            per_second = Counter(int(s) for s in stamps)
            out[host] = max(per_second.values())
        return out


def run(kind: str, w: int, n: int) -> None:
    import responses
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from connectors import retry
    from sync.worker import log as logsetup
    from sync.worker.serve.fleet import Fleet
    from sync.worker.serve.roster import FolderRoster
    from sync.worker.workspace import Process
    from tests.conftest import NOW
    from tests.fakes import FakeJira, make_issues
    from tests.fakes_sheets import FakeSheets

    retry.sleep = lambda s, stop=None: time.sleep(min(s, 0.05))
    real_stdout = sys.stdout
    sys.stdout = open(os.devnull, "w")
    process = Process()
    logsetup.configure(process.redactor, json_lines=True)
    with tempfile.TemporaryDirectory() as tmp_name, \
            responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        tmp = Path(tmp_name)
        keys: list[Path] = []
        if kind == "jira":
            for a in range(20):
                pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption()).decode()
                keys.append(tmp / f"sa{a}.json")
                keys[-1].write_text(json.dumps({"type": "service_account", "private_key": pem,
                                                "client_email": f"sa{a}@p.iam.gserviceaccount.com",
                                                "token_uri": "https://oauth2.googleapis.com/token"}))
            issues = make_issues(n, NOW)
            for h in range(4):
                FakeJira(rsps, issues, url=f"https://jira{h}.example.net")
            for i in range(w):
                FakeSheets(rsps, sheet_id=f"1sheet{i}")
        folder = configs(tmp, w, n, kind, keys)
        hits = Hits()
        for match in rsps.registered():
            if isinstance(match, responses.CallbackResponse):
                match.callback = hits.wrap(match.callback)
        before = rss_mb()
        fleet = Fleet(FolderRoster(folder, process), slots=int(os.environ.get("ALIGN_SYNC_CONCURRENCY", "2")), timeout=3600)
        fleet.tick_seconds = 0.05
        started = time.monotonic()

        def done(f):
            rsps.calls.reset()          # the mock's records of calls, not the workspaces'
            for match in rsps.registered():
                match.calls.reset()
            return all(m.syncs >= 1 for m in f.members.values())
        fleet.loop(until=done)
        seconds = time.monotonic() - started
        failed = [f"{m.name}: {(m.last_error or m.problem)[:200]}" for m in fleet.members.values()
                  if m.last_error or m.problem]
        import gc
        gc.collect()
        after = rss_mb()
    sys.stdout.close()
    sys.stdout = real_stdout
    busiest = hits.busiest()
    print(f"{kind:>5}: {w} workspaces x {n} tickets, one round {seconds:.1f}s "
          f"({w * n / seconds:,.0f} tickets/s, concurrency {fleet.slots}), failed {len(failed)}, "
          f"peak RSS {peak_mb():.0f} MB, RSS before {before:.0f} MB / after the round {after:.0f} MB")
    for line in failed[:5]:
        print(f"       failed {line}")
    if busiest:
        print("       busiest second per host: " + ", ".join(f"{h} {c}" for h, c in sorted(busiest.items())))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        run(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    w = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    for kind in ("files", "jira"):
        subprocess.run([sys.executable, __file__, "--child", kind, str(w), str(n)], check=True)


if __name__ == "__main__":
    main()
