"""What a workspace lends its connectors: retry settings, the process's rate
limiters and secret redactor, telemetry labelled with the workspace, and the
folder its config file is in, and its stop flag (set when the worker is
asked to stop: retries end their waits early).  Passed in, never read from a module global,
so workspaces in one process stay apart where they must (retry settings,
labels) and share what they must (limiters per host, the redactor).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from sync.core.redact import Redactor
from sync.worker.progress import QUIET, Progress
from sync.worker.ratelimit import Limiters
from sync.worker.telemetry import Telemetry


@dataclass(frozen=True)
class RetrySettings:
    attempts: int = 5             # per request
    max_seconds: float = 300.0    # one request's retries never outlast this


DEFAULT_RETRY = RetrySettings()
PROBE_RETRY = RetrySettings(attempts=2, max_seconds=30.0)   # `check`: a probe should answer fast


@dataclass
class Runtime:
    workspace: str = "default"
    base_dir: Path | None = None
    retry: RetrySettings = DEFAULT_RETRY
    limiters: Limiters = field(default_factory=Limiters)
    redactor: Redactor = field(default_factory=Redactor)
    telemetry: Telemetry | None = None
    progress: Progress = QUIET     # a person at a terminal sees long fetches move
    # Set by the daemon's stop request (never by the signal handler itself):
    # a retry's wait ends at once and the request is not tried again.
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self):
        if self.telemetry is None:
            self.telemetry = Telemetry(self.workspace)
