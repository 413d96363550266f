"""The Tickets tab's `Set lever` column: the one owned column people write in.

A person picks a lever id (or `ignore`) for a ticket in the sheet; the
choice overrides the rules for that ticket (a ticket's own tag still wins,
see `sync.core.assess.rules`).  The sheet is read back before each write and the
choices are kept in state too, so a sheet rebuilt from an older copy, or a
new empty one, gets them back.  Pure: rows and dicts in, dicts out.

The cell is untrusted: whatever a person (or a paste) put there is read as
text; a formula stays its text, and a value no lever id could ever be (over
`MAX_CHOICE` characters, or a date, or an error) is refused with a warning.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sync.core.model import Mapping

HEADER = "Set lever"
IGNORE = "ignore"
SHEET = "sheet"               # Lever ID of the Rules tab's row, and what `Matched by` starts with
MAX_CHOICE = 50_000           # Google's limit on one cell; a longer value is nobody's choice
SHOWN = 60                    # characters of a refused or unknown value quoted in a warning


def quoted(text: str) -> str:
    """A value as a warning may quote it: short and on one line."""
    one = " ".join(text.split())
    return repr(one if len(one) <= SHOWN else one[:SHOWN - 1] + "…")


class ErrorValue(str):
    """A spreadsheet error (`#N/A`, `#REF!`) as a sink read it: a formula's
    failure, not anything a person chose."""


def clean(raw: Any) -> tuple[str | None, str | None]:
    """(choice, problem) for one cell as read: a blank cell is (None, None);
    a value that cannot be a choice is (None, why it was refused)."""
    if raw is None or isinstance(raw, str) and not raw.strip():
        return None, None
    if isinstance(raw, ErrorValue):
        return None, f"an error value {str(raw)!r} in {HEADER} was refused (expected a lever id); the cell is cleared"
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        return None, f"a {type(raw).__name__} value in {HEADER} was refused (expected a lever id)"
    text = str(raw).strip() if isinstance(raw, str) else f"{raw:g}"
    if len(text) > MAX_CHOICE:
        return None, (f"a value of {len(text):,} characters in {HEADER} was refused "
                      f"(over {MAX_CHOICE:,}); the cell is cleared")
    return text, None


def cells(rows: list[list]) -> dict[str, Any] | None:
    """The `Set lever` cell of every ticket row of the Tickets tab as read
    (header first), by ticket key; a row with a blank cell is present with
    None.  None when the tab has no such column (a new sheet, or one written
    before the column existed): then no row says anything about a choice."""
    if not rows:
        return None
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    if HEADER not in header or "Key" not in header:
        return None
    at, key_at = header.index(HEADER), header.index("Key")
    out: dict[str, Any] = {}
    for row in rows[1:]:
        row = list(row or ())
        key = row[key_at] if key_at < len(row) else None
        if key not in (None, ""):
            value = row[at] if at < len(row) else None
            out[str(key)] = None if value == "" else value
    return out


def mapping(choice: str, levers: dict[str, tuple[str, str]], unknown: tuple[str, ...] = ()) -> Mapping:
    """Where a choice puts its ticket (`levers`: lower-case id → (outcome id,
    lever id)): a lever, out of scope (`ignore`), or — a value naming no
    lever — nowhere, with an `unknown_tag` from the sheet."""
    low = choice.strip().lower()
    if low == IGNORE:
        return Mapping("ignored", matched_by=f"{SHEET}: {IGNORE}", unknown_tags=unknown)
    hit = levers.get(low)
    if hit is None:
        return Mapping("unmapped", unknown_tags=unknown + (f"{SHEET}: {choice}",))
    return Mapping("mapped", hit[0], hit[1], f"{SHEET}: {hit[1]}", unknown_tags=unknown)


@dataclass
class Choices:
    """What a sync goes by: the choice per ticket key, and the refusals."""
    chosen: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)     # key → why (a warning)
    restored: int = 0                                         # choices the sheet lacked, from state


def merge(sheet: dict[str, Any] | None, kept: dict[str, str] | None) -> Choices:
    """The sheet's cells over the choices kept in state.  A row the sheet
    has decides (a cleared cell clears the choice); a row it lacks (a new or
    restored sheet, or a sheet without the column) keeps the state's."""
    out = Choices()
    sheet = sheet or {}
    for key, choice in (kept or {}).items():
        if key not in sheet and isinstance(choice, str) and choice:
            out.chosen[key] = choice
            out.restored += 1
    for key, raw in sheet.items():
        choice, problem = clean(raw)
        if problem:
            out.refused[key] = problem
        elif choice is not None:
            out.chosen[key] = choice
    return out
