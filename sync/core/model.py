"""The domain records every other module speaks in.

A `Ticket` is built once, at a connector's boundary, and never changes; the
core (rules, scoring, report) only reads it.  Keeping tracker specifics out of
it is what lets one rule set serve Jira and Trello side by side.
"""
from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, field, fields
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


def natural_ranks(keys) -> dict[str, int]:
    """Each key's place in `natural` order as an int, equal for keys that
    `natural` ties (PROJ-01 and PROJ-1).  Sorting by the rank is sorting by
    `natural`, but an int compares in a fraction of a tuple's time: the
    tickets and their warnings (150k at 100k tickets) both sort by it, and
    `natural` runs once per key."""
    naturals = {key: natural(key) for key in keys}
    ranks: dict[str, int] = {}
    rank, previous = -1, None
    for key in sorted(naturals, key=naturals.__getitem__):
        if naturals[key] != previous:
            rank, previous = rank + 1, naturals[key]
        ranks[key] = rank
    return ranks


def _slot_setting_init(cls):
    """`cls.__init__` as the dataclass writes it, but setting each slot through
    its own descriptor.  A frozen dataclass's generated __init__ calls
    `object.__setattr__` once per field, which looks the slot up by name each
    time: 2.7 µs for a Ticket's 21 fields, against 1.5 µs this way (a
    connector builds 100k of them per sync).  The class stays frozen: its
    __setattr__ still refuses every assignment after __init__."""
    names, params, namespace = [], [], {}
    for f in fields(cls):
        if f.default_factory is not MISSING or not f.init:
            raise TypeError(f"{cls.__name__}.{f.name}: only plain defaults are supported")
        namespace[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
        if f.default is MISSING:
            params.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        names.append(f.name)
    body = "".join(f"\n    _set_{name}(self, {name})" for name in names)
    exec(f"def __init__(self, {', '.join(params)}):{body}", namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__annotations__ = dict(cls.__init__.__annotations__)    # the dataclass's, for inspect
    return init


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


Ticket.__init__ = _slot_setting_init(Ticket)


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
