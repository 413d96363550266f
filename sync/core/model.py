"""The domain records every other module speaks in.

A `Ticket` is built once, at a connector's boundary, and never changes; the
core (rules, scoring, report) only reads it.  Keeping tracker specifics out of
it is what lets one rule set serve Jira and Trello side by side.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from datetime import datetime

_DIGITS = re.compile(r"(\d+)")


def natural(key: str) -> tuple:
    """Sort key that puts PROJ-9 before PROJ-10, as Jira lists them.  New
    tickets then land at the end of the table, so the sheet's rows stay put
    and a sync rewrites only the rows that changed."""
    head, dash, tail = key.rpartition("-")
    if dash and tail.isdecimal() and head.isalpha():      # PROJ-123: the common case, 5x faster
        return (head + "-", int(tail), "")
    parts = _DIGITS.split(key)
    parts[1::2] = [int(p) for p in parts[1::2]]   # split alternates text, digits, text, ...
    return tuple(parts)


@dataclass(frozen=True, slots=True)
class Ticket:
    key: str                      # Jira key (GROW-12) or Trello short link
    source: str                   # the source's name (or its type when alone)
    title: str
    url: str = ""
    type: str = ""
    status: str = ""
    done: bool = False
    owner: str | None = None
    estimate: float | None = None
    labels: tuple[str, ...] = ()
    components: tuple[str, ...] = ()
    project: str | None = None    # Jira project key and name both match `project`
    project_name: str | None = None
    board: str | None = None      # Trello board name
    list: str | None = None       # Trello list name
    epic: tuple[str, ...] = ()    # the epic's key and name, where the tracker says epic
    # Any other parent (a sub-task's Story, Defect, Test Case): key and name.
    # The rules' `epic` condition matches both; drafting proposes only epics.
    parent: tuple[str, ...] = ()
    description: str = ""
    acceptance: str = ""          # text of the configured acceptance field
    updated: datetime | None = None
    done_at: datetime | None = None  # resolution date, when the tracker knows it
    created: datetime | None = None  # the tracker's creation date (Flow's lead time)
    in_progress: bool = False        # in a status of work under way (Flow's WIP)
    problems: tuple[str, ...] = ()   # fields that could not be read as given (`bad_data`)

    @property
    def uid(self) -> str:
        return f"{self.source}:{self.key}"


@dataclass(frozen=True, slots=True)
class Mapping:
    """Where one ticket landed and why."""
    state: str                    # "mapped" | "ignored" | "unmapped"
    outcome_id: str | None = None
    lever_id: str | None = None
    matched_by: str = ""
    ambiguous_with: tuple[str, ...] = ()   # outcome ids of other matching levers
    unknown_tags: tuple[str, ...] = ()

    @property
    def mapped(self) -> bool:
        return self.state == "mapped"

    @property
    def in_scope(self) -> bool:
        return self.state != "ignored"


SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


class Warning(NamedTuple):
    """Immutable like the records above; a tuple because a sync makes one per
    finding (150k at 100k tickets) and a frozen dataclass builds 3x slower."""
    severity: str                 # high | medium | low
    kind: str
    message: str
    key: str = ""                 # blank for outcome- and lever-level warnings
    owner: str = ""
    outcome_id: str = ""
    lever_id: str = ""


@dataclass(frozen=True, slots=True)
class Reading:
    """One row of the team's Metrics tab."""
    date: datetime
    metric: str
    value: float
    note: str = ""
    row: int | None = None        # its row in the Metrics tab, for messages


@dataclass(slots=True)
class SheetInputs:
    """What the sink reads back before a write: the team's own data."""
    readings: list[Reading] = field(default_factory=list)
    # Columns people added right of the Tickets table: header row, and the
    # extra cells of each ticket key.
    extra_headers: list[str] = field(default_factory=list)
    extra_cells: dict[str, list] = field(default_factory=dict)
    last_history: datetime | None = None
    history: list[list] = field(default_factory=list)   # History rows already in the sheet
    review: list[list] = field(default_factory=list)    # Review tab rows as they are (header excluded)
    # Metrics rows that could not be read, one line each (`bad_metric`).
    metric_problems: list[str] = field(default_factory=list)
    # The Tickets tab's `Set lever` cells by ticket key as read (a blank cell:
    # None); None when the tab has no such column (sync.core.assess.choices).
    choices: dict[str, Any] | None = None
    # Opaque to the core: what the sink that read these inputs needs for the
    # write that builds on them (the workbook's stamp and History rows, the
    # sheet's tab metadata and tabs as read).  The engine hands it to
    # `Sink.write` and drops it; a sink keeps nothing between calls.
    basis: Any = field(default=None, compare=False, repr=False)

    @property
    def unreadable_metrics(self) -> int:
        return len(self.metric_problems)
