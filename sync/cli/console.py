"""What a person reads in the terminal: the dry-run summary and `explain`."""
from __future__ import annotations

import json
import re

from sync.core.assess import plan

from sync.core.assess import scoring
from sync.core.assess.assessment import Assessment, TicketResult
from sync.core.present.report import Report
from sync.core.present.texttable import fmt as _fmt, table  # noqa: F401 (table: console.table for callers)


# What to do about each kind of warning: the summary's "next steps".
ACTIONS = {
    "unmapped": "`align-sync suggest` proposes rules for them",
    "ambiguous": "`align-sync explain KEY` shows which levers matched",
    "unknown_tag": "fix the tag or add the id it names",
    "unowned": "give them an owner",
    "no_estimate": "estimate them",
    "no_acceptance": "add an acceptance metric",
    "stale": "update or close them",
    "goal_overload": "fewer concurrent outcomes per person",
    "idle_lever": "start work on the lever or drop it",
    "lever_count": "keep 3 to 6 levers per outcome",
    "unowned_outcome": "name an owner in the config",
    "off_track": "look at its levers in the Levers tab",
    "guardrail_breach": "the guardrail metric needs attention before more work on its outcome",
    "metric_stale": "add a reading to the Metrics tab",
    "unused_rule": "fix or drop the rule (Rules tab)",
    "activity_bias": "work is done but the metric does not move: check the levers",
    "bad_metric": "fix the row in the Metrics tab",
}
# What the tool is for comes first: a breached guardrail, work serving no
# outcome, people spread over too many outcomes; then by severity and count.
FIRST = ["guardrail_breach", "unmapped", "goal_overload"]
SHOWN = 8           # warnings listed without --all: the headline stays on a 50-row screen


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def headline(a: Assessment) -> str:
    """Aligned effort and outcomes by status, in one line."""
    counts: dict[str, int] = {}
    for o in a.outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    order = ["off track", "at risk", "on track", "done", "no data"]
    statuses = ", ".join(f"{counts[s]} {s}" for s in order if s in counts)
    effort = "-" if a.aligned_effort is None else f"{a.aligned_effort:g}%"
    return f"aligned effort {effort}; {plural(len(a.outcomes), 'outcome')}: {statuses}"


def actions(a: Assessment, top: int = 3) -> list[str]:
    """The warning kinds that matter most (severity, then how many), each
    with what to do: `12 unmapped → align-sync suggest ...`."""
    by_kind: dict[str, list] = {}
    for w in a.warnings:
        by_kind.setdefault(w.kind, []).append(w)
    by_kind.pop("off_track", None)            # the headline names those outcomes already
    rank = {"high": 0, "medium": 1, "low": 2}
    kinds = sorted(by_kind, key=lambda k: (FIRST.index(k) if k in FIRST else len(FIRST),
                                           min(rank.get(w.severity, 3) for w in by_kind[k]),
                                           -len(by_kind[k]), k))
    return [f"{len(by_kind[k])} {k} → {ACTIONS.get(k, 'see the Warnings tab')}" for k in kinds[:top]]


def summary(a: Assessment, report: Report, every: bool = False) -> str:
    """The dry run's terminal summary: the headline and next steps first,
    then Summary, Scorecard and the warnings (`every`: all of them)."""
    head = dict((k, v) for k, v in report.table("Summary").rows)
    lines = ["align-sync dry run: nothing was written", "", headline(a)]
    lines += [f"  {n}. {line}" for n, line in enumerate(actions(a), 1)] + [""]
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
    shown = a.warnings if every else a.warnings[:SHOWN]
    lines.append(table(["Severity", "Kind", "Key", "Where", "Message"],
                       [[w.severity, w.kind, w.key, w.lever_id or w.outcome_id or w.owner, w.message]
                        for w in shown]))
    if len(shown) < len(a.warnings):
        lines.append(f"... and {len(a.warnings) - len(shown)} more: --all lists every one")
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


