"""A workspace: one config file and everything built from it once — config,
sources, sink, notifiers, alerting, state path and lock, retry settings,
telemetry labels — on which every command runs (`run`, `run --once`,
`check`, `review`, `explain`).  It is the one handle the CLI, the daemon's
fleet and the one-off commands pass around: nothing takes its parts apart.

The process lends each workspace what workspaces share: the secret
`Redactor` (the log is the process's) and the rate `Limiters` (two teams on
one Jira with one account share its burst limit).
"""
from __future__ import annotations

import os
import sys
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime
from pathlib import Path

import structlog

from sync.worker import configfile
from sync.worker.alerting import Alerting
from sync.worker.intake import Setup
from sync.core.errors import AlignSyncError, describe
from sync.core.redact import Redactor
from sync.worker.progress import QUIET, Progress
from sync.worker.ratelimit import Limiters
from sync.core.registry import CONNECTORS
from sync.worker.runtime import DEFAULT_RETRY, RetrySettings, Runtime
from sync.worker.service import observed_sync
from sync.worker.state import State, StateLock


# Warnings a probe's own `check` line states too (Jira's "WARNING: plain http"):
# on a terminal that line is enough; a JSON log (a pipe, --log-format json) keeps the event.
STATED_BY_PROBES = ("jira_plain_http",)


@dataclass
class Process:
    """What one align-sync process holds for all its workspaces."""
    redactor: Redactor = field(default_factory=Redactor)
    limiters: Limiters = field(default_factory=Limiters)
    progress: Progress = QUIET
    json_lines: bool = False       # the log is JSON lines on stdout: no plain line may join it
    json_asked: bool = False       # `--log-format json` given: a command's own output as JSON too

    def say(self, line: str) -> None:
        """A line for a person: stdout, or stderr when stdout is a JSON stream."""
        print(line, file=sys.stderr if self.json_lines else sys.stdout)


def build_sources(config, runtime: Runtime) -> list:
    return [CONNECTORS.kind("source", sc.type).build(sc, sc.name, runtime)
            for sc in config.source_list()]


def build_sink(config, runtime: Runtime):
    return CONNECTORS.kind("sink", config.sink.type).build(config.sink, runtime)


class Workspace:
    """The one handle the CLI, the fleet and the one-off commands pass around."""

    def __init__(self, path: str | Path, process: Process | None = None, *,
                 retry: RetrySettings = DEFAULT_RETRY):
        path = Path(path)
        process = process or Process()
        config, secrets = configfile.load(path)
        process.redactor.add(secrets)
        runtime = Runtime(config.name or path.stem, path.resolve().parent, retry, process.limiters,
                          process.redactor, progress=process.progress)
        self._wire(path, process, config, runtime, build_sources(config, runtime),
                   build_sink(config, runtime))

    @classmethod
    def assemble(cls, config, sources: list, sink, *, process: Process | None = None,
                 name: str = "default", path: str | Path = "(in memory)") -> "Workspace":
        """A workspace over connectors built elsewhere (the memory fakes of the
        tests, a program embedding align-sync); the rest is built from `config`
        as for a file."""
        process = process or Process()
        ws = cls.__new__(cls)
        runtime = Runtime(name, Path.cwd(), DEFAULT_RETRY, process.limiters, process.redactor,
                          progress=process.progress)
        ws._wire(Path(path), process, config, runtime, sources, sink)
        return ws

    def _wire(self, path: Path, process: Process, config, runtime: Runtime, sources: list, sink) -> None:
        self.path, self.process, self.config, self.runtime = path, process, config, runtime
        self.name = runtime.workspace
        self.sources, self.sink = sources, sink
        for source in self.sources:
            if source.writeback:
                self.runtime.telemetry.declare_label_writes(source.name)
        self.notifiers = [CONNECTORS.kind("notify", t.type).build(t, self.runtime)
                          for t in config.review.notify]
        self.alerting = Alerting(config, self.runtime, self.sink.location)
        self.metric_sources = [CONNECTORS.kind("metric", m.type).build(m, self.runtime, self.sink)
                               for m in config.metrics]

    @property
    def telemetry(self):
        return self.runtime.telemetry

    @property
    def setup(self) -> Setup:
        """What a sync of this workspace runs on: the engine's `run_once`, and
        the commands that show what a sync would find, take it."""
        return Setup(self.config, self.sources, self.sink, self.name, redact=self.process.redactor,
                     notifiers=self.notifiers, telemetry=self.telemetry,
                     metric_sources=self.metric_sources)

    @cached_property
    def claims(self) -> list[tuple[str, str]]:
        """What no other workspace served beside it may share: its name, its
        state file and its sink (the same workbook, or the same spreadsheet)."""
        out = [("name", self.name), ("state file", os.path.realpath(self.config.state))]
        where = self.sink.location           # a spreadsheet's canonical URL, or a workbook's path
        if "://" in where:
            out.append(("spreadsheet", where))
        else:
            out.append(("sink file", os.path.realpath(where)))
        return out

    def lock(self) -> StateLock:
        return StateLock(self.config.state).acquire()

    def state(self, readonly: bool = False) -> State:
        return State(self.config.state, readonly=readonly)

    def sync_once(self, now: datetime, *, dry_run: bool = False, force: bool = False,
                  next_sync: datetime | None = None, locked: bool = False):
        """One observed sync under the state lock (a dry run takes none;
        `locked`: the caller holds it, as the fleet does while it serves)."""
        lock = None if dry_run or locked else self.lock()
        state = self.state(readonly=dry_run)
        try:
            return observed_sync(self, state, now, dry_run=dry_run, force=force, next_sync=next_sync)
        finally:
            state.close()
            if lock:
                lock.release()

    def request_stop(self) -> None:
        """The worker is stopping: a request of this workspace being retried
        ends its wait at once and is not tried again (its sync fails as
        interrupted; one not yet started runs as usual)."""
        self.runtime.stop.set()

    def check(self, now: datetime) -> list[tuple[str, str | None]]:
        """(label, None when fine, else the problem) for each source, the
        sink and each metric source (`metrics:`)."""
        out = []
        kinds = [(f"source {s.name}", s, CONNECTORS.kind("source", sc.type))
                 for s, sc in zip(self.sources, self.config.source_list())]
        sink_type = self.config.sink.type
        kinds.append((f"sink {sink_type}", self.sink, CONNECTORS.kind("sink", sink_type)))
        kinds += [(f"metrics {m.name}", m, CONNECTORS.kind("metric", mc.type))
                  for m, mc in zip(self.metric_sources, self.config.metrics)]
        stated = nullcontext() if self.process.json_lines else \
            structlog.contextvars.bound_contextvars(stated=STATED_BY_PROBES)
        with stated:
            for label, target, kind in kinds:
                try:
                    out.append((f"{label}: {kind.probe(target)}", None))
                except AlignSyncError as exc:     # a metric source's error names it already
                    out.append((label, describe(exc).removeprefix(f"{label}: ")))
        # Redacted like a log line: a probe may name what came from a secret
        # (a SQLite path taken from ${ENV} in a metric source's url).
        redact = self.process.redactor
        return [(redact(line), None if problem is None else redact(problem)) for line, problem in out]
