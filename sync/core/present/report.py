"""The sheet's tabs (docs/sheet.md) as plain tables, built from an Assessment.

Headers are the contract: other programs read these columns by name, so they
live here once and every sink writes them as given.  Cells are plain values
(str, int, float, None); dates are ISO text.  A sink only lays them out.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from sync.core.assess import choices as sheet_choices
from sync.core.assess import plan
from sync.core.assess.assessment import Assessment
from sync.core.model import SheetInputs

if TYPE_CHECKING:
    from sync.core.assess.metric_feed import MetricRows

HEADERS: dict[str, list[str]] = {
    "Summary": ["Field", "Value"],
    "Scorecard": ["Outcome ID", "Outcome", "Owner", "Metric", "Baseline", "Target", "Current",
                  "Progress %", "Start", "Deadline", "Time elapsed %", "Status", "Levers",
                  "Active tickets", "Done tickets", "Aligned effort", "Average task score",
                  "Warnings", "Forecast", "Forecast status", "Hits target on"],
    "Levers": ["Outcome ID", "Lever ID", "Lever", "Owner", "Impact", "Effort", "Confidence",
               "Priority", "Active tickets", "Done tickets", "Active effort", "Last activity",
               "Leading metric", "Leading current", "Leading progress %", "Experiment until"],
    "Tickets": ["Key", "Source", "Title", "URL", "Type", "Status", "Done", "Owner", "Estimate",
                "Outcome ID", "Lever ID", "Matched by", "Score", "Flags", "Updated", "Set lever"],
    "Warnings": ["Severity", "Kind", "Key", "Owner", "Outcome ID", "Lever ID", "Message"],
    "Owners": ["Owner", "Active tickets", "Active outcomes", "Aligned effort %",
               "Average task score", "Warnings"],
    "Rules": ["Lever ID", "Rule", "Matched tickets", "Active tickets"],
    "History": ["Timestamp", "Outcome ID", "Progress %", "Aligned effort %", "Active tickets",
                "Done tickets"],
    "Metrics": ["Date", "Metric", "Value", "Note"],
    "Flow": ["Outcome ID", "Lever ID", "Throughput per week", "WIP", "Lead time median (days)",
             "Lead time 85th percentile (days)", "Open tickets", "Done by (85%)"],
    "Review": ["Review date", "Outcome ID", "Status", "Previous status", "Progress %",
               "Progress change", "Aligned effort %", "Aligned effort change", "Tickets done",
               "New warnings", "Resolved warnings", "Newly unmapped"],
}
# Trend is ours too (not among the tabs docs/sheet.md lists as the contract): History pivoted to one row per set,
# so a chart can draw each outcome's line; History itself stays append-only.
# Tabs rewritten whole on every sync, in the order they appear in the sheet.
OWNED = ["Summary", "Scorecard", "Levers", "Flow", "Tickets", "Warnings", "Owners", "Rules", "Review", "Trend"]
SUMMARY_FIELDS = ["Last sync", "Source", "Tickets in scope", "Active tickets", "Aligned effort %",
                  "Average task score", "Unmapped tickets", "Warnings", "Top unmapped labels",
                  "Next sync", "Last error"]
STATUS_COLOURS = {"on track": "B7E1CD", "at risk": "FCE8B2", "off track": "F4C7C3",
                  "done": "B7E1CD"}
SEVERITY_COLOURS = {"high": "F4C7C3", "medium": "FCE8B2"}   # Warnings' Severity cells


# What no sheet can hold: C0 controls other than tab/newline/CR (a vertical
# tab pasted from Word makes openpyxl refuse the whole workbook), DEL, and
# lone surrogates (not encodable as UTF-8).
_UNHOLDABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def cell_text(text: str, limit: int) -> str:
    """Text as a sheet cell can hold it: unholdable characters dropped, and
    cut to `limit` characters with an ellipsis."""
    if _UNHOLDABLE.search(text):
        text = _UNHOLDABLE.sub("", text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        # isoformat is several times faster than strftime, and this runs per ticket.
        if value.utcoffset():
            value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None, microsecond=0).isoformat() + "Z"
    return value.isoformat()


@dataclass
class Table:
    name: str
    headers: list[str]
    rows: list[list]
    links: list[str] = field(default_factory=list)   # per row: URL for the first cell
    owned_columns: int = 0                           # columns right of this are people's
    # (column, values): a dropdown over the column's data rows (Set lever).
    dropdown: tuple[int, list[str]] | None = None

    def __post_init__(self):
        self.owned_columns = self.owned_columns or len(self.headers)


@dataclass
class Report:
    tables: list[Table]
    history: list[list]                 # rows to append to History (maybe none)
    when: datetime
    metrics: MetricRows | None = None   # metric sources' rows to change or add in Metrics

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


def column_letter(n: int) -> str:
    """1 → A, 27 → AA: a column's name in A1 notation (both sinks)."""
    out = ""
    while n:
        n, rest = divmod(n - 1, 26)
        out = chr(65 + rest) + out
    return out


