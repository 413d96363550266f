"""Plain aligned text tables for a terminal: the dry-run summary, `explain`
and `suggest` print their figures this way (numbers right-aligned, `-` for
nothing)."""
from __future__ import annotations


def fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def table(headers: list[str], rows: list[list], limit: int | None = None,
          total: int | None = None) -> str:
    """A plain, aligned text table (numbers right-aligned).  `total`: how
    many rows there are when the caller passed only the first `limit`."""
    shown = rows[:limit] if limit else rows
    cells = [[fmt(v) for v in row] for row in shown]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in shown) and shown
               for i in range(len(headers))]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if numeric[i] else v.ljust(w)
                         for i, (v, w) in enumerate(zip(values, widths))).rstrip()
    out = [line(headers), "  ".join("-" * w for w in widths)] + [line(r) for r in cells]
    count = total if total is not None else len(rows)
    if limit and count > limit:
        out.append(f"... and {count - limit} more")
    return "\n".join(out)
