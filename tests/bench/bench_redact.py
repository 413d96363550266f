"""Benchmark of the redactor (sync/core/redact.py): what one log line, one
Last error and one 64 KiB error body cost with 0, 10 and 50 secrets known
(each webhook URL adds its parts).  Prints microseconds per call.

    python tests/bench/bench_redact.py
"""
from __future__ import annotations

import base64
import random
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sync.core.redact import Redactor  # noqa: E402

LINE = '{"tickets": 1234, "in_scope": 1000, "seconds": 1.23, "event": "sync.done", "run_id": "b31e34a44d1b"}'
ERROR = ("source jira: Jira refused search (HTTP 403): Forbidden. Request headers: {'Authorization': 'Basic "
         + base64.b64encode(b"ops@acme.test:ATATT3xFfGF0-jira-secret-9f8e7d").decode() + "'}")


def per_call(redact, text: str, seconds: float = 0.5) -> float:
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        redact(text)
        n += 1
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    rnd = random.Random(7)
    body = "".join(rnd.choices(string.ascii_letters + string.digits + " \n:;,.=/&?", k=65536))
    for count in (0, 10, 50):
        secrets = ["".join(rnd.choices(string.ascii_letters + string.digits + "-_", k=32)) for _ in range(count)]
        secrets += [f"https://hooks.slack.com/services/T{i:08d}/B{i:08d}/{s[:24]}" for i, s in enumerate(secrets[:count // 5])]
        redact = Redactor(secrets)
        print(f"{count:3d} secrets: log line {per_call(redact, LINE):8.1f} µs, "
              f"error with a Basic header {per_call(redact, ERROR):8.1f} µs, "
              f"64 KiB body {per_call(redact, body) / 1000:8.1f} ms")


if __name__ == "__main__":
    main()