def column_widths(table: Table, cap: int = 60) -> list[int]:
    """Characters each column needs (header or longest value, capped): both sinks size by it."""
    widths = [len(str(h)) for h in table.headers]
    # Column by column: a column of text is measured by `max(map(len))` in C.
    for i, column in zip(range(len(widths)), zip(*table.rows)):
        try:
            longest = max(map(len, column), default=0)
        except TypeError:          # numbers or blanks among the text
            longest = max((len(v) if isinstance(v, str) else len(str(v))
                           for v in column if v is not None), default=0)
        widths[i] = max(widths[i], min(longest, cap))
    return widths


def top_labels(a: Assessment, n: int = 5) -> str:
    counts = Counter(label for r in a.unmapped_active() for label in r.ticket.labels)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].lower()))[:n]
    return ", ".join(f"{label} ({count})" for label, count in ranked)


def summary_rows(a: Assessment, sources: list[str], next_sync: datetime | None,
                 last_error: str = "") -> list[list]:
    values = [iso(a.now), ", ".join(sources), len(a.in_scope), len(a.active), a.aligned_effort,
              a.average_score, len(a.unmapped_active()), len(a.warnings), top_labels(a),
              iso(next_sync), last_error or None]
    return [[k, v] for k, v in zip(SUMMARY_FIELDS, values)] + plan.summary_fields(a)


def _tickets(a: Assessment, inputs: SheetInputs) -> Table:
    rows, links = [], []
    extra = len(inputs.extra_headers)
    chosen = a.choices
    for r in a.tickets:
        t, m = r.ticket, r.mapping
        row = [t.key, t.source, t.title, t.url or None, t.type or None, t.status or None,
               "yes" if t.done else "no", t.owner, t.estimate, m.outcome_id, m.lever_id,
               m.matched_by or None, r.score, ", ".join(r.flags) or None, iso(t.updated),
               chosen.get(t.key)]
        if extra:
            kept = inputs.extra_cells.get(t.key, [])
            row += (list(kept) + [None] * extra)[:extra]
        rows.append(row)
        links.append(t.url)
    levers = [lr.lever.id for lr in a.levers] + [sheet_choices.IGNORE]
    return Table("Tickets", HEADERS["Tickets"] + inputs.extra_headers, rows, links,
                 owned_columns=len(HEADERS["Tickets"]),
                 dropdown=(HEADERS["Tickets"].index(sheet_choices.HEADER), levers))


def _rules(a: Assessment) -> list[list]:
    rows = []
    for rule in a.rules.all_rules():
        hit = a.hits.tickets(rule)
        rows.append([rule.lever_id or "ignore", rule.describe(), len(hit),
                     sum(1 for t in hit if not t.done)])
    # The tickets the sheet's `Set lever` choices decide (a lever or `ignore`).
    prefix = f"{sheet_choices.SHEET}: "
    hand = [r.ticket for r in a.tickets if r.mapping.matched_by.startswith(prefix)]
    rows.append([sheet_choices.SHEET, f"{sheet_choices.HEADER} in the Tickets tab", len(hand),
                 sum(1 for t in hand if not t.done)])
    return rows


def history_rows(a: Assessment) -> list[list]:
    stamp = iso(a.now)
    rows = [[stamp, o.outcome.id, o.progress, o.aligned_effort, o.active, o.done]
            for o in a.outcomes]
    done = sum(1 for r in a.in_scope if r.ticket.done)
    rows.append([stamp, "*", None, a.aligned_effort, len(a.active), done])
    return rows


