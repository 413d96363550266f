"""A Jira search response saved as JSON, turned into tickets as it is read
(`connectors.jira.export` parses the file; `Issues` receives each issue).

The config's `fields:` may name a field rather than give its id; the export
says which id has which name (its `names`).  When the names are known by the
first issue, the issues are converted in one pass; else a first pass learns
the names and a second converts.
"""
from __future__ import annotations

import re

from sync.core.errors import ConfigError
from sync.core.model import Ticket

from connectors import vocabulary
from connectors.jira.issue import JiraFieldIds, JiraFields, to_ticket

_FIELD_ID = re.compile(r"^customfield_\d+$")


class _NotYet(Exception):
    pass


def field_ids(fields: JiraFields, names: dict[str, str], present: set[str], where: str,
              final: bool = True) -> JiraFieldIds | None:
    """The ids behind `fields:`.  Not `final` (the first issue is read,
    more names may follow): None where a name cannot be resolved yet."""
    by_name = {v.strip().lower(): k for k, v in names.items()}

    def resolve(key: str, wanted: str | None) -> str | None:
        if not wanted:
            return None
        if wanted in present or wanted in names or _FIELD_ID.match(wanted):
            return wanted
        if wanted.strip().lower() in by_name:
            return by_name[wanted.strip().lower()]
        if not final:
            raise _NotYet()
        have = ", ".join(sorted(f"{v} ({k})" for k, v in names.items())) or \
            ", ".join(sorted(x for x in present if x.startswith("customfield_"))) or "none"
        raise ConfigError(f"{where}: fields.{key} {wanted!r} is not a field of this "
                          f"export; use a field id (fields seen: {have})")
    try:
        return JiraFieldIds(resolve("estimate", fields.estimate),
                            resolve("acceptance", fields.acceptance),
                            next((by_name[n] for n in vocabulary.EPIC_LINK_NAMES
                                  if n in by_name), None))
    except _NotYet:
        return None


class Issues:
    """Receives an export's issues as they are read (`jira_export.Reader`):
    with `ids` given, converts each; without, decides at the first issue
    from the names seen so far, and converts only if it could."""

    def __init__(self, fields: JiraFields, source: str, url: str, where: str,
                 ids: JiraFieldIds | None, step=None):
        self.fields = fields
        self.source = source            # the source's name, each ticket's `source`
        self.url = url
        self.where = where
        self.step = step
        self.seen = 0
        self.ids = ids
        self.decided = ids is not None
        self.names: dict[str, str] = {}
        self.present: set[str] = set()
        # The fields the issues hold matter only to resolve a wanted name;
        # wanted ids (or nothing wanted) resolve without them.
        self.track = any(w and not _FIELD_ID.match(w) for w in (fields.estimate, fields.acceptance))
        self.tickets: dict[str, Ticket] = {}

    def meta(self, key: str, value) -> None:
        if key == "names" and isinstance(value, dict):   # field id → name; anything else is no help
            self.names.update({k: str(v) for k, v in value.items() if v is not None})

    def issue(self, issue: dict) -> None:
        self.seen += 1
        if self.step is not None and not self.seen % 500:
            self.step.update(issues=self.seen)
        if self.track:
            fields = issue.get("fields")
            if isinstance(fields, dict):
                self.present.update(fields)
        if not self.decided:
            self.decided = True
            self.ids = field_ids(self.fields, self.names, self.present, self.where, final=False)
        if self.ids is not None:
            ticket = to_ticket(issue, self.source, self.ids, self.url)
            self.tickets[ticket.key] = ticket    # a key on two pages counts once
