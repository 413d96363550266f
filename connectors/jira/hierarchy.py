"""Where a Jira issue sits in its site's hierarchy: whether its `parent` is
an epic, and the epic a sub-task serves.

Jira Cloud gives every issue type a `hierarchyLevel` (1 epic, 0 story, task
or bug, -1 sub-task) and puts the parent's type in `fields.parent`; Server and
Data Center set `parent` on sub-tasks only and link epics by `Epic Link`.  A
parent is an epic only where one of those says so, so a sub-task's story,
defect or test case is never drafted as an epic lever.
"""
from __future__ import annotations

from dataclasses import replace

from sync.core.model import Ticket

from connectors import vocabulary


def _level(kind: dict) -> int | None:
    level = kind.get("hierarchyLevel")
    return level if isinstance(level, int) and not isinstance(level, bool) else None


def parent_is_epic(fields: dict, parent_fields: dict) -> bool:
    """From an issue's `fields` and its parent's: the parent's level or type
    name, else the issue's own (a sub-task's parent is a standard issue)."""
    kind = parent_fields.get("issuetype")
    if kind.__class__ is dict:
        level = kind.get("hierarchyLevel")
        if level.__class__ is int:      # Cloud's usual shape: the parent's level decides alone
            return level == 1
    kind = kind if isinstance(kind, dict) else {}
    own = fields.get("issuetype")
    own = own if isinstance(own, dict) else {}
    own_level = _level(own)
    own_subtask = own.get("subtask") if isinstance(own.get("subtask"), bool) else \
        (own_level < 0 if own_level is not None else None)
    name = kind.get("name")
    return vocabulary.is_epic_parent(own.get("name") if isinstance(own.get("name"), str) else None,
                                     own_subtask, name if isinstance(name, str) else None,
                                     _level(kind))


def inherit_epics(tickets: dict[str, Ticket]) -> dict[str, Ticket]:
    """A sub-task with no epic of its own serves its parent's epic, as Jira
    shows it under that epic; read where the parent is among `tickets`."""
    for key, t in tickets.items():
        if t.parent and not t.epic:
            up = tickets.get(t.parent[0])
            if up is not None and up.epic:
                tickets[key] = replace(t, epic=up.epic)
    return tickets
