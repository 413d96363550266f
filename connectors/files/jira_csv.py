"""What a Jira CSV export's rows say beyond one cell each: which parent is
an epic, whether a row is done, whether the file may have been cut.

Jira Cloud writes a parent as `Parent` (the parent's issue id, sometimes its
key), `Parent key` and `Parent summary`; Data Center writes `Parent id` for
a sub-task and `Custom field (Epic Link)` for an epic.  Neither says the
parent's type, so it is read from the parent's own row when the export has
it, else from the row's type: a sub-task's parent is a standard issue, any
other issue's parent is an epic (or a level above).
"""
from __future__ import annotations

import re

from connectors import vocabulary

_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-\d+$")
# Jira Cloud's "Export CSV" stops at 1000 issues unless an admin raised the limit.
CSV_LIMIT = 1000
_EPIC_LINK = tuple(f"custom field ({n})" for n in vocabulary.EPIC_LINK_NAMES)
_UNRESOLVED = {"unresolved", "nao resolvido", "sin resolver", "non resolu", "nicht erledigt",
               "未解決", "未解决", "미해결"}


def _first(cols: dict[str, list[str]], *names: str) -> str | None:
    for n in names:
        if cols.get(n):
            return cols[n][0]
    return None


class Parents:
    """The export's rows by issue id and key, to name and type each parent."""

    def __init__(self, records: list[dict[str, list[str]]]):
        self.rows: dict[str, dict[str, list[str]]] = {}
        for cols in records:
            for ref in (_first(cols, "issue id"), _first(cols, "issue key")):
                if ref:
                    self.rows[ref] = cols

    def of(self, cols: dict[str, list[str]],
           depth: int = 0) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(epic, parent) of one row: key and name of each, as `Ticket` holds them."""
        epic: list[str] = []
        link = _first(cols, *_EPIC_LINK)
        if link:
            row = self.rows.get(link, {})
            epic += [link, _first(row, "custom field (epic name)", "summary") or ""]
        ref = _first(cols, "parent", "parent id", "parent key")
        if not ref:
            return _clean(epic), ()
        row = self.rows.get(ref) or self.rows.get(_first(cols, "parent key") or "", {})
        key = _first(cols, "parent key") or (ref if _KEY.match(ref) else _first(row, "issue key"))
        name = _first(cols, "parent summary") or _first(row, "summary") or ""
        found = [key or "", name, ref if ref != key else ""]
        parent_type = _first(row, "issue type")
        own_type = _first(cols, "issue type")
        if vocabulary.is_epic_parent(own_type, None, parent_type, None):
            return _clean(epic + found), ()
        if row and not epic and row is not cols:
            # A sub-task serves its story's epic: Jira shows it under that epic too.
            epic = list(self.of(row, depth + 1)[0]) if depth < 2 else []
        return _clean(epic), _clean(found)


def _clean(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def is_done(cols: dict[str, list[str]]) -> bool:
    """Done by the status category (in whatever language the export is), else
    by a resolution date or a resolution that is not "Unresolved"."""
    category = _first(cols, "status category")
    if category:
        return vocabulary.fold(category) == "done" or vocabulary.done_word(category) is not None
    if _first(cols, "resolved"):
        return True
    resolution = _first(cols, "resolution")
    return bool(resolution) and vocabulary.fold(resolution) not in _UNRESOLVED


def in_progress(cols: dict[str, list[str]]) -> bool:
    """Work under way (Flow's WIP): the status category Jira calls In Progress."""
    category = _first(cols, "status category")
    return bool(category) and vocabulary.fold(category) == "in progress"


def limit_notice(rows: int) -> list[str]:
    if rows == CSV_LIMIT:
        return [f"partial export? the file holds exactly {CSV_LIMIT} issues, where Jira's CSV "
                "export stops by default; export again in parts (by date or project) if the "
                "search has more"]
    return []