def summary_data(a: Assessment, report: Report) -> dict:
    """The same summary as one JSON-ready event (`--log-format json`)."""
    return {"event": "dry_run.summary", "written": False,
            "summary": {k: v for k, v in report.table("Summary").rows},
            "outcomes": [{"id": o.outcome.id, "status": o.status, "current": o.current,
                          "progress": o.progress, "elapsed": o.elapsed, "active": o.active,
                          "done": o.done, "aligned_effort": o.aligned_effort,
                          "warnings": o.warnings} for o in a.outcomes],
            "actions": actions(a),
            "warnings": [{"severity": w.severity, "kind": w.kind, "key": w.key or None,
                          "owner": w.owner or None, "outcome_id": w.outcome_id or None,
                          "lever_id": w.lever_id or None, "message": w.message} for w in a.warnings]}


def synced(a: Assessment, tickets: int, seconds: float, where: str) -> str:
    """The last line after a sync: what was written, and the headline."""
    off = sum(1 for o in a.outcomes if o.status == "off track")
    effort = "-" if a.aligned_effort is None else f"{a.aligned_effort:g}%"
    return (f"synced {plural(tickets, 'ticket')} ({len(a.in_scope)} in scope, "
            f"{plural(len(a.warnings), 'warning')}) in {seconds:.1f}s → {where}; aligned effort "
            f"{effort}, {off} of {plural(len(a.outcomes), 'outcome')} off track")


def check_line(json_lines: bool):
    """One line of `check`: `ok    what` / `FAIL  what: problem`, or a JSON line."""
    def say(problem: str | None, what: str) -> None:
        if json_lines:
            print(json.dumps({"event": "check", "ok": problem is None, "what": what,
                              "problem": problem}))
        else:
            print(f"ok    {what}" if problem is None else f"FAIL  {what}: {problem}")
    return say


def explain(a: Assessment, r: TicketResult) -> str:
    t, m = r.ticket, r.mapping
    lines = [f"{t.key}  {t.title}", f"  source {t.source}; {t.type or 'ticket'}, status {t.status or '-'}"
             f" ({'done' if t.done else 'active'}); owner {t.owner or '-'}; estimate "
             f"{_fmt(t.estimate)}", f"  url {t.url or '-'}"]
    # What the rules can match on, as read from the tracker: an empty field is a
    # reason as good as a failed condition.
    lines += [f"  {name} {', '.join(values)}" for name, values in (
        ("labels", t.labels), ("components", t.components), ("epic", t.epic),
        ("parent (not an epic)", t.parent), ("list", (t.list,) if t.list else ())) if values] + [""]
    if m.state == "mapped":
        target = f"lever {m.lever_id} (outcome {m.outcome_id})" if m.lever_id else f"outcome {m.outcome_id}"
        lines.append(f"Mapped to {target}, by {m.matched_by}")
        if m.ambiguous_with:
            lines.append(f"  also matched levers of: {', '.join(m.ambiguous_with)}")
    elif m.state == "ignored":
        lines.append(f"Out of scope, by {m.matched_by}")
    elif t.key in a.choices:
        # The sheet's choice decided, and names no lever: the rules were not asked.
        lines.append(f"Unmapped, by the sheet: Set lever {a.choices[t.key][:60]!r} names no configured "
                     "lever id (nor ignore); pick one in the dropdown, or clear the cell for the rules")
    else:
        lines.append("Unmapped: no lever:/outcome: tag, no ignore block, and no lever's match held")
        lines += [f"  {why}" for why in a.rules.why_not(t)]
    for tag in m.unknown_tags:
        if not tag.startswith("sheet: "):          # said above
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
    # Each line is one line of ours: a line break, an escape or a bidi override
    # in it came from the tracker, and is shown, not obeyed.
    return "\n".join(_UNSAFE.sub(lambda c: c.group().encode("unicode_escape").decode(), line)
                     for line in lines)


_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
