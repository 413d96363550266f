"""`align-sync suggest`: rules for the work no lever maps, and rules that
would do what people keep doing by hand in the sheet's `Set lever` column.

Pure: an `Assessment` in, ranked proposals out.  Each proposal's ticket
count is what its block claims when run through the rule engine itself
over the unmapped active tickets, so adding the block to a lever lowers the
unmapped count by exactly that number.  A hand-set proposal names the
tickets set to one lever that share a label, component or epic, and the
tickets its block would map: those, and the ones no tag, ignore block or
other choice decides (an earlier lever in file order may still keep one).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sync.core.present.texttable import table
from sync.drafting.starter_yaml import flow
from sync.core.assess import choices as sheet_choices
from sync.drafting import clusters as cl
from sync.core.assess.assessment import Assessment
from sync.core.assess.blocks import compile_block

KIND_ORDER = {"epic": 0, "labels": 1, "components": 2, "list": 3, "title": 4, "parent": 5}
# A story with two sub-tasks is no theme; a parent that holds this many is worth a look.
MIN_PARENT = 3
DECIDED = ("tag ", "ignore:", f"{sheet_choices.SHEET}: ")   # Matched by of what precedes the levers
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


@dataclass
class HandSet:
    """A rule for tickets set to one lever by hand that share a feature."""
    lever: str
    outcome: str
    kind: str                  # labels | components | epic
    value: str
    set_by_hand: list[str]     # the hand-set tickets sharing it
    maps: list[str]            # the tickets the block would decide

    def block(self) -> dict:
        return cl.Cluster(self.kind, self.value, self.value, frozenset()).block()

    def describe(self) -> str:
        what = {"labels": "label", "components": "component", "epic": "epic"}[self.kind]
        return f"{len(self.set_by_hand)} tickets set to {self.lever} share {what} {self.value}"

    def as_data(self) -> dict:
        return {"lever": self.lever, "match": self.block(), "tickets": len(self.maps),
                "set_in_sheet": self.set_by_hand, "maps": self.maps, "why": self.describe()}


def from_sheet(a: Assessment, config, least: int = 2) -> list[HandSet]:
    """Groups of at least `least` tickets set to the same lever in the sheet
    that share a label, component or epic, largest first."""
    review = config.review
    prefixes = (review.tag_prefixes.lever, review.tag_prefixes.outcome)
    prefix = f"{sheet_choices.SHEET}: "
    by_lever: dict[str, list] = {}
    for r in a.tickets:
        if r.mapping.lever_id and r.mapping.matched_by.startswith(prefix):
            by_lever.setdefault(r.mapping.lever_id, []).append(r)
    found: list[HandSet] = []
    for lever, results in by_lever.items():
        shared: dict[tuple[str, str], list[str]] = {}
        shown: dict[tuple[str, str], str] = {}
        for r in results:
            t = r.ticket
            values = [("labels", v) for v in t.labels if not cl.tag_label(v, prefixes)] + \
                [("components", v) for v in t.components] + [("epic", v) for v in t.epic]
            for kind, value in values:
                shown.setdefault((kind, value.lower()), value)
                keys = shared.setdefault((kind, value.lower()), [])
                if t.key not in keys:
                    keys.append(t.key)
        for feature, keys in shared.items():
            if len(keys) < least:
                continue
            kind, value = feature[0], shown[feature]
            rule = compile_block(cl.Cluster(kind, value, value, frozenset()).block(), "suggest")
            # What the block would decide: these hand-set tickets, and those
            # no tag, ignore block or other choice decides before the levers.
            mine = set(keys)
            maps = [r.ticket.key for r in a.tickets
                    if (r.ticket.key in mine or not r.mapping.matched_by.startswith(DECIDED))
                    and rule.holds(r.ticket) is not None]
            found.append(HandSet(lever, results[0].mapping.outcome_id, kind, value, keys, maps))
    found.sort(key=lambda h: (-len(h.set_by_hand), KIND_ORDER[h.kind], h.lever, h.value.lower()))
    return found


def render_sheet(hand: list[HandSet]) -> str:
    rows = [[n, h.describe(), h.lever, flow(h.block()), len(h.maps),
             ", ".join(h.maps[:5]) + (" …" if len(h.maps) > 5 else "")]
            for n, h in enumerate(hand, 1)]
    head = (f"{len(hand)} rules for what people set by hand in the sheet's {sheet_choices.HEADER} "
            "column (add the block to the lever's `match:` list)")
    return head + "\n\n" + table(["#", "Set by hand", "Lever", "Match", "Would map", "Tickets"], rows)


def render_table(proposals: list[Proposal], unmapped: int) -> str:
    rows = [[n, p.effort, len(p.keys), p.cluster.describe(), p.lever or "(none)",
             flow(p.cluster.block()), ", ".join(p.keys[:3]) + (" …" if len(p.keys) > 3 else "")]
            for n, p in enumerate(proposals, 1)]
    head = (f"{unmapped} unmapped active tickets; {len(proposals)} proposals "
            "(add a match block to its lever's `match:` list)")
    return head + "\n\n" + table(["#", "Effort", "Tickets", "Cluster", "Likely lever", "Match",
                                  "Examples"], rows)
