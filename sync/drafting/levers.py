"""Which clusters of active work `init` drafts as levers: the few that
cover the most active effort (initiatives first, by set cover; a team or
stage cluster only when they leave much out), each counted by the active
tickets no lever above it took.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from connectors import vocabulary
from sync.core.model import Ticket
from sync.drafting import clusters as cl

MAX_LEVERS = 6
MIN_GAIN = 0.01          # a lever adding under 1% of active effort is not worth a row
PARTITION_GAIN = 0.05    # a team/stage cluster earns a lever only when it covers this much


@dataclass
class Draft:
    lever: cl.Cluster
    tickets: int           # active tickets it maps (those no lever above it took)
    effort: float


def effort(tickets: list[Ticket], default: float) -> list[float]:
    return [t.estimate if t.estimate is not None else default for t in tickets]


def propose(tickets: list[Ticket], active: list[int], efforts: list[float],
            prefixes: tuple[str, ...]) -> list[Draft]:
    """Levers covering the most active effort with few clusters: initiatives
    (epics, labels, components and lists that are not on most tickets) by
    set cover, then a team-or-stage cluster only if the rest leave much out."""
    # A story's sub-tasks are not an initiative, and a done column holds no
    # active work worth a lever even when `done_lists` missed it.
    found = [c for c in cl.field_clusters(tickets, active, prefixes) if _writable(c.value)
             and c.kind != "parent" and not (c.kind == "list" and vocabulary.done_word(c.value))]
    # A Trello list is a stage of work (to do, doing, review) far more often
    # than an initiative: drafted only where labels leave much uncovered.
    found = [replace(c, partition=True) if c.kind == "list" else c for c in found]
    total = sum(efforts[i] for i in active) or 1.0
    initiatives = [c for c in found if not c.partition]
    chosen = cl.best_cover(initiatives, efforts, MAX_LEVERS)
    # Keep at least three; drop the tail that adds almost nothing, but never
    # below what six labels alone, or six epics alone, would map.
    floor = max([cl.coverage(t, efforts) for kind in ("labels", "epic")
                 for t in cl.single_kind_covers(initiatives, kind, efforts, MAX_LEVERS)] or [0])
    while len(chosen) > 3 and _gains(chosen, efforts)[-1] < MIN_GAIN * total \
            and cl.coverage(chosen[:-1], efforts) >= floor:
        chosen.pop()
    covered = frozenset().union(*(c.members for c in chosen)) if chosen else frozenset()
    partitions = [c for c in found if c.partition]
    for extra in cl.greedy(partitions, efforts, MAX_LEVERS - len(chosen), covered):
        gain = cl.effort_of(extra.members - covered, efforts)
        if gain >= PARTITION_GAIN * total or not chosen:
            chosen.append(extra)
            covered |= extra.members
    drafts, taken = [], set()
    for c in chosen:
        new = c.members - taken
        drafts.append(Draft(c, len(new), cl.effort_of(new, efforts)))
        taken |= c.members
    return [d for d in drafts if d.tickets]


def _gains(chosen: list[cl.Cluster], efforts: list[float]) -> list[float]:
    taken: set[int] = set()
    out = []
    for c in chosen:
        out.append(cl.effort_of(c.members - taken, efforts))
        taken |= c.members
    return out


def _writable(value: str) -> bool:
    """`${` would be read as an environment variable; lone surrogates cannot be saved."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "${" not in value
