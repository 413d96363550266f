"""The weekly review: what changed since the last one (docs/sheet.md, "The
weekly review").

Pure: a `snapshot` of an assessment is what the next review compares with
(kept in state); `digest` compares a snapshot with the current assessment;
`sync.core.schedule` says when the next one falls.  No clock, no I/O.  The first
sync has no earlier review: it compares with the earliest History the sheet
holds (`from_history`), so the Review tab is useful from day one.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sync.core.assess import scoring
from sync.core.present.report import iso
from sync.core.present.review_lines import by_kind, forecast_phrase, leading_lines, next_checkpoint_line
from sync.core.numbers import parse_number
from sync.core.schedule import next_review, occurrences
from sync.core.values import parse_date

if TYPE_CHECKING:
    from sync.core.assess.assessment import Assessment
    from sync.core.config import Config

TEAM = "*"
MAX_BLOCKS = 52                # a year of weekly reviews in the Review tab
# Problems that do not go away by themselves: named in every review while
# they stand, not only in the week they appeared.
STANDING = ("guardrail_breach", "off_track")


def snapshot(a: "Assessment") -> dict:
    """What a later review compares with: JSON-ready."""
    return {
        "when": iso(a.now),
        "outcomes": {o.outcome.id: {"status": o.status, "progress": o.progress, "aligned": o.aligned_effort}
                     for o in a.outcomes},
        "team": {"aligned": a.aligned_effort},
        "warnings": sorted({(w.kind, w.key, w.outcome_id, w.lever_id) for w in a.warnings}),
        "mapped": {r.ticket.key: r.mapping.outcome_id for r in a.tickets if r.mapping.mapped},
        "unmapped": sorted(r.ticket.key for r in a.unmapped_active()),
        "done": sorted(r.ticket.key for r in a.tickets if r.ticket.done),
        "leading": {lr.lever.id: lr.leading_current for lr in a.levers if lr.lever.leading},
    }


def from_history(rows: list[list], a: "Assessment") -> dict | None:
    """A snapshot from the earliest set of History rows (Timestamp, Outcome ID,
    Progress %, Aligned effort %, ...): figures only.  Which warnings stood and
    which tickets were done then is unknown (None), so the first review names
    no warning as new or resolved and counts tickets done since then by their
    resolution date."""
    stamped = [(parse_date(r[0]), r) for r in rows if r and len(r) >= 4]
    stamped = [(when, r) for when, r in stamped if when is not None]
    if not stamped:
        return None
    first = min(when for when, _ in stamped)
    earliest = {r[1]: r for when, r in stamped if when == first}
    outcomes = {}
    for o in a.outcomes:
        row = earliest.get(o.outcome.id)
        if row is not None:
            progress = _number(row[2])
            outcomes[o.outcome.id] = {"status": scoring.status(progress, scoring.time_elapsed(o.outcome, first)),
                                      "progress": progress, "aligned": _number(row[3])}
    team = earliest.get(TEAM)
    return {"when": iso(first), "outcomes": outcomes,
            "team": {"aligned": _number(team[3]) if team else None},
            "warnings": None, "mapped": {}, "unmapped": None, "done": None}


def _number(value) -> float | None:
    """A History cell as a figure: NaN, infinity or text that is no number is none."""
    found = parse_number(value)
    return None if found is None else round(found, 1)


@dataclass
class Row:
    outcome_id: str
    name: str
    status: str | None
    previous_status: str | None
    progress: float | None
    progress_change: float | None
    aligned: float | None
    aligned_change: float | None
    done: list[str] = field(default_factory=list)
    new_warnings: dict[str, list[str]] = field(default_factory=dict)       # kind → keys ("" for none)
    resolved_warnings: dict[str, list[str]] = field(default_factory=dict)
    newly_unmapped: list[str] = field(default_factory=list)
    next_checkpoint: str | None = None       # `2026-12-01: 7.5`, with checkpoints only
    leading: list[str] = field(default_factory=list)    # levers whose leading metric moved, or not
    standing: dict[str, list[str]] = field(default_factory=dict)           # STANDING kinds now
    forecast: str | None = None      # "7.8 by 2026-12-31 (will miss)"; None for the team
    done_by: str | None = None       # Flow's Done by (85%) of its open tickets, ISO date


@dataclass
class Digest:
    id: str                     # the review's time, ISO: one review, one id
    since: str                  # the time of what it compares with
    rows: list[Row]
    # "review": against an earlier review; "history": the first, against the
    # earliest History; "none": nothing earlier at all (changes show later).
    basis: str = "review"

    def to_json(self) -> dict:
        return {"id": self.id, "since": self.since, "basis": self.basis,
                "rows": [asdict(r) for r in self.rows]}

    @classmethod
    def from_json(cls, data: dict) -> "Digest":
        return cls(data["id"], data["since"], [Row(**r) for r in data["rows"]],
                   data.get("basis", "review"))

    def table_rows(self) -> list[list]:
        """This review's block of the Review tab."""
        return [[self.id, r.outcome_id, r.status, r.previous_status, r.progress, r.progress_change,
                 r.aligned, r.aligned_change, len(r.done), by_kind(r.new_warnings),
                 by_kind(r.resolved_warnings), ", ".join(r.newly_unmapped) or None]
                for r in self.rows]


