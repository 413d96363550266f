"""The built-in connectors.  Each module owns its config model, its factory
and its `check` probe and registers them under its type name; `register`
is this package's entry point (`align_sync.connectors` in pyproject.toml).

It declares each type with the module that registers it, and imports
none: a run imports only the connectors its config names (together
the others cost a tenth of a second and more at every start: requests,
sqlparse, each model's pydantic schema).  Adding a tracker or a sink: one
module, and its line in MODULES naming the (role, type) pairs its own
`register` adds (tests/test_startup.py checks the two agree).
"""
from __future__ import annotations

MODULES = {
    "files.source": (("source", "file"),),
    "jira.source": (("source", "jira"),),
    "trello.source": (("source", "trello"),),
    "sheets.sink": (("sink", "google_sheets"),),
    "xlsx.sink": (("sink", "xlsx"),),
    "notify.deliver": (("notify", "slack"), ("notify", "teams"), ("notify", "email")),
    "notify.alert": (("alert", "slack"), ("alert", "teams"), ("alert", "email")),
    "metrics.sql": (("metric", "sql"),),
    "metrics.csvjson": (("metric", "csv"), ("metric", "json")),
    "metrics.sheets": (("metric", "google_sheets"),),
}


def register(registry) -> None:
    for name, kinds in MODULES.items():
        for role, type_ in kinds:
            registry.declare(role, type_, f"{__name__}.{name}")
