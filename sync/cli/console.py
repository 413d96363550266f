"""What a person reads in the terminal: the dry-run summary and `explain`."""
from __future__ import annotations

from sync.core import plan, scoring
from sync.core.assessment import Assessment, TicketResult
from sync.core.report import Report


def _fmt(value) -> str:
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
    cells = [[_fmt(v) for v in row] for row in shown]
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


def summary(a: Assessment, report: Report) -> str:
    head = dict((k, v) for k, v in report.table("Summary").rows)
    lines = ["align-sync dry run: nothing was written", ""]
    width = max(len(k) for k in head)
    for key, value in head.items():
        if key not in ("Next sync", "Last error"):
            lines.append(f"  {key.ljust(width)}  {_fmt(value)}")
    lines += ["", "Scorecard"]
    done_by = {f.outcome_id: f.done_by.isoformat() for f in a.flow if not f.lever_id and f.done_by}
    lines.append(table(["Outcome", "Current", "Progress %", "Elapsed %", "Status", "Active",
                        "Done", "Aligned %", "Warnings", "Forecast", "Forecast status", "Done by (85%)"],
                       [[o.outcome.id, o.current, o.progress, o.elapsed, o.status, o.active, o.done,
                         o.aligned_effort, o.warnings] + _forecast(o) + [done_by.get(o.outcome.id)]
                        for o in a.outcomes]))
    lines += _loop(a)
    lines += ["", f"Warnings ({len(a.warnings)})"]
    lines.append(table(["Severity", "Kind", "Key", "Where", "Message"],
                       [[w.severity, w.kind, w.key, w.lever_id or w.outcome_id or w.owner, w.message]
                        for w in a.warnings[:40]], limit=40, total=len(a.warnings)))
    return "\n".join(lines)


def _forecast(o) -> list:
    fc = o.forecast
    return [fc.value, fc.status] if fc else [None, None]


def _loop(a: Assessment) -> list[str]:
    """Checkpoints and leading indicators, when the config sets any."""
    if not plan.uses_loop(a):
        return []
    day = a.now.date()
    lines = ["", "ALIGN loop"]
    for o in a.outcomes:
        cp = plan.next_checkpoint(o.outcome, day)
        if o.outcome.checkpoints:
            missed = ", ".join(c.date.isoformat() for c, _ in o.missed) or "none"
            upcoming = f"{cp.date.isoformat()} ({cp.value:g})" if cp else "none left"
            lines.append(f"  {o.outcome.id}: planned progress {_fmt(o.planned)}%, next checkpoint "
                         f"{upcoming}, missed {missed}")
    flagged = {(w.kind, w.lever_id) for w in a.warnings}
    rows = [[lr.lever.id, lr.lever.leading.metric if lr.lever.leading else None, lr.leading_current,
             lr.leading_progress, lr.lever.experiment_until.isoformat() if lr.lever.experiment_until
             else None, ", ".join(k for k in ("leading_flat", "experiment_overdue")
                                  if (k, lr.lever.id) in flagged) or None]
            for lr in a.levers if lr.lever.leading or lr.lever.experiment_until]
    if rows:
        lines.append(table(["Lever", "Leading metric", "Current", "Progress %", "Experiment until",
                            "Warnings"], rows))
    return lines


def explain(a: Assessment, r: TicketResult) -> str:
    t, m = r.ticket, r.mapping
    lines = [f"{t.key}  {t.title}", f"  source {t.source}; {t.type or 'ticket'}, status {t.status or '-'}"
             f" ({'done' if t.done else 'active'}); owner {t.owner or '-'}; estimate "
             f"{_fmt(t.estimate)}", f"  url {t.url or '-'}", ""]
    if m.state == "mapped":
        target = f"lever {m.lever_id} (outcome {m.outcome_id})" if m.lever_id else f"outcome {m.outcome_id}"
        lines.append(f"Mapped to {target}, by {m.matched_by}")
        if m.ambiguous_with:
            lines.append(f"  also matched levers of: {', '.join(m.ambiguous_with)}")
    elif m.state == "ignored":
        lines.append(f"Out of scope, by {m.matched_by}")
    else:
        lines.append("Unmapped: no lever:/outcome: tag, no ignore block, and no lever's match held")
        lines += [f"  {why}" for why in a.rules.why_not(t)]
    for tag in m.unknown_tags:
        lines.append(f"  tag {tag!r} names no configured id")
    lines.append("")
    if r.score is None:
        lines.append("No task score: the ticket is out of scope")
    else:
        lines.append(f"Task score {r.score}/100")
        lines += [f"  {'+' if ok else ' '}{points:>3}  {label}{'' if ok else '  (missing)'}"
                  for label, points, ok in scoring.breakdown(r.held)]
    mine = [w for w in a.warnings if w.key == t.key]
    lines += ["", f"Warnings ({len(mine)})"] + [f"  {w.severity:<6} {w.kind}: {w.message}" for w in mine]
    return "\n".join(lines)
