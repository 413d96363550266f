"""The text of a drafted config: YAML a person will edit, so written by
hand with comments where PyYAML would drop them.  Every value from the
tracker is a JSON string (a valid YAML double-quoted scalar), so a label
such as `2024`, `yes` or `a: b` stays the text it was.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from anyascii import anyascii

_SLUG = re.compile(r"[^a-z0-9]+")
_LINE = re.compile(r"[\x00-\x1f\x7f]+")


# Characters YAML does not allow raw in a file (C0/C1 controls but tab,
# surrogates, U+FFFE/U+FFFF), reads as line breaks (NEL, line/paragraph
# separators) or editors hide (BOM): written as escapes; the rest as written.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff"
                          "\ud800-\udfff\ufffe\uffff]")


def q(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return f"{value:g}"
    # Names stay readable ("Integração", "クローズ"), not \u escapes.
    text = json.dumps(str(value), ensure_ascii=False)
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def one_line(text: str, limit: int = 70) -> str:
    text = _LINE.sub(" ", text).strip()
    return text if len(text) <= limit else text[:limit - 1] + "…"


def flow(block: dict) -> str:
    """A match block as a YAML flow mapping: `{labels: ["seats"]}`."""
    parts = []
    for key, value in block.items():
        shown = "[" + ", ".join(q(v) for v in value) + "]" if isinstance(value, list) else q(value)
        parts.append(f"{key}: {shown}")
    return "{" + ", ".join(parts) + "}"


def slug(text: str, taken: set[str], fallback: str = "lever") -> str:
    """A readable id: the text transliterated to ASCII (`Integração` →
    `integracao`, `クローズ` → `kurozu`), else `fallback` (the cluster's kind)."""
    ascii_text = anyascii(text.replace("ー", ""))   # the kana long mark would become "-"
    base = _SLUG.sub("-", ascii_text.lower()).strip("-")[:40].strip("-") or fallback
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def _mapping(block: dict, indent: str) -> list[str]:
    lines = []
    for key, value in block.items():
        if isinstance(value, dict):
            lines.append(f"{indent}{key}:")
            lines += _mapping(value, indent + "  ")
        elif isinstance(value, list):
            lines.append(f"{indent}{key}: [{', '.join(q(v) for v in value)}]")
        else:
            lines.append(f"{indent}{key}: {q(value)}")
    return lines


_KIND_ID = {"labels": "label", "components": "component", "epic": "epic", "parent": "parent",
            "list": "list", "title": "title"}


def _lever_id(draft) -> str:
    c = draft.lever
    if c.kind == "epic" and c.name and c.name != c.value:
        return f"{c.value} {c.name}"
    return c.value


def render(source: dict, sink: dict, drafts: list, now: datetime, summary: dict,
           notes: list[str]) -> str:
    today = now.date()
    out = ["# align-sync starter config, drafted by `align-sync init` on "
           f"{today.isoformat()}."]
    if summary:
        out.append(f"# Read {summary['tickets']} tickets from {one_line(summary['where'])}: "
                   f"{summary['active']} active, effort {summary['effort']:g}.")
    out += ["# Fill in every TODO, then: align-sync check; align-sync run --once --dry-run",
            "# The rules are explained in docs/config.md; `align-sync suggest` proposes more.",
            "", "source:"]
    out += _mapping(source, "  ")
    out += [f"  # {one_line(n, 100)}" for n in notes]
    out += ["", "sink:"] + _mapping(sink, "  ")
    if sink["type"] == "google_sheets":
        out.append("  # TODO: export ALIGN_SYNC_SPREADSHEET (the sheet's URL or id) and "
                   "GOOGLE_APPLICATION_CREDENTIALS")
    out += ["", "schedule:", "  every: 15m", "state: .align-sync/state.db", "",
            "review:", "  cadence: 7d", "  levers_per_outcome: [3, 6]", "",
            "outcomes:",
            "  - id: outcome-1",
            '    name: "TODO: the measurable result this work serves"',
            "    metric: todo_metric            # TODO: the metric's name in the Metrics tab",
            '    unit: "%"                       # TODO',
            "    baseline: 0                    # TODO: the value at the start",
            "    target: 100                    # TODO: the value to reach",
            f"    start: {today.isoformat()}              # TODO",
            f"    deadline: {(today + timedelta(days=90)).isoformat()}           # TODO",
            "    # owner: TODO                  # who answers for the outcome",
            "    # checkpoints:                 # TODO: the plan between start and deadline, if not a",
            "    #                              # straight line (dates strictly between, in order)",
            f"    #   - {{date: {(today + timedelta(days=30)).isoformat()}, value: 20}}",
            f"    #   - {{date: {(today + timedelta(days=60)).isoformat()}, value: 60}}",
            "    levers:"]
    if not drafts:
        out.append("      []")
    taken: set[str] = set()
    total = summary.get("effort") or 1
    for d in drafts:
        c = d.lever
        why = (f"{d.tickets} active tickets, effort {d.effort:g} "
               f"({d.effort / total * 100:.1f}% of active effort)")
        out.append(f"      # {one_line(c.describe(), 90)}: {why}")
        if c.partition and c.kind == "list":
            out.append("      # A list is usually a stage of work (to do, doing, review), not a lever;")
            out.append("      # proposed because no label or epic covers this work. "
                       "Split it if you can.")
        elif c.partition:
            out.append(f"      # It is on {len(c.members)} of {summary['active']} active tickets, "
                       "so it likely names a team or a stage, not a lever;")
            out.append("      # proposed because no label or epic covers this work. "
                       "Split it if you can.")
        out += [f"      - id: {q(slug(_lever_id(d), taken, _KIND_ID[c.kind]))}",
                f"        name: {q(one_line(c.name or c.value, 80))}   # TODO: name the action",
                "        # impact: 5   # TODO: 1..10, then effort: 1..10 for the priority",
                f"        match: {flow(c.block())}",
                "        # leading: {metric: todo_leading_metric, baseline: 0, target: 10}"
                "   # TODO: what it moves first",
                "        # experiment_until: "
                f"{(today + timedelta(days=30)).isoformat()}   # TODO if a time-boxed experiment"]
    out += ["", "# ignore:                         # out of scope: neither aligned nor unmapped",
            "#   - {type: [Sub-task]}", ""]
    return "\n".join(out)