def _change(now: float | None, before: float | None) -> float | None:
    return round(now - before, 1) if now is not None and before is not None else None


def digest(before: dict, a: "Assessment", review_id: str) -> Digest:
    """Each outcome, then the team (`*`), against the snapshot `before`."""
    new_warnings = {(w.kind, w.key, w.outcome_id, w.lever_id) for w in a.warnings}
    # None: not known (a snapshot made from History): nothing is called new or resolved.
    old_warnings = new_warnings if before.get("warnings") is None else {tuple(w) for w in before["warnings"]}
    since = _parse(before.get("when"))
    old_mapped = before.get("mapped", {})
    if before.get("done") is None:
        done_now = {r.ticket.key: r.mapping.outcome_id for r in a.tickets
                    if r.ticket.done and r.mapping.mapped
                    and (r.ticket.done_at is None or since is None or r.ticket.done_at >= since)}
    else:
        old_done = set(before["done"])
        done_now = {r.ticket.key: r.mapping.outcome_id for r in a.tickets
                    if r.ticket.done and r.ticket.key not in old_done and r.mapping.mapped}
    old_unmapped = before.get("unmapped")
    unmapped_now = [] if old_unmapped is None else \
        [r.ticket.key for r in a.unmapped_active() if r.ticket.key not in set(old_unmapped)]
    standing = {w for w in new_warnings if w[0] in STANDING}

    def grouped(found: set, outcome: str | None) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for kind, key, outcome_id, _ in sorted(found):
            if outcome is None or outcome_id == outcome:
                out[kind].append(key)
        return dict(out)

    done_by = {f.outcome_id: f.done_by.isoformat() for f in a.flow if not f.lever_id and f.done_by}
    rows = []
    for o in a.outcomes:
        was = before.get("outcomes", {}).get(o.outcome.id, {})
        rows.append(Row(o.outcome.id, o.outcome.name, o.status, was.get("status"), o.progress,
                        _change(o.progress, was.get("progress")), o.aligned_effort,
                        _change(o.aligned_effort, was.get("aligned")),
                        sorted(k for k, oid in done_now.items() if oid == o.outcome.id),
                        grouped(new_warnings - old_warnings, o.outcome.id),
                        grouped(old_warnings - new_warnings, o.outcome.id),
                        [k for k in unmapped_now if old_mapped.get(k) == o.outcome.id],
                        next_checkpoint_line(o.outcome, a), leading_lines(before, a, o.outcome.id),
                        standing=grouped(standing, o.outcome.id),
                        forecast=forecast_phrase(o), done_by=done_by.get(o.outcome.id)))
    team = before.get("team", {})
    rows.append(Row(TEAM, "Team", None, None, None, None, a.aligned_effort,
                    _change(a.aligned_effort, team.get("aligned")), sorted(done_now),
                    grouped(new_warnings - old_warnings, None), grouped(old_warnings - new_warnings, None),
                    unmapped_now, standing=grouped(standing, None), done_by=done_by.get(TEAM)))
    basis = "history" if before.get("warnings") is None else "review"
    return Digest(review_id, before.get("when") or review_id, rows, basis)


