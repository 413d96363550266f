"""A Jira CSV export read into tickets: its separator, its columns (a
label or component repeats its column), and what its rows say beyond one
cell each: which parent is an epic, whether a row is done, whether the file
may have been cut.

Jira Cloud writes a parent as `Parent` (the parent's issue id, sometimes its
key), `Parent key` and `Parent summary`; Data Center writes `Parent id` for
a sub-task and `Custom field (Epic Link)` for an epic.  Neither says the
parent's type, so it is read from the parent's own row when the export has
it, else from the row's type: a sub-task's parent is a standard issue, any
other issue's parent is an epic (or a level above).
"""
from __future__ import annotations

import csv
import io
import re

import structlog

from sync.core import numbers, values
from sync.core.errors import ConfigError
from sync.core.model import Ticket

from connectors import vocabulary
from connectors.jira.issue import JiraFields

_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-\d+$")
# Jira Cloud's "Export CSV" stops at 1000 issues unless an admin raised the limit.
CSV_LIMIT = 1000
_EPIC_LINK = tuple(f"custom field ({n})" for n in vocabulary.EPIC_LINK_NAMES)
_UNRESOLVED = {"unresolved", "nao resolvido", "sin resolver", "non resolu", "nicht erledigt",
               "未解決", "未解决", "미해결"}
# The columns holding dates: together they show whether 03/04/2026 is day first.
_DATES = ("created", "updated", "resolved", "last viewed", "due date")
log = structlog.get_logger("align_sync.files")


def rows(text: str, source: str, where: str, file: str) -> tuple[list[list[str]], list[int]]:
    """The export's records and the line each starts on.  Jira writes
    commas, but an export opened and saved again in a spreadsheet may use
    semicolons or tabs: the separator is the one that makes the first
    line hold an `Issue key` column (in any language Jira writes)."""
    def has_key(delimiter: str) -> bool:
        head = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
        return "issue key" in (vocabulary.csv_header(h) for h in head)
    delimiter = next((d for d in (",", ";", "\t", "|") if has_key(d)), None)
    if delimiter is None:
        first = next(csv.reader(io.StringIO(text)), [])
        raise ConfigError(f"{where}: not a Jira CSV export (no `Issue key` column "
                          f"in the first line: {', '.join(first[:6])[:120]!r})",
                          hint="export from Jira with Export → CSV (all fields), separated "
                               "by commas or semicolons")
    if delimiter != ",":
        log.warning("source.csv_separator", source=source, file=file,
                    separator=delimiter, hint="read; Jira itself writes commas")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    found, lines, start = [], [], 1
    for row in reader:
        found.append(row)
        lines.append(start)
        start = reader.line_num + 1
    return found, lines


def tickets(text: str, source: str, where: str, file: str, fields: JiraFields,
            url: str | None) -> tuple[list[Ticket], list[int]]:
    """The export's tickets, and the lines of rows skipped for want of a key."""
    table, lines = rows(text, source, where, file)
    header = [vocabulary.csv_header(h) for h in table[0]]
    shown = [h.strip() for h in table[0]]
    estimate_col = _column(header, shown, "estimate", fields.estimate, where)
    accept_col = _column(header, shown, "acceptance", fields.acceptance, where)
    base = (url or "").rstrip("/")
    records, keyless = [], []
    for raw, line in zip(table[1:], lines[1:]):
        if not any(cell.strip() for cell in raw):
            continue
        cols: dict[str, list[str]] = {}
        for name, cell in zip(header, raw):
            if cell.strip():
                cols.setdefault(name, []).append(cell.strip())
        if not cols.get("issue key"):
            keyless.append(line)     # a ticket with no key could be no row of the sheet
            continue
        records.append(cols)
    parents = Parents(records)
    order = values.day_order(v for cols in records for name in _DATES
                             for v in cols.get(name, ()))
    return [_ticket(cols, source, base, estimate_col, accept_col, parents, order)
            for cols in records], keyless


def _column(header: list[str], shown: list[str], key: str, wanted: str | None,
            where: str) -> str | None:
    if not wanted:
        return None
    low = wanted.strip().lower()
    for hl in header:
        if hl == low or hl == f"custom field ({low})" or hl.endswith(f"[{low}]"):
            return hl
    custom = ", ".join(sorted({raw for raw, h in zip(shown, header)
                               if h.startswith("custom field (")})) or "none"
    raise ConfigError(f"{where}: fields.{key} {wanted!r} is not a column of this CSV "
                      f"export (custom field columns: {custom})")


def _ticket(cols: dict[str, list[str]], source: str, base: str,
            estimate_col: str | None, accept_col: str | None,
            parents: Parents, order: str | None) -> Ticket:
    def one(*names: str) -> str | None:
        return _first(cols, *names)

    def when(name: str, when_blank: str):
        try:
            return values.export_date(one(name), order)
        except values.Unreadable as exc:
            problems.append(f"column `{name.title()}`: {exc}; {when_blank}")
            return None
    problems: list[str] = []
    key = one("issue key")
    estimate = None
    if estimate_col:
        estimate, problem = numbers.estimate(one(estimate_col), f"column `{estimate_col}`")
        if problem:
            problems.append(problem)
    epic, parent = parents.of(cols)
    updated = when("updated", "taken as never updated")
    done_at = when("resolved", "taken as no resolution date")
    return Ticket(
        key=key, source=source, title=one("summary") or "",
        url=f"{base}/browse/{key}" if base else "",
        type=one("issue type") or "", status=one("status") or "", done=is_done(cols),
        owner=one("assignee"), estimate=estimate,
        labels=tuple(cols.get("labels", [])), components=tuple(dict.fromkeys(cols.get("components", []))),
        project=one("project key") or (key.rsplit("-", 1)[0] if "-" in key else None),
        project_name=one("project name"), epic=epic, parent=parent,
        description=one("description") or "",
        acceptance=(one(accept_col) or "") if accept_col else "",
        updated=updated, done_at=done_at, created=when("created", "taken as no creation date"),
        in_progress=in_progress(cols), problems=tuple(problems),
    )


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
