"""Shared test helpers: a fixed `now`, a small config, a ticket factory."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sync.core.config import Config
from sync.core.model import Reading, Ticket
from sync.worker.engine import RunResult, run_once
from sync.worker.intake import Setup

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session", autouse=True)
def demo_warehouse():
    """The demo's metric source (config/demo/warehouse.db), built from its CSV
    as `make demo` builds it, before any test runs the demo config."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("demo_warehouse", ROOT / "config/demo/warehouse.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build()


def demo_yaml() -> str:
    """config/demo.yaml with its data files' paths absolute (in the file they
    are relative to the config's folder), for a copy written elsewhere."""
    text = (ROOT / "config" / "demo.yaml").read_text(encoding="utf-8")
    for name in ("jira-search.json", "metrics.csv", "history.csv"):
        text = text.replace(f" demo/{name}", f" {ROOT / 'config' / 'demo' / name}")
    return text


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def base_config(**overrides) -> dict:
    data = {
        "source": {"type": "file", "path": "x.json"},
        "sink": {"type": "xlsx", "path": "out.xlsx"},
        "review": {"cadence": "7d", "max_goals_per_person": 2, "levers_per_outcome": [1, 3]},
        "outcomes": [
            {"id": "conv", "name": "Conversion", "metric": "conv_rate", "baseline": 6, "target": 8,
             "start": "2026-10-01", "deadline": "2026-12-31", "owner": "Dana",
             "guardrails": [{"metric": "churn", "max": 3}],
             "levers": [
                 {"id": "emails", "name": "Emails", "impact": 8, "effort": 4, "confidence": 0.5,
                  "match": {"labels": ["onboarding-email", "lifecycle*"]}},
                 {"id": "pricing", "name": "Pricing", "impact": 6, "effort": 3,
                  "match": [{"components": ["Pricing"]}, {"title": "(?i)price test"}]},
             ]},
            {"id": "act", "name": "Activation", "metric": "act_rate", "baseline": 35, "target": 45,
             "start": "2026-10-01", "deadline": "2026-12-31", "owner": "Priya",
             "levers": [
                 {"id": "wizard", "name": "Wizard", "match": {"components": ["Setup wizard"]}},
                 {"id": "docs", "name": "Docs", "match": {"text": "(?i)tutorial", "type": ["Story"]}},
             ]},
        ],
        "ignore": [{"type": ["Sub-task"]}, {"labels": ["ktlo"]}],
    }
    data.update(overrides)
    return data


def make_config(**overrides) -> Config:
    return Config.model_validate(base_config(**overrides))


def ticket(key: str = "T-1", **kw) -> Ticket:
    defaults = dict(source="jira", title=f"ticket {key}", type="Task", status="In Progress",
                    owner="Ann", estimate=2.0, updated=NOW - timedelta(days=1),
                    acceptance="metric: +5%")
    defaults.update(kw)
    return Ticket(key=key, **defaults)


def reading(day: str, metric: str, value: float) -> Reading:
    return Reading(datetime.fromisoformat(day).replace(tzinfo=timezone.utc), metric, value)


@pytest.fixture
def config() -> Config:
    return make_config()


@pytest.fixture(autouse=True)
def process_wide_settings():
    """What one test changes for the whole process is put back after it: the
    log configuration a command run in-process sets (a one-off command logs
    warnings only, which hid a later test's info lines), the root logger's
    handlers and level, and the recursion limit (a test that walks the import
    graph raises it, which let a later test's 400-deep description be read)."""
    import logging
    import sys

    import structlog
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level, limit = root.handlers[:], root.level, sys.getrecursionlimit()
    yield
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)
    sys.setrecursionlimit(limit)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    """Retries run at once; the waits they asked for are recorded."""
    from connectors import retry
    slept: list[float] = []
    monkeypatch.setattr(retry, "sleep", lambda seconds, stop=None: slept.append(seconds))
    return slept


def sync_over(config: Config, sources: list, sink, state, now: datetime, *, dry_run: bool = False,
              force: bool = False, next_sync: datetime | None = None, **setup) -> RunResult:
    """One sync (`engine.run_once`) over connectors the test built, the memory
    fakes mostly; `setup`: the rest of its Setup (notifiers, telemetry,
    metric_sources...), none unless given."""
    return run_once(Setup(config, sources, sink, **setup), state, now, dry_run=dry_run, force=force,
                    next_sync=next_sync)