def history_due(a: Assessment, inputs: SheetInputs, every) -> bool:
    return inputs.last_history is None or a.now - inputs.last_history >= every


def summary_only(a: Assessment, sources: list[str], next_sync: datetime | None) -> Report:
    """What a dry run shows: the Summary tab, nothing to write."""
    return Report([Table("Summary", HEADERS["Summary"], summary_rows(a, sources, next_sync))], [],
                  a.now)


def build(a: Assessment, inputs: SheetInputs, *, sources: list[str], history_every,
          owners_tab: bool = True, next_sync: datetime | None = None,
          review_rows: list[list] | None = None, metric_rows: MetricRows | None = None) -> Report:
    """Every owned tab of the sheet for this assessment, plus History rows if due.
    `review_rows`: the Review tab, newest block first (sync.core.present.review.merge_blocks)."""
    score = [[o.outcome.id, o.outcome.name, o.outcome.owner, o.outcome.metric, o.outcome.baseline,
              o.outcome.target, o.current, o.progress, o.outcome.start.isoformat(),
              o.outcome.deadline.isoformat(), o.elapsed, o.status, len(o.outcome.levers), o.active,
              o.done, o.aligned_effort, o.average_score, o.warnings] + forecast_cells(o)
             for o in a.outcomes]
    levers = [[lr.outcome.id, lr.lever.id, lr.lever.name, lr.lever.owner, lr.lever.impact,
               lr.lever.effort, lr.lever.confidence, lr.priority, lr.active, lr.done,
               lr.active_effort, iso(lr.last_activity)] + _leading_cells(lr) for lr in a.levers]
    warnings = [[w.severity, w.kind, w.key or None, w.owner or None, w.outcome_id or None,
                 w.lever_id or None, w.message] for w in a.warnings]
    owners = [[o.owner, o.active, o.outcomes, o.aligned_effort, o.average_score, o.warnings]
              for o in a.owners]
    tables = [Table("Summary", HEADERS["Summary"], summary_rows(a, sources, next_sync)),
              Table("Scorecard", HEADERS["Scorecard"], score),
              Table("Levers", HEADERS["Levers"], levers),
              Table("Flow", HEADERS["Flow"], [row.cells() for row in a.flow]),
              _tickets(a, inputs),
              Table("Warnings", HEADERS["Warnings"], warnings)]
    if owners_tab:
        tables.append(Table("Owners", HEADERS["Owners"], owners))
    tables.append(Table("Rules", HEADERS["Rules"], _rules(a)))
    history = history_rows(a) if history_due(a, inputs, history_every) else []
    tables.append(trend(a, inputs.history + history))
    tables.append(Table("Review", HEADERS["Review"],
                        review_rows if review_rows is not None else list(inputs.review)))
    return Report(tables, history, a.now, metric_rows)


def forecast_cells(o) -> list:
    """Scorecard's three forecast columns for one outcome."""
    fc = o.forecast
    if fc is None:
        return [None, None, None]
    return [fc.value, fc.status, fc.hits_on.isoformat() if fc.hits_on else None]


def _leading_cells(lr) -> list:
    """The Levers tab's loop columns: leading metric, current, progress %, time box."""
    lv = lr.lever
    until = lv.experiment_until.isoformat() if lv.experiment_until else None
    return [lv.leading.metric if lv.leading else None, lr.leading_current, lr.leading_progress, until]


def trend(a: Assessment, rows: list[list]) -> Table:
    """History pivoted: Timestamp, each outcome's Progress %, the team's Aligned effort %."""
    ids = [o.outcome.id for o in a.outcomes]
    sets: dict[str, dict[str, list]] = {}
    for row in rows:
        row = list(row) + [None] * 6
        sets.setdefault(str(row[0]), {})[str(row[1])] = row
    out = []
    for stamp, by_id in sets.items():
        out.append([stamp] + [by_id.get(i, [None] * 6)[2] for i in ids]
                   + [by_id.get("*", [None] * 6)[3]])
    headers = ["Timestamp"] + [f"{i} progress %" for i in ids] + ["Team aligned effort %"]
    return Table("Trend", headers, out)