def _parse(stamp: str | None) -> datetime | None:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None


def merge_blocks(new: list[list], old_rows: list[list]) -> list[list]:
    """The Review tab: the new block first, older blocks kept, at most MAX_BLOCKS."""
    rows = list(new) + [r for r in old_rows if r and r[0] not in {n[0] for n in new}]
    seen: list[str] = []
    kept = []
    for row in rows:
        if row[0] not in seen:
            seen.append(row[0])
        if len(seen) > MAX_BLOCKS:
            break
        kept.append(row)
    return kept


# -- in state -------------------------------------------------------------
# kv entries under source "review": `baseline` (the snapshot the next review
# compares with), `next_due`, `pending` (the last review's digest) and
# `delivered` ({target id: review id}), so a review reaches each target once.

KEY = "review"


def plan(state, a: "Assessment", config: "Config", now: datetime,
         history: list[list] = ()) -> Digest | None:
    """Stage this sync's part of the review schedule; the digest when a
    review falls due now.  The first sync after install is the baseline, and
    its review compares with the earliest `history` rows, when there are any."""
    baseline = state.get_json(KEY, "baseline")
    if baseline is None:
        state.stage(KEY, "baseline", snapshot(a))
        state.stage(KEY, "next_due", iso(occurrences(config, now)))
        earliest = from_history(list(history), a)
        if earliest is None:
            return None
        first = digest(earliest, a, iso(now))
        state.stage(KEY, "last", first.to_json())      # shown by `review --print`, not sent
        return first
    due = state.get(KEY, "next_due")
    due_at = datetime.fromisoformat(due.replace("Z", "+00:00")) if due else occurrences(config, now)
    if now < due_at:
        return None
    found = digest(baseline, a, iso(due_at))
    state.stage(KEY, "baseline", snapshot(a))
    state.stage(KEY, "pending", found.to_json())
    state.stage(KEY, "last", found.to_json())
    following = next_review(config, due_at)
    while following <= now:                  # a worker that was down for weeks: one review, not many
        following = next_review(config, following)
    state.stage(KEY, "next_due", iso(following))
    return found


def preview(state, a: "Assessment", now: datetime, history: list[list] = ()) -> Digest:
    """The digest of the current period, changing nothing (`review --print`):
    against the last review's snapshot; when nothing has moved since it (a
    pinned clock), that review itself; with no review yet, against the
    earliest History, else the figures alone."""
    baseline = state.get_json(KEY, "baseline")
    if baseline is not None:
        last = state.get_json(KEY, "last")
        if last is not None and baseline.get("when") == iso(a.now):
            return Digest.from_json(last)
        return digest(baseline, a, iso(now))
    earliest = from_history(list(history), a)
    if earliest is not None:
        return digest(earliest, a, iso(now))
    now_known = {k: v for k, v in snapshot(a).items() if k in ("done", "unmapped", "mapped")}
    found = digest({"warnings": None, **now_known}, a, iso(now))
    found.basis = "none"
    return found


def undelivered(state, target_ids: list[str]) -> tuple[Digest | None, list[str]]:
    pending = state.get_json(KEY, "pending")
    if pending is None:
        return None, []
    delivered = state.get_json(KEY, "delivered") or {}
    return Digest.from_json(pending), [t for t in target_ids if delivered.get(t) != pending["id"]]


def mark_delivered(state, target_id: str, review_id: str) -> None:
    """Committed at once, target by target: a crash between two targets
    re-sends only to those that had not accepted."""
    delivered = state.get_json(KEY, "delivered") or {}
    delivered[target_id] = review_id
    state.put(KEY, "delivered", delivered)
