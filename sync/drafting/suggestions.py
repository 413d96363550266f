"""`align-sync suggest` (PRODUCT.md §8): rules for the work no lever maps.

Pure: an `Assessment` in, ranked proposals out.  Each proposal's ticket
count is what its block claims when run through the rule engine itself
over the unmapped active tickets, so adding the block to a lever lowers the
unmapped count by exactly that number.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sync.drafting import clusters as cl
from sync.core.assessment import Assessment
from sync.core.rules import compile_block

KIND_ORDER = {"epic": 0, "labels": 1, "components": 2, "list": 3, "title": 4, "parent": 5}
# A story with two sub-tasks is no theme; a parent that holds this many is worth a look.
MIN_PARENT = 3
EXAMPLES = 5


@dataclass
class Proposal:
    cluster: cl.Cluster
    keys: list[str]            # the unmapped active tickets it maps, in sheet order
    effort: float
    lever: str | None          # the existing lever it most likely belongs to
    outcome: str | None

    def as_data(self) -> dict:
        return {"lever": self.lever, "match": self.cluster.block(), "tickets": len(self.keys),
                "effort": int(self.effort) if float(self.effort).is_integer() else self.effort,
                "examples": self.keys[:EXAMPLES]}


def _features(ticket, prefixes) -> set[tuple[str, str]]:
    out = {("labels", v.lower()) for v in ticket.labels if not cl.tag_label(v, prefixes)}
    out |= {("components", v.lower()) for v in ticket.components}
    out |= {("epic", v.lower()) for v in ticket.epic + ticket.parent}
    return out


def lever_profiles(a: Assessment, prefixes) -> dict[str, Counter]:
    """Per lever: how often each epic, label and component occurs on its mapped
    tickets.  A value on more than half of the active tickets (a team's
    component) is shared by every lever and tells none apart: left out."""
    active = [r for r in a.tickets if r.active]
    spread = Counter(f for r in active for f in _features(r.ticket, prefixes))
    common = {f for f, n in spread.items() if len(active) >= 10 and n > len(active) / 2}
    profiles: dict[str, Counter] = {}
    for r in a.tickets:
        if r.mapping.lever_id:
            profiles.setdefault(r.mapping.lever_id, Counter()).update(
                _features(r.ticket, prefixes) - common)
    return profiles


def likely_lever(members, a: Assessment, profiles: dict[str, Counter], prefixes) -> str | None:
    """The lever whose tickets share epics, labels or components with the most
    of these tickets (then the most shared occurrences); None when none share any."""
    best, best_score = None, (0, 0)
    feats = [_features(a.tickets[i].ticket, prefixes) for i in members]
    for lever_id, profile in profiles.items():
        sharing = sum(1 for f in feats if any(x in profile for x in f))
        weight = sum(profile[x] for f in feats for x in f if x in profile)
        if (sharing, weight) > best_score:
            best, best_score = lever_id, (sharing, weight)
    return best


def propose(a: Assessment, config, top: int = 10) -> list[Proposal]:
    review = config.review
    prefixes = (review.tag_prefixes.lever, review.tag_prefixes.outcome)
    results = a.tickets
    tickets = [r.ticket for r in results]
    efforts = [r.effort for r in results]
    unmapped = [i for i, r in enumerate(results) if r.active and r.mapping.state == "unmapped"]
    if not unmapped:
        return []
    found = [c for c in cl.field_clusters(tickets, unmapped, prefixes, partition_share=2.0)
             if "${" not in c.value and (c.kind != "parent" or len(c.members) >= MIN_PARENT)]
    # The language from every title: a handful of unmapped ones is too little to tell.
    found += cl.title_clusters(tickets, unmapped, lang=cl.title_language(tickets, range(len(tickets))))
    found.sort(key=lambda c: (-cl.effort_of(c.members, efforts), -len(c.members),
                              KIND_ORDER[c.kind], c.value.lower()))
    profiles = lever_profiles(a, prefixes)
    outcome_of = {lv.id: o.id for o, lv in config.levers()}
    out: list[Proposal] = []
    seen: set[frozenset] = set()
    for c in found:
        if len(out) >= top:
            break
        rule = compile_block(c.block(), "suggest")
        exact = frozenset(i for i in unmapped if rule.holds(tickets[i]) is not None)
        if not exact or exact in seen:
            continue                      # another proposal claims exactly these
        seen.add(exact)
        c = cl.Cluster(c.kind, c.value, c.name, exact, c.partition)
        lever = likely_lever(exact, a, profiles, prefixes)
        out.append(Proposal(c, [tickets[i].key for i in sorted(exact)],
                            cl.effort_of(exact, efforts), lever, outcome_of.get(lever)))
    out.sort(key=lambda p: (-p.effort, -len(p.keys), KIND_ORDER[p.cluster.kind]))
    return out


def render_table(proposals: list[Proposal], unmapped: int) -> str:
    from sync.cli.console import table
    from sync.drafting.starter_yaml import flow
    rows = [[n, p.effort, len(p.keys), p.cluster.describe(), p.lever or "(none)",
             flow(p.cluster.block()), ", ".join(p.keys[:3]) + (" …" if len(p.keys) > 3 else "")]
            for n, p in enumerate(proposals, 1)]
    head = (f"{unmapped} unmapped active tickets; {len(proposals)} proposals "
            "(add a match block to its lever's `match:` list)")
    return head + "\n\n" + table(["#", "Effort", "Tickets", "Cluster", "Likely lever", "Match",
                                  "Examples"], rows)
