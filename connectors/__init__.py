"""The built-in connectors.  Each module owns its config model, its factory
and its `check` probe and registers them under its type name; `register`
is this package's entry point (`align_sync.connectors` in pyproject.toml).
Adding a tracker or a sink: one module, and one line in MODULES.
"""
from __future__ import annotations

import importlib

MODULES = ("files.source", "jira.source", "trello.source", "sheets.sink", "xlsx.sink", "notify.deliver",
           "notify.alert", "metrics.sql", "metrics.csvjson", "metrics.sheets")


def register(registry) -> None:
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}").register(registry)
