"""Builds the configured sources and sink.  The only module that knows every
connector; `sync/` never imports from here except through the CLI."""
from __future__ import annotations

from pathlib import Path

from sync.config import Config


def build_sources(config: Config, base_dir: Path | None = None) -> list:
    sources = []
    for sc in config.source_list():
        if sc.type == "file":
            from .files import FileSource
            sources.append(FileSource(sc, sc.name, base_dir))
        elif sc.type == "jira":
            from .jira import JiraSource
            sources.append(JiraSource(sc, sc.name))
        elif sc.type == "trello":
            from .trello import TrelloSource
            sources.append(TrelloSource(sc, sc.name))
    return sources


def build_sink(config: Config, base_dir: Path | None = None):
    if config.sink.type == "xlsx":
        from .xlsx import XlsxSink
        return XlsxSink(config.sink, base_dir)
    from .sheets import SheetsSink
    return SheetsSink(config.sink)
