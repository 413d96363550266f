"""The review as text: `review --print` and the email's plain part."""
from __future__ import annotations

from sync.core.present.review import TEAM, Digest
from sync.core.present.review_lines import by_kind, loop_lines, outlook


def render_text(d: Digest, sheet: str = "") -> str:
    """`review --print` and the email's plain part: Markdown-like text."""
    lines = [f"# Review {d.id} (since {d.since})", ""]
    if d.basis in INTRO:
        lines += [INTRO[d.basis].format(since=d.since), ""]
    for r in d.rows:
        if r.outcome_id == TEAM:
            lines.append(f"## Team: aligned effort {_pct(r.aligned)} ({_delta(r.aligned_change)})")
        else:
            was = f" (was {r.previous_status})" if r.previous_status and r.previous_status != r.status else ""
            lines.append(f"## {r.name} [{r.outcome_id}]: {r.status}{was}")
            lines.append(f"- progress {_pct(r.progress)} ({_delta(r.progress_change)}), aligned effort "
                         f"{_pct(r.aligned)} ({_delta(r.aligned_change)})")
        lines.append(f"- tickets done: {len(r.done)}")
        lines.append(f"- {outlook(r)}")
        if r.new_warnings:
            lines.append(f"- new warnings: {by_kind(r.new_warnings)}")
        if r.resolved_warnings:
            lines.append(f"- resolved warnings: {by_kind(r.resolved_warnings)}")
        if r.newly_unmapped:
            lines.append(f"- newly unmapped: {', '.join(r.newly_unmapped)}")
        if r.standing:
            lines.append(f"- still open: {by_kind(r.standing)}")
        lines += [f"- {line}" for line in loop_lines(r)]
        lines.append("")
    if sheet:
        lines.append(f"Sheet: {sheet}")
    return "\n".join(lines).rstrip() + "\n"


INTRO = {
    "history": "The first review: compared with the earliest History ({since}); warnings "
               "new and resolved are counted from the next review on.",
    "none": "No earlier review and no History to compare with: the figures as they stand; "
            "changes are shown from the next review on.",
}


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}%"


def _delta(value: float | None) -> str:
    return "no earlier value" if value is None else f"{value:+g} pts"
