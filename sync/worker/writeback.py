"""Label write-back (`source.writeback: labels`): a lever chosen in the
sheet's `Set lever` column is added to the ticket in its tracker as its tag
label (`lever:<id>`), so the mapping lives on without the sheet.

Runs after the sheet was written, never before: a refused write cannot
block the sheet.  Exactly one write per ticket and choice: each is recorded
in state as `intent` before its request and `done` (or `failed`, retried at
the next sync) after it.  A sync killed between the two leaves `intent`;
the next sync reads the ticket's labels anyway, and a label that landed
makes the tag map the ticket, so no second write is planned.  Labels are
only ever added.  A source that writes back has `writeback == "labels"`
and `add_label(key, label)`, paced by its own rate limiter.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import structlog

from sync.core.assess import choices as sheet_choices
from sync.core.errors import describe

log = structlog.get_logger("align_sync.writeback")


@dataclass(frozen=True)
class LabelWrite:
    source: str
    key: str
    choice: str                 # the lever id chosen in the sheet
    label: str                  # the tag label added for it

    def describe(self) -> str:
        return f"add label {self.label} to {self.key} (source {self.source})"


def _writers(sources: Sequence) -> dict:
    return {s.name: s for s in sources if s.writeback == "labels"}


def plan(a, config, sources: Sequence, state) -> list[LabelWrite]:
    """The writes this sync makes: tickets mapped by a sheet choice of a lever
    (not `ignore`: no label means that), in a source that writes back, whose
    write for this choice is not done yet."""
    writers = _writers(sources)
    if not writers:
        return []
    prefix = config.review.tag_prefixes.lever
    records = {name: state.label_writes(name) for name in writers}
    out = []
    for r in a.tickets:
        t, m = r.ticket, r.mapping
        if t.source not in writers or not m.lever_id or \
                m.matched_by != f"{sheet_choices.SHEET}: {m.lever_id}":
            continue      # a tagged ticket (a label that landed, too) is never written again
        done = records[t.source].get(t.key)
        if done and done.get("choice") == m.lever_id and done.get("status") == "done":
            continue      # written once for this choice; a label someone removed stays removed
        out.append(LabelWrite(t.source, t.key, m.lever_id, f"{prefix}{m.lever_id}"))
    return out


def settle(a, sources: Sequence, state) -> None:
    """Writes left as `intent` by a killed sync whose label is on the ticket
    now: done (the write landed before the kill)."""
    writers = _writers(sources)
    labels = {(r.ticket.source, r.ticket.key): {x.lower() for x in r.ticket.labels}
              for r in a.tickets if r.ticket.source in writers}
    prefix = a.rules.lever_prefix          # lower case, as the labels here
    for name in writers:
        for key, record in state.label_writes(name).items():
            if record.get("status") != "intent":
                continue
            if f"{prefix}{record.get('choice')}".lower() in labels.get((name, key), ()):
                state.record_label_write(name, key, record["choice"], "done")
                log.info("writeback.settled", source=name, ticket=key, choice=record["choice"])


def execute(writes: list[LabelWrite], sources: Sequence, state, telemetry=None) -> list[str]:
    """Make the writes, one request each; a line per refused one (ticket and
    reason), for the log and Summary's `Last error`.  Never raises."""
    writers = _writers(sources)
    failed = []
    for w in writes:
        state.record_label_write(w.source, w.key, w.choice, "intent")
        try:
            writers[w.source].add_label(w.key, w.label)
        except Exception as exc:       # a refusal, or a bug: the sync stands either way
            reason = describe(exc)
            state.record_label_write(w.source, w.key, w.choice, "failed", reason)
            log.warning("writeback.refused", source=w.source, ticket=w.key, label=w.label, error=reason)
            if telemetry is not None:
                telemetry.count_label_write(w.source, ok=False)
            failed.append(f"{w.key}: {reason}")
            continue
        state.record_label_write(w.source, w.key, w.choice, "done")
        log.info("writeback.added", source=w.source, ticket=w.key, label=w.label)
        if telemetry is not None:
            telemetry.count_label_write(w.source, ok=True)
    return failed
