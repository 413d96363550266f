"""Which rows of a big tab to write: the tab as read this sync against the
table about to be written (pure, no I/O).

A steady sync of 10k tickets changes a handful of rows.  Rewriting all of
them sends ~12 MB of typed cells every 15 minutes; writing only the rows
that changed sends the header rows when nothing changed.  Rows are compared by position: new tickets
land at the end (keys sort naturally), and rows past the end are added or
dropped by the grid resize.  A ticket that leaves from the middle shifts the
rows below it, and those are rewritten.  Rows are not moved with
insertDimension/deleteDimension, which would make that case small too: the
partial write uses only what a full rewrite uses (updateCells, grid size),
so it cannot fail where a full rewrite would not.  Revisit if `sheet.written`
shows removal-heavy syncs sending megabytes.
"""
from __future__ import annotations

from sync.core.present.report import cell_text

MAX_CELL = 50_000                 # Sheets' limit on one cell's text


def rgb(hex_colour: str) -> dict:
    # Three decimals are finer than 8-bit colour, and a third the bytes per coloured cell.
    return {k: round(int(hex_colour[i:i + 2], 16) / 255, 3) for k, i in (("red", 0), ("green", 2), ("blue", 4))}


def norm(row) -> tuple:
    """A row as the sheet holds it, so a row read back compares equal to the
    same row about to be written: blanks alike, numbers by value (not int vs
    float), booleans apart from numbers, text as capped."""
    out: list = []
    for v in row:
        if v is None or v == "":
            out.append("")
        elif isinstance(v, bool):
            out.append(("bool", v))
        elif isinstance(v, (int, float)):
            out.append(("number", float(f"{v:.15g}")))
        else:
            out.append(cell_text(str(v), MAX_CELL))
    while out and out[-1] == "":
        out.pop()
    return tuple(out)


def header_edited(row: list, headers: list[str]) -> bool:
    """Whether a tab's first row (as read) is not our header."""
    return norm(row[:len(headers)]) != norm(headers)


def _same(read: list, row: list) -> bool:
    """`norm(read) == norm(row)`, answered by a plain list comparison for the
    usual unchanged row (the read row lacks only trailing blanks): 10k rows
    compare in milliseconds instead of 0.4 s.  A plain match implies a norm
    match (our columns hold no booleans; people's cells go back as read)."""
    n = len(read)
    if read == row[:n] and all(v is None or v == "" for v in row[n:]):
        return True
    return norm(read) == norm(row)


def changed_rows(before: list[list], rows: list[list]) -> list[tuple[int, int]]:
    """[start, end) runs of data rows of `rows` that differ from `before`
    (the tab as read, header first)."""
    old = before[1:]
    runs: list[tuple[int, int]] = []
    for i, row in enumerate(rows):
        if i < len(old) and _same(old[i], row):
            continue
        if runs and runs[-1][1] == i:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    return runs
